"""Load a shipment, pick list or manifest by id or by its human number (one helper for all three)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.errors import NotFound
from zakaz.fulfilment.models import Manifest, PickList, Shipment

Numbered = TypeVar("Numbered", Shipment, PickList, Manifest)


def load_by_ref(
    session: Session, model: type[Numbered], ref: str | int, *, noun: str, for_update: bool = False
) -> Numbered:
    """``ref`` is a numeric id or a number such as ``SH-...``; NotFound names the ``noun``."""
    stmt = select(model)
    if isinstance(ref, int) or (ref.isascii() and ref.isdigit()):  # int() refuses "²"
        if not -(2**31) <= int(ref) <= 2**31 - 1:  # beyond the INTEGER id column: not found, not a DB error
            raise NotFound(f"no {noun} {ref}")
        stmt = stmt.where(model.id == int(ref))
    else:
        stmt = stmt.where(model.number == ref.strip().upper())
    if for_update:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"no {noun} {ref}")
    return found
