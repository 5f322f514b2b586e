"""Photos of a return request (issue #6): the shopper shows the damage, the operator sees it before approving.

Up to ``MAX_PHOTOS`` images per return, each at most ``MAX_BYTES``; JPEG, PNG or WebP decided by the file's
magic bytes (the declared type and the file name are not trusted: a renamed ``.exe`` is refused). The
bytes are stored as sent (no re-encoding) in ``return_photos``. ``check`` is pure and runs before anything
is written, so a bad photo leaves no return and no photo behind. Services take a session and never commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zakaz.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from zakaz.orders.models import Order
from zakaz.returns.models import ReturnPhoto, ReturnRequest
from zakaz.returns.service import note_return

MAX_PHOTOS = 5
MAX_BYTES = 5 * 1024 * 1024
TYPES = ("image/jpeg", "image/png", "image/webp")
#: returns in these states take no more photos (the decision is made)
FINISHED = frozenset({"rejected", "refunded", "exchanged", "closed"})


class PhotoTooLarge(DomainError):
    """413 problem JSON (``too-large``) with the offending fields in ``errors``."""

    kind = "too-large"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__(
            "; ".join(f"{e.field}: {e.message}" for e in self.errors),
            errors=[{"field": e.field, "code": e.code, "message": e.message} for e in self.errors],
        )


@dataclass(frozen=True)
class PhotoIn:
    filename: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The image type the bytes really are (JPEG, PNG, WebP), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check(photos: Sequence[PhotoIn], *, existing: int = 0, field: str = "photos") -> None:
    """Raise ``PhotoTooLarge`` (413) for a file over ``MAX_BYTES``, ``ValidationFailed`` (422) for too many
    photos, an empty file or one that is not a JPEG/PNG/WebP image. Fields are ``photos`` / ``photos[i]``."""
    too_big = [
        FieldError(f"{field}[{i}]", "too_large", f"{p.filename or 'file'}: more than {MAX_BYTES // 2**20} MB")
        for i, p in enumerate(photos)
        if len(p.data) > MAX_BYTES
    ]
    if too_big:
        raise PhotoTooLarge(too_big)
    errors: list[FieldError] = []
    if existing + len(photos) > MAX_PHOTOS:
        left = max(MAX_PHOTOS - existing, 0)
        errors.append(FieldError(field, "too_many", f"at most {MAX_PHOTOS} photos per return ({left} more)"))
    for i, p in enumerate(photos):
        if not p.data:
            errors.append(FieldError(f"{field}[{i}]", "empty", f"{p.filename or 'file'}: empty file"))
        elif sniff(p.data) is None:
            errors.append(
                FieldError(f"{field}[{i}]", "unsupported_type", f"{p.filename or 'file'}: not JPEG/PNG/WebP")
            )
    if errors:
        raise ValidationFailed(errors)


def _clean_name(name: str, index: int, content_type: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(c for c in base if c.isprintable() and c not in '"<>')[:200]
    return base or f"photo-{index + 1}.{content_type.rsplit('/', 1)[-1]}"


def count(session: Session, return_id: int) -> int:
    query = select(func.count(ReturnPhoto.id)).where(ReturnPhoto.return_id == return_id)
    return int(session.scalar(query) or 0)


def add_photos(
    session: Session, ret: ReturnRequest, photos: Sequence[PhotoIn], *, actor: str, field: str = "photos"
) -> list[ReturnPhoto]:
    """Check and store ``photos`` on ``ret`` (a ``photos_added`` event on the return and the order)."""
    if not photos:
        return []
    if ret.status in FINISHED:
        raise Conflict(f"{ret.number} is {ret.status}: it takes no more photos", field="rma")
    check(photos, existing=count(session, ret.id), field=field)
    rows = []
    for i, p in enumerate(photos):
        content_type = sniff(p.data) or "application/octet-stream"
        rows.append(
            ReturnPhoto(
                return_id=ret.id,
                filename=_clean_name(p.filename, i, content_type),
                content_type=content_type,
                size=len(p.data),
                sha256=hashlib.sha256(p.data).hexdigest(),
                data=p.data,
            )
        )
    session.add_all(rows)
    session.flush()
    order = session.get(Order, ret.order_id)
    if order is not None:
        note_return(
            session, ret, order, type_="photos_added", actor=actor, data={"photos": [r.id for r in rows]}
        )
    return rows


def list_photos(session: Session, return_id: int) -> list[dict[str, Any]]:
    """Metadata of a return's photos, oldest first (the bytes are not loaded)."""
    found = session.scalars(
        select(ReturnPhoto).where(ReturnPhoto.return_id == return_id).order_by(ReturnPhoto.id)
    ).all()
    return [
        {
            "id": p.id,
            "filename": p.filename,
            "content_type": p.content_type,
            "size": p.size,
            "sha256": p.sha256,
            "created_at": p.created_at.isoformat(),
        }
        for p in found
    ]


def load_photo(session: Session, rma: str, photo_id: int, *, order_id: int | None = None) -> ReturnPhoto:
    """The photo ``photo_id`` of return ``rma`` (and of order ``order_id`` when given), else NotFound.

    The shopper's link names the order through its signed token: another order's photo is not found."""
    query = (
        select(ReturnPhoto)
        .join(ReturnRequest, ReturnRequest.id == ReturnPhoto.return_id)
        .where(ReturnPhoto.id == photo_id, ReturnRequest.number == rma.strip().upper())
    )
    if order_id is not None:
        query = query.where(ReturnRequest.order_id == order_id)
    photo = session.scalar(query)
    if photo is None:
        raise NotFound(f"no photo {photo_id} on return {rma}", field="photo")
    _ = photo.data  # load the deferred bytes inside the transaction
    return photo
