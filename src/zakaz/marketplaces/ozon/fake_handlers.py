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

from zakaz.marketplaces.ozon.fake_state import FakeOzonState, iso_ms  # issue #7: iso_ms

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
    if len(numbers) > 100:  # issue #7: at most 100 postings per call
        return bad("posting_number must contain 1..100 items")
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
    if state.lose_setter_responses > 0:  # issue #7: applied, but the answer is lost
        state.lose_setter_responses -= 1
        return error(500, 13, "internal error")
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


def warehouses_v2(state: FakeOzonState, body: JSON) -> Any:
    """``/v2/warehouse/list``: limit (1..200, default 50) + cursor; ``{warehouses, cursor, has_next}``."""
    limit = body.get("limit", 50)
    if not isinstance(limit, int) or not 1 <= limit <= 200:
        return bad("limit must be 1..200")
    cursor = str(body.get("cursor") or "0")
    if not cursor.isdigit():
        return bad("invalid cursor")
    rows = sorted(state.warehouses.values(), key=lambda w: int(w["warehouse_id"]))
    start = int(cursor)
    page = rows[start : start + limit]
    has_next = start + limit < len(rows)
    return {
        "warehouses": copy.deepcopy(page),
        "cursor": str(start + limit) if has_next else "",
        "has_next": has_next,
    }


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


# ------------------------------------------------------------------------------------------ chats (issue #7)

#: Buyer chats need Premium Plus for history/send/start/read (notes 2.14).
BUYER_CHATS = frozenset({"Buyer_Seller", "Buyer_Seller_Select"})
PREMIUM_MESSAGE = "Access denied: this method requires the Premium Plus subscription"
#: After delivery the seller may only answer within 48 h of the buyer's last message (notes 2.14).
REPLY_WINDOW_S = 48 * 3600
_POSTING_DONE = frozenset({"delivered", "cancelled", "cancelled_from_split_pending"})


def _chat(state: FakeOzonState, body: JSON) -> JSON | Response:
    chat = state.chats.get(str(body.get("chat_id") or ""))
    if chat is None:
        return error(404, 5, "chat not found")
    if chat["chat_type"] in BUYER_CHATS and not state.premium:
        return error(403, 7, PREMIUM_MESSAGE)
    return chat


def _limit(body: JSON, default: int) -> int | None:
    limit = body.get("limit", default)
    return limit if isinstance(limit, int) and 1 <= limit <= 1000 else None


def _render_message(state: FakeOzonState, chat: JSON, m: JSON) -> JSON:
    posting = state.postings.get(chat.get("_posting") or "")
    return {
        "message_id": str(m["message_id"]),
        "created_at": iso_ms(m["created_at"]),
        "data": [m["text"]],
        "is_image": False,
        "is_read": m["is_read"],
        "moderate_image_status": "",
        "user": {"id": m["user_id"], "type": m["user_type"]},
        "context": {"order_number": posting["order_number"] if posting else "", "sku": ""},
    }


def chat_list(state: FakeOzonState, body: JSON) -> Any:
    filters = body.get("filter", {})
    if not isinstance(filters, dict):
        return bad("proto: syntax error (line 1:11): unexpected token [")
    limit = _limit(body, 30)
    if limit is None:
        return bad("limit must be 1..1000")
    wanted = {"Opened": {"Opened"}, "Closed": {"Closed"}}.get(filters.get("chat_status") or "All")
    rows = []
    for chat in sorted(state.chats.values(), key=lambda c: (c["created_at"], c["chat_id"])):
        unread = [m for m in state.chat_messages[chat["chat_id"]] if not m["is_read"]]
        if (wanted and chat["chat_status"] not in wanted) or (filters.get("unread_only") and not unread):
            continue
        messages = state.chat_messages[chat["chat_id"]]
        rows.append(
            {
                "chat": {k: v for k, v in chat.items() if not k.startswith("_")},
                "first_unread_message_id": str(unread[0]["message_id"]) if unread else "0",
                "last_message_id": str(messages[-1]["message_id"]) if messages else "0",
                "unread_count": len(unread),
            }
        )
    start = int(body.get("cursor") or 0)
    page = rows[start : start + limit]
    has_next = start + limit < len(rows)
    total = sum(1 for ms in state.chat_messages.values() for m in ms if not m["is_read"])
    return {
        "chats": page,
        "total_unread_count": total,
        "cursor": str(start + limit) if has_next else "",
        "has_next": has_next,
    }


def chat_history(state: FakeOzonState, body: JSON) -> Any:
    chat = _chat(state, body)
    if isinstance(chat, Response):
        return chat
    direction = body.get("direction") or "Backward"
    limit = _limit(body, 50)
    if direction not in ("Forward", "Backward") or limit is None:
        return bad("direction must be Forward or Backward, limit 1..1000")
    messages = state.chat_messages[chat["chat_id"]]
    ids = (body.get("filter") or {}).get("message_ids") or []
    if ids:
        messages = [m for m in messages if str(m["message_id"]) in {str(i) for i in ids}]
    start = body.get("from_message_id")
    if start not in (None, "", 0, "0"):
        first = int(start)  # inclusive, in both directions
        messages = [
            m
            for m in messages
            if (m["message_id"] >= first if direction == "Forward" else m["message_id"] <= first)
        ]
    ordered = messages if direction == "Forward" else list(reversed(messages))
    return {
        "has_next": len(ordered) > limit,
        "messages": [_render_message(state, chat, m) for m in ordered[:limit]],
    }


def chat_send_message(state: FakeOzonState, body: JSON) -> Any:
    chat = _chat(state, body)
    if isinstance(chat, Response):
        return chat
    text = body.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= 1000:
        return bad("text must be 1..1000 characters")
    if chat["chat_status"] == "Closed":
        return bad("chat is closed")
    if chat["chat_type"] in BUYER_CHATS and not _may_write(state, chat):
        return bad("you can reply only within 48 hours of the buyer's last message")
    state.add_chat_message(chat["chat_id"], text, user_type="seller")
    if state.lose_send_responses > 0:
        state.lose_send_responses -= 1
        return error(500, 13, "internal error")
    return {"result": "success"}


def _may_write(state: FakeOzonState, chat: JSON) -> bool:
    posting = state.postings.get(chat.get("_posting") or "")
    if posting is not None and posting["status"] not in _POSTING_DONE:
        return True  # after payment, before delivery the seller may write freely
    buyer = [m for m in state.chat_messages[chat["chat_id"]] if m["user_type"] == "customer"]
    return bool(buyer) and (state.now() - buyer[-1]["created_at"]).total_seconds() <= REPLY_WINDOW_S


def chat_start(state: FakeOzonState, body: JSON) -> Any:
    number = str(body.get("posting_number") or "")
    if number not in state.postings:
        return error(404, 5, "POSTING_NOT_FOUND")
    if not state.premium:
        return error(403, 7, PREMIUM_MESSAGE)
    found = next((c for c in state.chats.values() if c.get("_posting") == number), None)
    chat_id = found["chat_id"] if found else state.add_chat(posting_number=number)
    return {"result": {"chat_id": chat_id}}


def chat_read(state: FakeOzonState, body: JSON) -> Any:
    chat = _chat(state, body)
    if isinstance(chat, Response):
        return chat
    try:
        upto = int(body.get("from_message_id") or 0)
    except (TypeError, ValueError):
        return bad("from_message_id must be an int64")
    messages = state.chat_messages[chat["chat_id"]]
    for m in messages:
        if m["message_id"] <= upto:
            m["is_read"] = True
    return {"unread_count": sum(1 for m in messages if not m["is_read"])}


CHAT_ROUTES = {
    "/v3/chat/list": chat_list,
    "/v3/chat/history": chat_history,
    "/v1/chat/send/message": chat_send_message,
    "/v1/chat/start": chat_start,
    "/v2/chat/read": chat_read,
}
