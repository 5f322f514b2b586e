"""Action handlers of the fake Ozon API (ship, labels, setters, cancel, stocks) and shared helpers.

Each is `(state, body) -> dict | Response`, called under `state.lock`; listings live in `fake_listing`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from fastapi import Response

from zakaz.marketplaces.ozon.fake_state import FakeOzonState

JSON = dict[str, Any]

SHIPPED = frozenset(
    {
        "awaiting_registration",
        "awaiting_deliver",
        "acceptance_in_progress",
        "delivering",
        "driver_pickup",
        "delivered",
        "sent_by_seller",
    }
)
TRACKABLE = frozenset({"non_integrated", "3pl_tracking"})


def ok(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error(status: int, code: int, message: str, *, headers: Mapping[str, str] | None = None) -> Response:
    body = orjson.dumps({"code": code, "message": message, "details": []})
    return Response(body, status_code=status, media_type="application/json", headers=dict(headers or {}))


def bad(message: str) -> Response:
    return error(400, 3, message)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def render_v3(posting: JSON) -> JSON:
    return {k: copy.deepcopy(v) for k, v in posting.items() if not k.startswith("_")}


def render_v4(posting: JSON) -> JSON:
    out = render_v3(posting)
    for product in out["products"]:
        product["price"] = {"amount": product.pop("price"), "currency": product.pop("currency_code")}
    tariff = out.get("tariffication")
    out["tariffication"] = tariff[0] if isinstance(tariff, list) and tariff else (tariff or {})
    if out.get("addressee"):
        out["addressee"] = {"name": out["addressee"].get("name")}
    if out.get("customer"):
        out["customer"]["customer_email"] = ""
    return out


# --------------------------------------------------------------------------------------------- actions


def ship(state: FakeOzonState, body: JSON) -> Any:
    posting = state.postings.get(str(body.get("posting_number") or ""))
    if posting is None:
        return error(404, 5, "POSTING_NOT_FOUND")
    status = posting["status"]
    if status == "cancelled":
        return bad("POSTING_ALREADY_CANCELLED")
    if status in SHIPPED:
        return bad("POSTING_ALREADY_SHIPPED")
    if status != "awaiting_packaging":
        return bad("HAS_INCORRECT_STATUS")
    packages = body.get("packages")
    if not isinstance(packages, list) or not packages:
        return bad("packages is required")
    ordered = {p["sku"]: p["quantity"] for p in posting["products"]}
    sent: dict[int, int] = {}
    for package in packages:
        for item in (package or {}).get("products") or []:
            sku = item.get("product_id")
            if sku not in ordered:  # the seller product_id instead of the SKU lands here
                return bad("UNKNOWN_PRODUCT_DEFINED")
            sent[sku] = sent.get(sku, 0) + int(item.get("quantity") or 0)
    if sent != ordered:
        return bad("HAS_INCORRECT_PRODUCT_QUANTITY")
    now = state.clock.monotonic()
    if len(packages) == 1:
        state.set_status(posting["posting_number"], "awaiting_deliver", "posting_transferring_to_delivery")
        posting["_shipped_at"] = now
        return {"result": [posting["posting_number"]], "additional_data": []}
    numbers = []
    for k, package in enumerate(packages, start=2):
        child = copy.deepcopy(posting)
        child["posting_number"] = f"{posting['order_number']}-{k}"
        by_sku = {p["sku"]: p for p in posting["products"]}
        child["products"] = [
            {**by_sku[i["product_id"]], "quantity": i["quantity"]} for i in package.get("products") or []
        ]
        child["status"], child["substatus"] = "awaiting_deliver", "posting_transferring_to_delivery"
        child["_shipped_at"], child["_changed_at"] = now, state.now()
        state.postings[child["posting_number"]] = child
        numbers.append(child["posting_number"])
    # Assumption (not documented precisely): the split parent ends as cancelled_from_split_pending.
    state.set_status(posting["posting_number"], "cancelled_from_split_pending", "posting_split_pending")
    return {"result": numbers, "additional_data": []}


def package_label(state: FakeOzonState, body: JSON) -> Any:
    numbers = body.get("posting_number")
    if not isinstance(numbers, list) or not 1 <= len(numbers) <= 20:
        return bad("INVALID_ARGUMENT: posting_number must list 1..20 postings")
    not_ready = []
    for number in numbers:
        posting = state.postings.get(str(number))
        if posting is None or posting["status"] not in ("awaiting_deliver",):
            return bad(f"INVALID_ARGUMENT: posting {number} is not awaiting_deliver")
        if state.clock.monotonic() - posting.get("_shipped_at", 0.0) < state.label_ready_after_s:
            not_ready.append(str(number))
    if not_ready:  # one bad posting fails the whole batch
        return bad(f"The next postings aren't ready: {', '.join(not_ready)}")
    pdf = b"%PDF-1.4\n% fake Ozon label\n" + "\n".join(map(str, numbers)).encode() + b"\n%%EOF\n"
    return Response(pdf, media_type="application/pdf")


def tracking_set(state: FakeOzonState, body: JSON) -> Any:
    pairs = body.get("tracking_numbers")
    if not isinstance(pairs, list) or not 1 <= len(pairs) <= 20:
        return bad("tracking_numbers must contain 1..20 items")
    result = []
    for pair in pairs:
        number, track = str(pair.get("posting_number") or ""), str(pair.get("tracking_number") or "")
        posting = state.postings.get(number)
        err = ""
        if posting is None:
            err = "POSTING_NOT_FOUND"
        elif posting["tpl_integration_type"] not in TRACKABLE:
            err = "HAS_INCORRECT_TPL_INTEGRATION_TYPE"
        elif not track:
            err = "INVALID_TRACKING_NUMBER"
        else:
            posting["tracking_number"] = track
        result.append({"posting_number": number, "result": not err, "error": err})
    return {"result": result}


def _setter(state: FakeOzonState, body: JSON, allowed: set[str], status: str, substatus: str) -> Any:
    numbers = body.get("posting_number")
    if not isinstance(numbers, list) or not numbers:
        return bad("posting_number is required")
    result = []
    for number in map(str, numbers):
        posting = state.postings.get(number)
        err = ""
        if posting is None:
            err = "POSTING_NOT_FOUND"
        elif posting["tpl_integration_type"] != "non_integrated":
            err = "HAS_INCORRECT_TPL_INTEGRATION_TYPE"
        elif (
            f"{posting['status']}/{posting['substatus']}" not in allowed and posting["status"] not in allowed
        ):
            err = "TRANSITION_IS_NOT_POSSIBLE"
        else:
            state.set_status(number, status, substatus)
        result.append({"posting_number": number, "result": not err, "error": err})
    return {"result": result}


def delivering(state: FakeOzonState, body: JSON) -> Any:
    return _setter(state, body, {"awaiting_deliver"}, "delivering", "posting_transferred_to_courier_service")


def last_mile(state: FakeOzonState, body: JSON) -> Any:
    allowed = {"delivering/posting_transferred_to_courier_service"}
    return _setter(state, body, allowed, "delivering", "posting_in_courier_service")


def delivered(state: FakeOzonState, body: JSON) -> Any:
    allowed = {"delivering/posting_transferred_to_courier_service", "delivering/posting_in_courier_service"}
    # Ozon's push mapping puts posting_conditionally_delivered under the `delivering` status.
    return _setter(state, body, allowed, "delivering", "posting_conditionally_delivered")


def cancel(state: FakeOzonState, body: JSON) -> Any:
    posting = state.postings.get(str(body.get("posting_number") or ""))
    if posting is None:
        return error(404, 5, "POSTING_NOT_FOUND")
    reasons = {r["id"]: r for r in state.cancel_reasons if r["is_available_for_cancellation"]}
    reason_id, message = body.get("cancel_reason_id"), str(body.get("cancel_reason_message") or "")
    if reason_id not in reasons or (reason_id == 402 and not message):
        return bad("HAS_INCORRECT_CANCEL_REASON")
    if posting["status"] in ("cancelled", "cancelled_from_split_pending"):
        return bad("POSTING_ALREADY_CANCELLED")
    if posting["status"] == "delivered" or posting["substatus"] == "posting_conditionally_delivered":
        return bad("TRANSITION_IS_NOT_POSSIBLE")
    posting["cancellation"] = {
        "cancel_reason_id": reason_id,
        "cancel_reason": reasons[reason_id]["title"],
        "cancellation_type": "seller",
        "cancelled_after_ship": posting["status"] in SHIPPED,
        "affect_cancellation_rating": True,
        "cancellation_initiator": "Продавец",
    }
    state.set_status(posting["posting_number"], "cancelled", "posting_canceled")
    return {"result": True}


def cancel_reasons(state: FakeOzonState, body: JSON) -> Any:
    return {"result": copy.deepcopy(state.cancel_reasons)}


def warehouses(state: FakeOzonState, body: JSON) -> Any:
    return {"result": copy.deepcopy(list(state.warehouses.values()))}


def stocks(state: FakeOzonState, body: JSON) -> Any:
    items = body.get("stocks")
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        return bad("stocks must contain 1..100 items")
    now, result = state.clock.monotonic(), []
    for item in items:
        offer = str(item.get("offer_id") or "")
        if not offer and item.get("product_id"):  # offer_id wins when both are sent
            offer = next((o for o, sku in state.offers.items() if sku == item["product_id"]), "")
        wid, qty = item.get("warehouse_id"), item.get("stock")
        key = (offer, wid if isinstance(wid, int) else -1)
        errors = []
        if wid not in state.warehouses:
            errors.append({"code": "WAREHOUSE_NOT_FOUND", "message": "Warehouse not found"})
        elif offer not in state.offers:
            errors.append({"code": "offer_id_not_found", "message": "Offer not found"})
        elif not isinstance(qty, int) or qty < 0:
            errors.append({"code": "INVALID_STOCK", "message": "stock must be a non-negative integer"})
        elif qty >= 1_000_000:
            errors.append({"code": "STOCK_TOO_BIG", "message": "stock must be less than 1000000"})
        elif now - state.stock_updated_at.get(key, float("-inf")) < state.stock_pair_interval_s:
            errors.append({"code": "TOO_MANY_REQUESTS", "message": "Stock is updated too frequently"})
        else:
            state.stocks[key] = qty
            state.stock_updated_at[key] = now
        result.append(
            {
                "warehouse_id": wid,
                "product_id": state.offers.get(offer, 0),
                "offer_id": offer,
                "updated": not errors,
                "errors": errors,
            }
        )
    return {"result": result}
