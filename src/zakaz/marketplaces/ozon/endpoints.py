"""The one table of Ozon Seller API methods we call: pinned path+version, rate limit, item cap, retry safety.

Sources: /work/shared/ozon/seller-api-notes.md (sections 1.3 and 2). Change versions HERE only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

BASE_URL = "https://api-seller.ozon.ru"

#: Global limit: 50 requests/second per Client-Id across all methods (notes 1.3). The client's bucket runs at
#: 45/s with a burst of 5 so that no sliding one-second window ever holds more than 50 requests.
GLOBAL_RATE_PER_SEC = 45.0
GLOBAL_BURST = 5
#: Per-method buckets run this fraction below the documented rate (burst 1 + rate x window <= the quota).
PER_METHOD_SAFETY = 0.95


class Pagination(StrEnum):
    none = "none"
    offset = "offset"  # limit + offset; result.has_next or result.count
    cursor = "cursor"  # limit + cursor; top-level cursor + has_next
    last_id = "last_id"  # limit + last_id; has_next + id of the last item


@dataclass(frozen=True)
class Endpoint:
    path: str
    rate_per_sec: float | None = None  # per-method limit stacked on the global one
    burst: int = 1
    max_items: int | None = None  # cap on items per call (limit / array size)
    pagination: Pagination = Pagination.none
    #: Safe to repeat after a timeout/5xx whose outcome is unknown (reads, "set to value" writes).
    #: Non-idempotent calls are retried only when the request surely was not processed (429, connect error).
    idempotent: bool = True
    binary: bool = False  # response is a file (PDF), not JSON

    @property
    def name(self) -> str:
        return self.path


_ep = Endpoint


class E:
    """Namespace of pinned endpoints (attribute access keeps call sites greppable)."""

    # v3 lists: current in the 2025-09 spec; reported disabled 2026-06-01 / 2026-08-31 (moved) -> prefer v4.
    UNFULFILLED_V3 = _ep("/v3/posting/fbs/unfulfilled/list", max_items=1000, pagination=Pagination.offset)
    LIST_V3 = _ep("/v3/posting/fbs/list", max_items=1000, pagination=Pagination.offset)
    # v4 lists (2026): cursor pagination, no `result` wrapper; max limit 100 vs 1000 unverified -> use 100.
    UNFULFILLED_V4 = _ep("/v4/posting/fbs/unfulfilled/list", max_items=100, pagination=Pagination.cursor)
    LIST_V4 = _ep("/v4/posting/fbs/list", max_items=100, pagination=Pagination.cursor)
    # "often returns 429": ozonapi-async throttles it to 2 rps (experimental value).
    GET = _ep("/v3/posting/fbs/get", rate_per_sec=2.0, burst=2)
    SHIP = _ep("/v4/posting/fbs/ship", idempotent=False)
    SHIP_PACKAGE = _ep("/v4/posting/fbs/ship/package", idempotent=False)
    PACKAGE_LABEL = _ep("/v2/posting/fbs/package-label", max_items=20, binary=True)
    TRACKING_SET = _ep("/v2/fbs/posting/tracking-number/set", max_items=20)
    DELIVERING = _ep("/v2/fbs/posting/delivering", max_items=100)
    LAST_MILE = _ep("/v2/fbs/posting/last-mile", max_items=100)
    DELIVERED = _ep("/v2/fbs/posting/delivered", max_items=100)
    CANCEL = _ep("/v2/posting/fbs/cancel", idempotent=False)
    CANCEL_REASONS = _ep("/v2/posting/fbs/cancel-reason/list")
    # 80 requests/minute per seller, <=100 product-warehouse pairs per call, one pair at most once per 30 s.
    STOCKS = _ep("/v2/products/stocks", rate_per_sec=80 / 60, burst=1, max_items=100)
    RETURNS = _ep("/v1/returns/list", max_items=500, pagination=Pagination.last_id)
    # v1 was disabled 2026-04-07 in favour of v2: limit + cursor, items under "warehouses" (some
    # references say "items"), notes 2.12. v1 allowed 1 request/minute [2nd]; v2's quota is not
    # published: keep v1's (a second page of 100+ warehouses waits a minute).
    WAREHOUSES = _ep(
        "/v2/warehouse/list", rate_per_sec=1 / 60, burst=1, max_items=100, pagination=Pagination.cursor
    )
    ROLES = _ep("/v1/roles")
    # issue #7: chats (notes 2.14). Buyer chats (history/send/start/read) need Premium Plus: 403 otherwise.
    # Sending has no idempotency key: never repeated blindly (support.sync reconciles by reading history).
    CHAT_LIST = _ep("/v3/chat/list", max_items=1000, pagination=Pagination.cursor)  # issue #7
    CHAT_HISTORY = _ep("/v3/chat/history", max_items=1000)  # issue #7: from_message_id + direction
    CHAT_SEND = _ep("/v1/chat/send/message", idempotent=False)  # issue #7: text 1..1000 chars, plain
    CHAT_START = _ep("/v1/chat/start", idempotent=False)  # issue #7
    CHAT_READ = _ep("/v2/chat/read")  # issue #7: "read up to this message" (a set-to-value write)


ALL: tuple[Endpoint, ...] = tuple(v for k, v in vars(E).items() if isinstance(v, Endpoint))

#: Minimum seconds between two stock updates of the same (offer, warehouse) pair.
STOCK_PAIR_MIN_INTERVAL_S = 30.0
#: Labels are printable 45-60 s after assembly.
LABEL_READY_AFTER_S = 45.0
#: issue #7: a buyer chat message is 1..1000 characters of plain text (notes 2.14).
CHAT_TEXT_MAX = 1000
