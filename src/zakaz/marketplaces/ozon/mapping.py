"""Pure functions: Ozon JSON -> our dataclasses, and Ozon status vocabulary -> our order status hint.

Handles the v3 posting shape (list / unfulfilled / get) and the v4 differences (no ``result`` wrapper,
``price`` as ``{amount, currency}``, ``customer.customer_email``), and the documented quirks: int64 ids as
numbers or strings, ``tariffication`` as array or object (ignored), ``customer``/``addressee`` null on FBS,
empty strings for "absent", ``0`` for "no warehouse" in pushes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from zakaz.marketplaces.base import (
    CancelReason,
    EventKind,
    ItemError,
    MappingError,
    MarketplaceAddress,
    MarketplaceCustomer,
    MarketplaceEvent,
    MarketplaceLine,
    MarketplaceOrder,
    MarketplaceReturn,
    StockPushResult,
    money_to_minor,
)
from zakaz.marketplaces.ozon.errors import FailedItem
from zakaz.marketplaces.ozon.statuses import PUSH_STATE_MAP as PUSH_STATE_MAP
from zakaz.marketplaces.ozon.statuses import STATUS_MAP as STATUS_MAP
from zakaz.marketplaces.ozon.statuses import OzonStatus as OzonStatus
from zakaz.marketplaces.ozon.statuses import event_kind, push_state_hint, status_hint

CHANNEL = "ozon"
DEFAULT_CURRENCY = "RUB"

# --------------------------------------------------------------------------------------- scalar helpers


def parse_dt(value: Any) -> datetime | None:
    """RFC 3339 (``Z``, optional fraction of any length) -> aware UTC datetime; ``""``/``None`` -> None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"not a date-time: {value!r}")
    text = value.strip()
    if "." in text:  # Python accepts at most 6 fractional digits; Ozon may send more.
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MappingError(f"not a date-time: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def ext_id(value: Any) -> str | None:
    """An int64 id sent as number or string -> str; ``0``/``""``/``None`` mean "absent"."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value else None
    if isinstance(value, str):
        text = value.strip()
        return text if text and text != "0" else None
    raise MappingError(f"not an id: {value!r}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise MappingError(f"{what}: not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise MappingError(f"{what}: not an integer: {value!r}")


def _opt_int(value: Any, what: str) -> int | None:
    """Optional int where ``0``/``""``/``None`` mean absent (Ozon fills unused ids with 0)."""
    return None if value in (None, "") else (_int(value, what) or None)


def _obj(value: Any) -> Mapping[str, Any]:
    """Optional object: null and (PHP-style) ``[]`` both mean absent."""
    return value if isinstance(value, Mapping) else {}


# ---------------------------------------------------------------------------------------------- postings


def _price(product: Mapping[str, Any]) -> tuple[int, str]:
    """v3: ``price: "1259"`` + ``currency_code``; v4: ``price: {amount: "1259", currency: "RUB"}``."""
    raw = product.get("price")
    if isinstance(raw, Mapping):
        currency = _text(raw.get("currency")) or _text(product.get("currency_code")) or DEFAULT_CURRENCY
        amount = raw.get("amount")
    else:
        currency = _text(product.get("currency_code")) or DEFAULT_CURRENCY
        amount = raw
    if amount is None:
        raise MappingError(f"product {product.get('offer_id')!r} has no price")
    return money_to_minor(amount, currency), currency


def _line(product: Mapping[str, Any]) -> tuple[MarketplaceLine, str]:
    unit_price, currency = _price(product)
    sku = ext_id(product.get("sku"))
    if sku is None:
        raise MappingError(f"product without sku: {product!r}")
    line = MarketplaceLine(
        offer_id=str(product.get("offer_id") or ""),
        marketplace_sku=sku,
        name=str(product.get("name") or "").strip(),
        quantity=_int(product.get("quantity"), "quantity"),
        unit_price_minor=unit_price,
    )
    return line, currency


def _customer(posting: Mapping[str, Any]) -> MarketplaceCustomer | None:
    customer, addressee = _obj(posting.get("customer")), _obj(posting.get("addressee"))
    name = _text(customer.get("name")) or _text(addressee.get("name"))
    phone = _text(customer.get("phone")) or _text(addressee.get("phone"))
    email = _text(customer.get("customer_email")) or _text(customer.get("email"))
    if not (name or phone or email):
        return None
    return MarketplaceCustomer(name=name, phone=phone, email=email)


def _address(posting: Mapping[str, Any]) -> MarketplaceAddress | None:
    address = _obj(_obj(posting.get("customer")).get("address"))
    if not address:
        return None
    lat, lon = _float(address.get("latitude")), _float(address.get("longitude"))
    if not lat and not lon:  # 0/0 is "unknown", not the Gulf of Guinea
        lat = lon = None
    result = MarketplaceAddress(
        country=_text(address.get("country")),
        region=_text(address.get("region")),
        city=_text(address.get("city")),
        postcode=_text(address.get("zip_code")),
        line=_text(address.get("address_tail")),
        lat=lat,
        lon=lon,
        pickup_point_code=_text(address.get("pvz_code")),
        comment=_text(address.get("comment")),
    )
    return result if result != MarketplaceAddress() else None


def posting_to_order(posting: Mapping[str, Any]) -> MarketplaceOrder:
    """One posting object (v3 or v4 shape) -> :class:`MarketplaceOrder`."""
    if not isinstance(posting, Mapping):
        raise MappingError(f"posting must be an object, got {type(posting).__name__}")
    number = _text(posting.get("posting_number"))
    if number is None:
        raise MappingError("posting without posting_number")
    status = _text(posting.get("status")) or ""
    substatus = _text(posting.get("substatus"))
    hint, attention = status_hint(status, substatus)
    pairs = [_line(p) for p in posting.get("products") or [] if isinstance(p, Mapping)]
    currencies = {currency for _, currency in pairs}
    if len(currencies) > 1:
        raise MappingError(f"posting {number} mixes currencies {sorted(currencies)}")
    delivery = _obj(posting.get("delivery_method"))
    analytics = _obj(posting.get("analytics_data"))
    cancellation = _obj(posting.get("cancellation"))
    return MarketplaceOrder(
        channel=CHANNEL,
        external_id=number,
        external_order_number=_text(posting.get("order_number")),
        external_status=status,
        external_substatus=substatus,
        status_hint=hint,
        needs_attention=attention,
        ship_by=parse_dt(posting.get("shipment_date")),
        created_at=parse_dt(posting.get("in_process_at")),
        warehouse_id=ext_id(delivery.get("warehouse_id")) or ext_id(analytics.get("warehouse_id")),
        delivery_method=_text(delivery.get("name")),
        tracking_number=_text(posting.get("tracking_number")),
        currency=currencies.pop() if currencies else DEFAULT_CURRENCY,
        lines=tuple(line for line, _ in pairs),
        customer=_customer(posting),
        address=_address(posting),
        cancel_reason=_text(cancellation.get("cancel_reason")),
        cancel_reason_id=_opt_int(cancellation.get("cancel_reason_id"), "cancel_reason_id"),
        cancelled_by=_text(cancellation.get("cancellation_type")),
        is_express=bool(posting.get("is_express")),
        fulfilment_scheme=_text(posting.get("tpl_integration_type")),
    )


def postings_from_list(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Posting objects of a list page: v3 ``result.postings`` or v4 top-level ``postings``."""
    container = data["result"] if isinstance(data.get("result"), Mapping) else data
    postings = container.get("postings")
    if postings is None:
        raise MappingError("list response has neither result.postings (v3) nor postings (v4)")
    return [p for p in postings if isinstance(p, Mapping)]


def order_from_get(data: Mapping[str, Any]) -> MarketplaceOrder:
    """``/v3/posting/fbs/get`` answer (``{"result": posting}``); tolerates an unwrapped posting."""
    result = data.get("result")
    return posting_to_order(result if isinstance(result, Mapping) else data)


# ------------------------------------------------------------------------------------------------ pushes


def push_to_event(body: Mapping[str, Any]) -> MarketplaceEvent:
    """A push body -> :class:`MarketplaceEvent`. Unknown types map to ``EventKind.other``, never raise."""
    message_type = _text(body.get("message_type"))
    if message_type is None:
        raise MappingError("push without message_type")
    kind = event_kind(message_type)
    number = _text(body.get("posting_number"))
    new_state = _text(body.get("new_state"))
    if kind is EventKind.new_order:
        new_state = new_state or "posting_created"
    when_keys = ("changed_state_date", "in_process_at", "time", "new_cutoff_date")
    when_raw = next((body[k] for k in when_keys if body.get(k)), None)
    reason = _obj(body.get("reason"))
    lines = tuple(
        (ext_id(p.get("sku")) or "", _text(p.get("offer_id")), _int(p.get("quantity", 0), "quantity"))
        for p in body.get("products") or []
        if isinstance(p, Mapping)
    )
    ship_by_key = "new_cutoff_date" if kind is EventKind.ship_by_changed else "shipment_date"
    return MarketplaceEvent(
        channel=CHANNEL,
        kind=kind,
        message_type=message_type,
        external_id=number,
        external_state=new_state,
        status_hint=push_state_hint(new_state) if new_state else None,
        occurred_at=parse_dt(when_raw),
        warehouse_id=ext_id(body.get("warehouse_id")),
        seller_id=ext_id(body.get("seller_id")),
        # FBS pushes carry no delivery id: dedupe on what identifies the fact (notes 4.1).
        dedupe_key="|".join([message_type, number or "", new_state or "", str(when_raw or "")]),
        lines=lines,
        cancel_reason_id=_opt_int(reason.get("id"), "reason.id"),
        cancel_reason=_text(reason.get("message")),
        new_ship_by=parse_dt(body.get(ship_by_key)),
        tracking_number=_text(body.get("tracking_number")),
    )


# --------------------------------------------------------------------------------- other answers / items


def cancel_reasons(data: Mapping[str, Any]) -> tuple[CancelReason, ...]:
    return tuple(
        CancelReason(
            id=ext_id(item.get("id")) or "",
            title=str(item.get("title") or ""),
            initiator=str(item.get("type_id") or ""),
            available=bool(item.get("is_available_for_cancellation")),
        )
        for item in data.get("result") or []
        if isinstance(item, Mapping)
    )


def return_to_marketplace(item: Mapping[str, Any]) -> MarketplaceReturn:
    """One ``/v1/returns/list`` element. Ids there are int64-as-string."""
    product = _obj(item.get("product"))
    price = _obj(product.get("price"))
    currency = _text(price.get("currency_code"))
    amount = price.get("price")
    status = _obj(_obj(item.get("visual")).get("status"))
    return MarketplaceReturn(
        channel=CHANNEL,
        external_id=ext_id(item.get("id")) or "",
        external_order_id=_text(item.get("posting_number")),
        order_number=_text(item.get("order_number")),
        kind=str(item.get("type") or "Unknown"),
        status=_text(status.get("sys_name")),
        reason=_text(item.get("return_reason_name")),
        offer_id=_text(product.get("offer_id")),
        marketplace_sku=ext_id(product.get("sku")),
        name=_text(product.get("name")),
        quantity=_int(product.get("quantity", 0), "quantity"),
        unit_price_minor=None if amount in (None, "") else money_to_minor(amount, currency or "RUB"),
        currency=currency,
        status_changed_at=parse_dt(_obj(item.get("visual")).get("change_moment")),
        barcode=_text(_obj(item.get("logistic")).get("barcode")),
    )


_RETRYABLE_STOCK_CODES = frozenset({"TOO_MANY_REQUESTS"})


def stock_results(data: Mapping[str, Any]) -> tuple[StockPushResult, ...]:
    """``/v2/products/stocks`` answer -> one result per pair; per-item errors kept (HTTP 200 partial)."""
    results = []
    for item in data.get("result") or []:
        if not isinstance(item, Mapping):
            continue
        errors = tuple(
            ItemError(code=str(e.get("code") or ""), message=str(e.get("message") or ""))
            for e in item.get("errors") or []
            if isinstance(e, Mapping)
        )
        retryable = bool(errors) and all(
            e.code in _RETRYABLE_STOCK_CODES or "too frequently" in e.message.lower() for e in errors
        )
        results.append(
            StockPushResult(
                offer_id=str(item.get("offer_id") or ""),
                warehouse_id=ext_id(item.get("warehouse_id")) or "",
                updated=bool(item.get("updated")) and not errors,
                errors=errors,
                retryable=retryable,
            )
        )
    return tuple(results)


def failed_postings(data: Mapping[str, Any]) -> list[FailedItem]:
    """Tracking-number/set and rFBS setters: ``result[]{posting_number, result: bool, error}``."""
    failed = []
    for item in data.get("result") or []:
        if isinstance(item, Mapping) and not item.get("result"):
            error = _text(item.get("error")) or "REJECTED"
            failed.append(FailedItem(key=str(item.get("posting_number") or ""), code=error, message=error))
    return failed
