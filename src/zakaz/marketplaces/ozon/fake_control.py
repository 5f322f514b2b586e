"""FAKE-ONLY control endpoint of the fake Ozon (issue #7): play Ozon's logistics for FBS postings.

Real Ozon moves an FBS posting it delivers (``tpl_integration_type`` ``ozon``) by itself after hand-over:
acceptance at the sorting centre, delivering, delivered; it may also cancel a posting. The Seller API has
no method for that (the rFBS setters ``/v2/fbs/posting/delivering|last-mile|delivered`` refuse such
postings with ``HAS_INCORRECT_TPL_INTEGRATION_TYPE``). Tests and offline demos drive it here instead::

    POST /fake/control/posting/status   (same Client-Id / Api-Key headers as every other method)
    {"posting_number": "...", "status": "delivering", "substatus": "posting_on_way_to_city"}

``substatus`` is optional (the usual one of the status is taken). Transitions follow the FBS workflow of
seller-api-notes 3.4, so a test cannot make the fake do what Ozon would not. The path starts with
``/fake/``: nothing like it exists on api-seller.ozon.ru.
"""

from __future__ import annotations

from typing import Any

from zakaz.marketplaces.ozon.fake_handlers import JSON, bad, error
from zakaz.marketplaces.ozon.fake_state import FakeOzonState

CONTROL_PATH = "/fake/control/posting/status"

#: The usual substatus of each status Ozon's logistics sets (push vocabulary, notes 3.3).
DEFAULT_SUBSTATUS = {
    "acceptance_in_progress": "posting_acceptance_in_progress",
    "driver_pickup": "posting_driver_pick_up",
    "not_accepted": "posting_not_in_sort_center",
    "delivering": "posting_on_way_to_city",
    "delivered": "posting_delivered",
    "cancelled": "posting_canceled",
}
_BEFORE_DELIVERY = frozenset(
    {
        "awaiting_verification",
        "awaiting_approve",
        "awaiting_packaging",
        "awaiting_registration",
        "awaiting_deliver",
        "acceptance_in_progress",
        "driver_pickup",
        "not_accepted",
        "arbitration",
        "client_arbitration",
        "delivering",
    }
)
#: status -> statuses Ozon's logistics may move it to (FBS, notes 3.4).
FBS_FLOW: dict[str, frozenset[str]] = {
    "awaiting_registration": frozenset({"awaiting_deliver"}),
    "awaiting_deliver": frozenset({"acceptance_in_progress", "driver_pickup", "delivering", "not_accepted"}),
    "acceptance_in_progress": frozenset({"delivering", "not_accepted"}),
    "driver_pickup": frozenset({"delivering"}),
    "delivering": frozenset({"delivering", "delivered"}),  # delivering -> delivering: a new substatus
}


def move_posting(state: FakeOzonState, number: str, status: str, substatus: str | None = None) -> str | None:
    """Apply one logistics step to a posting; returns an error code, or None when applied."""
    with state.lock:
        posting = state.postings.get(number)
        if posting is None:
            return "POSTING_NOT_FOUND"
        current = posting["status"]
        if status == "cancelled":
            if current not in _BEFORE_DELIVERY:
                return "TRANSITION_IS_NOT_POSSIBLE"
            posting["cancellation"] = {
                "cancel_reason_id": 0,
                "cancel_reason": "Отменено Ozon",
                "cancellation_type": "ozon",
                "cancelled_after_ship": current not in ("awaiting_packaging", "awaiting_approve"),
                "affect_cancellation_rating": False,
                "cancellation_initiator": "Ozon",
            }
        elif posting["tpl_integration_type"] == "non_integrated":
            return "HAS_INCORRECT_TPL_INTEGRATION_TYPE"  # the seller delivers it: use the rFBS setters
        elif status not in FBS_FLOW.get(current, frozenset()):
            return "TRANSITION_IS_NOT_POSSIBLE"
        state.set_status(number, status, substatus or DEFAULT_SUBSTATUS.get(status, f"posting_{status}"))
        if status == "delivering" and not posting.get("delivering_date"):
            posting["delivering_date"] = posting["_changed_at"].isoformat().replace("+00:00", "Z")
    return None


def posting_status(state: FakeOzonState, body: JSON) -> Any:
    number, status = str(body.get("posting_number") or ""), str(body.get("status") or "")
    substatus = body.get("substatus")
    if not number or not status:
        return bad("posting_number and status are required")
    if substatus is not None and not isinstance(substatus, str):
        return bad("substatus must be a string")
    failed = move_posting(state, number, status, substatus or None)
    if failed == "POSTING_NOT_FOUND":
        return error(404, 5, failed)
    if failed:
        return bad(f"{failed}: {state.postings[number]['status']} -> {status}")
    posting = state.postings[number]
    return {"result": {k: posting[k] for k in ("posting_number", "status", "substatus")}}


CONTROL_ROUTES = {CONTROL_PATH: posting_status}
