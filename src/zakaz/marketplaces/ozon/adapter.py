"""``OzonAdapter``: the ``MarketplaceAdapter`` Protocol implemented over :class:`OzonClient`.

Posting lists default to the v4 methods: the notes report the v3 lists disabled in 2026 (first 2026-06-01,
then moved to 2026-08-31). ``list_version=3`` keeps the v3 (offset) methods for as long as they answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from zakaz.marketplaces.base import (
    CancelReason,
    MarketplaceOrder,
    MarketplaceReturn,
    PackageItem,
    ShipmentPackage,
    StockPushResult,
    StockUpdate,
)
from zakaz.marketplaces.ozon import mapping
from zakaz.marketplaces.ozon.client import OzonClient
from zakaz.marketplaces.ozon.endpoints import E, Endpoint
from zakaz.marketplaces.ozon.errors import PerItemError

#: Listing windows may not exceed one year (notes 1.4); keep a margin.
MAX_WINDOW = timedelta(days=364)


def rfc3339(value: datetime) -> str:
    """Aware datetime -> ``2021-08-25T10:48:38Z`` (UTC, as Ozon expects)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: Ozon works in UTC, pass an aware datetime")
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ship_item(item: PackageItem) -> dict[str, int]:
    return {"product_id": int(item.marketplace_sku), "quantity": item.quantity}


class OzonAdapter:
    channel = "ozon"

    def __init__(
        self, client: OzonClient, *, list_version: Literal[3, 4] = 4, page_size: int | None = None
    ) -> None:
        self.client = client
        self.list_version = list_version
        self.page_size = page_size

    # ----------------------------------------------------------------------------------------- reads

    def _list(self, v3_body: dict[str, Any], v4_body: dict[str, Any], *, unfulfilled: bool) -> Iterator[Any]:
        if self.list_version == 3:
            endpoint = E.UNFULFILLED_V3 if unfulfilled else E.LIST_V3
            yield from self.client.iter_offset(endpoint, {"dir": "ASC", **v3_body}, limit=self.page_size)
        else:
            endpoint = E.UNFULFILLED_V4 if unfulfilled else E.LIST_V4
            yield from self.client.iter_cursor(
                endpoint, {"sort_dir": "ASC", **v4_body}, items_key="postings", limit=self.page_size
            )

    def list_unfulfilled(self, *, ship_by_from: datetime, ship_by_to: datetime) -> Iterator[MarketplaceOrder]:
        """Unprocessed postings by assembly deadline (``cutoff``); exactly one window type is sent."""
        window = {"cutoff_from": rfc3339(ship_by_from), "cutoff_to": rfc3339(ship_by_to)}
        for posting in self._list({"filter": window}, {"filter": window}, unfulfilled=True):
            yield mapping.posting_to_order(posting)

    def list_changed(self, *, since: datetime, until: datetime | None = None) -> Iterator[MarketplaceOrder]:
        """Postings whose status changed in ``[since, until]``.

        The list methods also require a creation window (``since``/``to``, at most a year): we use the year
        before ``until``, so postings created earlier than that are not seen (Ozon cannot list them anyway).
        """
        until = until or datetime.now(UTC)
        changed = {"from": rfc3339(since), "to": rfc3339(until)}
        created = {"since": rfc3339(until - MAX_WINDOW), "to": rfc3339(until)}
        body = {"filter": {**created, "last_changed_status_date": changed}}
        for posting in self._list(body, body, unfulfilled=False):
            yield mapping.posting_to_order(posting)

    def get(self, external_id: str) -> MarketplaceOrder:
        data = self.client.call(E.GET, {"posting_number": external_id, "with": {"analytics_data": True}})
        return mapping.order_from_get(data)

    def list_cancel_reasons(self) -> tuple[CancelReason, ...]:
        return mapping.cancel_reasons(self.client.call(E.CANCEL_REASONS))

    def list_returns(self, *, since: datetime, until: datetime) -> Iterator[MarketplaceReturn]:
        """FBS returns whose visual status changed in the window (exactly one date filter is allowed)."""
        window = {"time_from": rfc3339(since), "time_to": rfc3339(until)}
        body = {"filter": {"visual_status_change_moment": window, "return_schema": "FBS"}}
        for item in self.client.iter_last_id(E.RETURNS, body, items_key="returns", limit=self.page_size):
            yield mapping.return_to_marketplace(item)

    # --------------------------------------------------------------------------------------- actions

    def ship(self, external_id: str, packages: Sequence[ShipmentPackage]) -> tuple[str, ...]:
        """Assemble. ``product_id`` in the ship body is the Ozon **SKU** (a classic mistake, notes 2.6).

        HTTP 200 does not guarantee assembly: callers should re-read the posting (substatus ``ship_failed``).
        """
        if not packages or any(not p.items for p in packages):
            raise ValueError("ship needs at least one non-empty package")
        body = {
            "posting_number": external_id,
            "packages": [{"products": [_ship_item(i) for i in p.items]} for p in packages],
        }
        data = self.client.call(E.SHIP, body)
        return tuple(str(number) for number in data.get("result") or [])

    def set_tracking(self, external_id: str, tracking_number: str) -> None:
        pair = {"posting_number": external_id, "tracking_number": tracking_number}
        data = self.client.call(E.TRACKING_SET, {"tracking_numbers": [pair]})
        failed = mapping.failed_postings(data)
        if failed:
            raise PerItemError(E.TRACKING_SET.path, failed)

    def mark_delivering(self, external_ids: Sequence[str]) -> None:
        """rFBS: the seller's courier took the parcels."""
        self._setter(E.DELIVERING, external_ids)

    def mark_last_mile(self, external_ids: Sequence[str]) -> None:
        """rFBS: the parcel is on its last mile (may directly follow ``delivering``)."""
        self._setter(E.LAST_MILE, external_ids)

    def mark_delivered(self, external_ids: Sequence[str]) -> None:
        """rFBS: handed to the buyer (Ozon shows "conditionally delivered")."""
        self._setter(E.DELIVERED, external_ids)

    def _setter(self, endpoint: Endpoint, external_ids: Sequence[str]) -> None:
        failed = []
        for chunk in _chunks(external_ids, endpoint.max_items or 100):
            failed += mapping.failed_postings(self.client.call(endpoint, {"posting_number": list(chunk)}))
        if failed:
            raise PerItemError(endpoint.path, failed)

    def cancel(self, external_id: str, *, reason_id: str, comment: str = "") -> None:
        body = {
            "posting_number": external_id,
            "cancel_reason_id": int(reason_id),
            "cancel_reason_message": comment,
        }
        self.client.call(E.CANCEL, body)

    def get_labels(self, external_ids: Sequence[str]) -> bytes:
        """One PDF for <= 20 postings (Ozon's cap); waits while Ozon says labels are not ready yet."""
        return self.client.get_package_labels(list(external_ids))

    def push_stocks(self, updates: Sequence[StockUpdate]) -> tuple[StockPushResult, ...]:
        """Set free stock per (offer, warehouse), <= 100 pairs per call.

        A pair repeated in ``updates`` is sent once with its last quantity: sending it twice would trip
        Ozon's "once per 30 s per pair" rule against ourselves. Per-item refusals come back as results with
        ``updated=False`` (``retryable=True`` for "updated too frequently"), never as an exception.
        """
        latest: dict[tuple[str, str], StockUpdate] = {}
        for update in updates:
            if update.quantity < 0:
                raise ValueError(f"negative stock for {update.offer_id}@{update.warehouse_id}")
            latest[(update.offer_id, update.warehouse_id)] = update
        unique = list(latest.values())
        results: list[StockPushResult] = []
        for chunk in _chunks(unique, E.STOCKS.max_items or 100):
            stocks = [
                {"offer_id": u.offer_id, "stock": u.quantity, "warehouse_id": int(u.warehouse_id)}
                for u in chunk
            ]
            results.extend(mapping.stock_results(self.client.call(E.STOCKS, {"stocks": stocks})))
        return tuple(results)
