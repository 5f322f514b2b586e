"""Typed Ozon errors and the pure parser that turns any error response (JSON or not) into one of them.

Ozon error bodies are grpc-gateway ``rpcStatus``: ``{"code": int, "message": str, "details": [...]}``.
Bodies may also be an nginx HTML page (502) or empty (405): never assume JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from zakaz.marketplaces.base import (
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceNotFound,
    MarketplaceRejected,
    MarketplaceUnavailable,
)

#: gRPC code Ozon sends with HTTP 429.
CODE_RESOURCE_EXHAUSTED = 8
LABELS_NOT_READY_MARKER = "aren't ready"
#: "Circle is open": the method is blocked for minutes after too many calls (HTTP status not documented).
CIRCLE_OPEN_MARKER = "circle is open"


class OzonError(MarketplaceError):
    """Root of Ozon-specific errors."""


class OzonApiError(OzonError):
    """A non-2xx answer (or an unusable 2xx body) from the Seller API."""

    def __init__(
        self,
        *,
        http_status: int,
        code: int | None,
        message: str,
        details: Sequence[Any] = (),
        path: str = "",
        trace_id: str | None = None,
    ) -> None:
        self.http_status = http_status
        self.code = code
        self.message = message
        self.details = tuple(details)
        self.path = path
        self.trace_id = trace_id
        super().__init__(f"Ozon {path or 'API'} -> HTTP {http_status} code={code}: {message}")

    @property
    def retryable(self) -> bool:
        return False


class TransientApiError(OzonApiError, MarketplaceUnavailable):
    """5xx and unusable bodies: retry with backoff (for idempotent calls)."""

    @property
    def retryable(self) -> bool:
        return True


class RateLimited(TransientApiError):
    """HTTP 429 (gRPC code 8). ``retry_after`` is seconds from the ``Retry-After`` header, if any."""

    def __init__(self, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**kw)


class InvalidRequest(OzonApiError, MarketplaceRejected):
    """HTTP 400/409/405/422: the request or the posting's state is wrong; repeating it will not help."""


class LabelsNotReady(InvalidRequest):
    """``The next postings aren't ready``: labels are printable 45-60 s after assembly; retry later."""

    @property
    def retryable(self) -> bool:
        return True


class NotFound(OzonApiError, MarketplaceNotFound):
    """HTTP 404."""


class PermissionDenied(OzonApiError, MarketplaceAuthError):
    """HTTP 401/403 or gRPC code 7/16: bad/expired key, missing role, IP restriction, offer not signed."""


class OzonTransportError(OzonError, MarketplaceUnavailable):
    """No HTTP answer at all (timeout, connection refused) after all retries."""


@dataclass(frozen=True)
class FailedItem:
    """One failed element of an HTTP-200 batch answer."""

    key: str  # posting number, or "offer_id@warehouse_id" for stocks
    code: str
    message: str


class PerItemError(OzonError, MarketplaceRejected):
    """HTTP 200, but some items were refused (stocks, tracking numbers, rFBS status setters)."""

    def __init__(self, path: str, items: Sequence[FailedItem]) -> None:
        self.path = path
        self.items = tuple(items)
        summary = "; ".join(f"{i.key}: {i.code or i.message}" for i in self.items[:5])
        super().__init__(f"Ozon {path}: {len(self.items)} item(s) failed: {summary}")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date. Garbage -> None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _decode_body(content: bytes) -> tuple[int | None, str | None, Sequence[Any]]:
    try:
        data = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        return None, None, ()
    if not isinstance(data, Mapping):
        return None, None, ()
    code = data.get("code")
    message = data.get("message")
    details = data.get("details")
    if isinstance(data.get("error"), Mapping):  # {"error": {"code": "...", "message": "..."}} variant
        message = message or data["error"].get("message")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        str(message) if message is not None else None,
        details if isinstance(details, list) else (),
    )


def _text_snippet(content: bytes, limit: int = 200) -> str:
    text = content.decode("utf-8", "replace")
    if "<title>" in text.lower():  # nginx HTML page: the title is the useful part
        start = text.lower().index("<title>") + len("<title>")
        end = text.lower().find("</title>", start)
        return text[start : end if end > 0 else start + limit].strip()
    return " ".join(text.split())[:limit]


def error_from_response(
    status: int, content: bytes, headers: Mapping[str, str], *, path: str = ""
) -> OzonApiError:
    """Build the typed error for a failed answer. Pure: no I/O; tolerates any body."""
    code, message, details = _decode_body(content)
    if message is None:
        message = _text_snippet(content) or f"HTTP {status} with an empty body"
    kw: dict[str, Any] = {
        "http_status": status,
        "code": code,
        "message": message,
        "details": details,
        "path": path,
        "trace_id": headers.get("x-o3-trace-id"),
    }
    if status == 429 or code == CODE_RESOURCE_EXHAUSTED:
        return RateLimited(retry_after=parse_retry_after(headers.get("retry-after")), **kw)
    if status in (401, 403) or code in (7, 16):
        return PermissionDenied(**kw)
    if status == 404:
        return NotFound(**kw)
    if status >= 500 or status < 400 or CIRCLE_OPEN_MARKER in message.lower():
        return TransientApiError(**kw)
    if LABELS_NOT_READY_MARKER in message:
        return LabelsNotReady(**kw)
    return InvalidRequest(**kw)
