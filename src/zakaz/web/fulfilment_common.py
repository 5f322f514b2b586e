"""Shared pieces of the fulfilment screens (issue #4): who may act, carriers, labels, refusal messages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import Depends, Request
from fastapi.responses import Response

from zakaz.api.fulfilment import fulfilment_settings, get_registry
from zakaz.auth.roles import Permission
from zakaz.errors import DomainError
from zakaz.fulfilment.config import FulfilmentSettings
from zakaz.fulfilment.registry import CarrierRegistry
from zakaz.users.service import SessionUser
from zakaz.web import i18n
from zakaz.web.deps import post_by
from zakaz.web.i18n import N_, gettext
from zakaz.web.labels import label
from zakaz.web.settings import get_web_settings

#: A fulfilment POST: logged in, CSRF token, and ``stock:write`` (warehouse, operator, admin).
Worker = Annotated[SessionUser, Depends(post_by(Permission.stock_write))]

SHIPMENT_STATUS = {
    "ready_to_pick": N_("Ready to pick"),
    "picking": N_("Picking"),
    "packed": N_("Packed"),
    "label_created": N_("Label created"),
    "handed_over": N_("Handed over"),
    "in_transit": N_("In transit"),
    "out_for_delivery": N_("Out for delivery"),
    "delivered": N_("Delivered"),
    "delivery_failed": N_("Delivery failed"),
    "returned_to_sender": N_("Returned to sender"),
    "cancelled": N_("Cancelled"),
}

PICK_LIST_STATUS = {"open": N_("Open"), "completed": N_("Completed")}

CARRIER = {"cdek": N_("CDEK"), "russian_post": N_("Russian Post"), "courier": N_("Courier")}
CARRIER["ozon"] = N_("Ozon (FBS)")  # issue #7: Ozon delivers its FBS postings

#: Packing-station refusals by machine code: what to tell the packer (the domain's text follows it).
REFUSAL = {
    "wrong_item": N_("Wrong item: this is not in the shipment. Put it back."),
    "over_scan": N_("Already packed: every unit of this item is in the box. Take the extra one out."),
    "unknown_barcode": N_("Unknown barcode: no product has it. Scan again or type the SKU."),
    "not_ready_to_pack": N_("This shipment cannot be packed now."),
    "items_missing": N_("Items still to scan before the box can be closed."),
    "unknown_box": N_("Unknown box size: choose one of the listed boxes."),
    "no_rate": N_("No carrier can take this shipment: check weight and address."),
    "carrier_error": N_("The carrier refused or failed: try again later."),
}


def refusal_code(exc: DomainError) -> str:
    return "carrier_error" if exc.kind == "carrier-error" else str(exc.extra.get("code") or "refused")


def registry(request: Request) -> CarrierRegistry:
    return get_registry(request)


def settings_of(request: Request) -> FulfilmentSettings:
    return fulfilment_settings(request)


def refusal_text(exc: DomainError) -> str:
    """The translated explanation of a refusal (use inside the page's locale)."""
    code = "carrier_error" if exc.kind == "carrier-error" else str(exc.extra.get("code") or "")
    known = REFUSAL.get(code)
    return gettext(known) if known else exc.detail


def iso_datetime(value: str | None) -> str:
    """An ISO timestamp from the read models, in the user's language and the UI's time zone."""
    if not value:
        return ""
    return i18n.fmt_datetime(datetime.fromisoformat(value), get_web_settings().timezone)


def iso_date(value: str | None) -> str:
    if not value:
        return ""
    day = date.fromisoformat(value[:10])
    return str(format_date(day, "medium", locale=i18n.babel_locale(i18n.current_locale())))


def labels_context() -> dict[str, Any]:
    return {
        "iso_dt": iso_datetime,
        "iso_date": iso_date,
        "shipment_label": lambda c: label(SHIPMENT_STATUS, c),
        "pick_list_label": lambda c: label(PICK_LIST_STATUS, c),
        "carrier_label": lambda c: label(CARRIER, c),
    }


def pdf(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )
