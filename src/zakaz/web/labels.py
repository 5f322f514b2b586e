"""Translatable names for the values the domain stores as codes (statuses, hold reasons, events...)."""

from __future__ import annotations

from zakaz.web.i18n import N_, gettext

STATUS = {
    "new": N_("New"),
    "on_hold": N_("On hold"),
    "confirmed": N_("Confirmed"),
    "allocated": N_("Allocated"),
    "backordered": N_("Backordered"),
    "picking": N_("Picking"),
    "packed": N_("Packed"),
    "partially_shipped": N_("Partially shipped"),
    "shipped": N_("Shipped"),
    "delivered": N_("Delivered"),
    "cancelled": N_("Cancelled"),
}

HOLD_REASON = {
    "address_unlocatable": N_("Address could not be located"),
    "value_above_history": N_("Value far above the customer's usual orders"),
    "first_order_high_value": N_("High-value first order"),
    "insufficient_stock": N_("Not enough stock"),
    "unknown_sku": N_("Unknown SKU"),
    "unknown_warehouse": N_("Unknown warehouse"),
    "payment_failed": N_("Payment failed"),
    "manual": N_("Held by an operator"),
    "short_pick": N_("Short pick"),  # fulfilment.picking.SHORT_PICK
}

EVENT = {
    "received": N_("Order received"),
    "status_changed": N_("Status changed"),
    "stock_released": N_("Stock released"),
    "reallocated": N_("Allocation changed"),
    "edited": N_("Order edited"),
}

ACTION = {
    "confirm": N_("Confirm"),
    "hold": N_("Hold"),
    "release": N_("Release hold"),
    "cancel": N_("Cancel order"),
}

ROLE = {
    "admin": N_("Administrator"),
    "operator": N_("Operator"),
    "warehouse": N_("Warehouse staff"),
    "support": N_("Customer support"),
    "readonly": N_("Read-only"),
}

MOVEMENT_REASON = {
    "receipt": N_("Goods received"),
    "adjustment": N_("Adjustment"),
    "stocktake": N_("Stocktake"),
    "damage": N_("Damaged"),
    "reservation": N_("Reserved for an order"),
    "release": N_("Reservation released"),
    "shipment": N_("Shipped"),
    "return_restock": N_("Returned to stock"),
    "return_quarantine": N_("Returned to quarantine"),  # issue #6
    "write_off": N_("Written off"),  # issue #6
    "import": N_("Import"),
}

#: Reasons a person may choose when adjusting stock by hand.
MANUAL_MOVEMENT_REASONS = ("receipt", "adjustment", "stocktake", "damage")

PAYMENT = {
    "pending": N_("Awaiting payment"),
    "paid": N_("Paid"),
    "cod": N_("Cash on delivery"),
    "failed": N_("Payment failed"),
}

CHANNEL = {
    "api": N_("API"),
    "web": N_("Web shop"),
    "ozon": N_("Ozon"),
    "csv": N_("CSV import"),
    "manual": N_("Manual"),
}


def label(table: dict[str, str], code: str | None) -> str:
    """The translated name of ``code``, or the code itself when it has none (new codes still show)."""
    if code is None:
        return ""
    return gettext(table[code]) if code in table else code
