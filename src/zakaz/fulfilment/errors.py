"""Fulfilment refusals. Each has a problem ``kind`` (registered with its HTTP status by the API router)
and a snake_case ``code`` a packing-station screen can switch on (sound, colour, message)."""

from __future__ import annotations

from typing import Any

from zakaz.errors import DomainError


class FulfilmentRefused(DomainError):
    kind = "fulfilment-refused"
    code = "refused"
    status = 409

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail, code=self.code, **extra)


class WrongItem(FulfilmentRefused):
    kind = "wrong-item"
    code = "wrong_item"


class OverScan(FulfilmentRefused):
    kind = "over-scan"
    code = "over_scan"


class UnknownBarcode(FulfilmentRefused):
    kind = "unknown-barcode"
    code = "unknown_barcode"
    status = 422


class NotReadyToPack(FulfilmentRefused):
    kind = "not-ready-to-pack"
    code = "not_ready_to_pack"


class ItemsMissing(FulfilmentRefused):
    kind = "items-missing"
    code = "items_missing"


class UnknownBox(FulfilmentRefused):
    kind = "unknown-box"
    code = "unknown_box"
    status = 422


class NoRate(FulfilmentRefused):
    kind = "no-rate"
    code = "no_rate"


class BookedByMarketplace(FulfilmentRefused):
    """Issue #7: the marketplace delivers this shipment; it is booked by the marketplace's ship call."""

    kind = "booked-by-marketplace"
    code = "booked_by_marketplace"


class LabelNotReady(FulfilmentRefused):
    """Issue #7: the marketplace has not printed the label yet (it is downloaded as soon as it has)."""

    kind = "label-not-ready"
    code = "label_not_ready"


#: kind -> (status, title, hint), merged into the API's problem types.
PROBLEMS: dict[str, tuple[int, str, str]] = {
    cls.kind: (cls.status, title, hint)
    for cls, title, hint in (
        (WrongItem, "This item is not in the shipment", "Put it back; scan an item of this shipment."),
        (OverScan, "All units of this item are already packed", "Take the extra unit out of the box."),
        (UnknownBarcode, "No product has this barcode", "Scan again or type the SKU."),
        (NotReadyToPack, "The shipment cannot be packed now", "Finish picking or release the order first."),
        (ItemsMissing, "Items still to scan", "Scan the remaining items before closing the box."),
        (UnknownBox, "Unknown box size", "Choose one of the configured boxes."),
        (NoRate, "No carrier can take this shipment", "Check weight, address and configured carriers."),
        (
            BookedByMarketplace,
            "The marketplace delivers this shipment",
            "It is shipped on the marketplace when the order is packed; its label then appears here.",
        ),
        (
            LabelNotReady,
            "The label is not ready yet",
            "The marketplace prints it about a minute after assembly; it is downloaded automatically.",
        ),
    )
}
PROBLEMS["carrier-error"] = (502, "The carrier refused or failed", "Retry later or choose another carrier.")
PROBLEMS["carrier-webhook-signature"] = (
    401,
    "Webhook signature invalid",
    "Check the shared secret and clock.",
)
