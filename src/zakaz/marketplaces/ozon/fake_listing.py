"""Listing handlers of the fake Ozon API: v3 offset / v4 cursor posting lists, get, returns (last_id)."""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from fastapi import Response

from zakaz.marketplaces.ozon.fake_handlers import JSON, bad, error, parse_time, render_v3, render_v4
from zakaz.marketplaces.ozon.fake_state import FakeOzonState

UNFULFILLED = frozenset(
    {
        "awaiting_registration",
        "acceptance_in_progress",
        "awaiting_approve",
        "awaiting_packaging",
        "awaiting_deliver",
        "arbitration",
        "client_arbitration",
        "delivering",
        "driver_pickup",
        "not_accepted",
        "sent_by_seller",
        "awaiting_verification",
    }
)


def _page_params(body: JSON, *, max_limit: int, cursor: bool) -> tuple[int, int] | Response:
    limit = body.get("limit")
    if not isinstance(limit, int) or not 1 <= limit <= max_limit:
        return bad(f"limit must be between 1 and {max_limit}")
    if cursor:
        token = body.get("cursor") or ""
        try:
            offset = int(orjson.loads(base64.urlsafe_b64decode(token))["o"]) if token else 0
        except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
            return bad("invalid cursor")
        return limit, offset
    raw_offset = body.get("offset")
    if not isinstance(raw_offset, int) or raw_offset < 0:
        return bad("offset is required and must be >= 0")
    return limit, raw_offset


def _filter_obj(body: JSON) -> JSON | Response:
    value = body.get("filter")
    if isinstance(value, list):  # PHP's empty array instead of an object (notes 7.4)
        return bad("proto: syntax error (line 1:83): unexpected token [")
    if not isinstance(value, dict):
        return bad("filter is required")
    return value


def _in_window(value: datetime | None, lo: datetime | None, hi: datetime | None) -> bool:
    return value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)


def _select_unfulfilled(state: FakeOzonState, filt: JSON, statuses: set[str]) -> list[JSON] | Response:
    cutoff = filt.get("cutoff_from") or filt.get("cutoff_to")
    delivering = filt.get("delivering_date_from") or filt.get("delivering_date_to")
    if bool(cutoff) == bool(delivering):
        return bad(
            "exactly one of cutoff_from/cutoff_to or delivering_date_from/delivering_date_to is required"
        )
    key, lo, hi = (
        ("shipment_date", filt.get("cutoff_from"), filt.get("cutoff_to"))
        if cutoff
        else ("delivering_date", filt.get("delivering_date_from"), filt.get("delivering_date_to"))
    )
    allowed = statuses or UNFULFILLED
    return [
        p
        for p in state.postings.values()
        if p["status"] in allowed and _in_window(parse_time(p.get(key)), parse_time(lo), parse_time(hi))
    ]


def _select_list(filt: JSON, postings: list[JSON], statuses: set[str]) -> list[JSON] | Response:
    since, to = parse_time(filt.get("since")), parse_time(filt.get("to"))
    if since is None or to is None:
        return bad("filter.since and filter.to are required")
    if (to - since).days > 366:
        return bad("period must not exceed one year")
    changed = filt.get("last_changed_status_date") or {}
    out = [p for p in postings if _in_window(parse_time(p["in_process_at"]), since, to)]
    if statuses:
        out = [p for p in out if p["status"] in statuses]
    if changed:
        lo, hi = parse_time(changed.get("from")), parse_time(changed.get("to"))
        out = [p for p in out if _in_window(p["_changed_at"], lo, hi)]
    return out


def _sorted(postings: list[JSON], direction: Any) -> list[JSON]:
    desc = str(direction or "ASC").upper() == "DESC"
    return sorted(postings, key=lambda p: (p["in_process_at"], p["posting_number"]), reverse=desc)


def _statuses(filt: JSON) -> set[str]:
    many = filt.get("statuses") or []
    return {str(s) for s in many} | ({str(filt["status"])} if filt.get("status") else set())


def _v3(
    state: FakeOzonState, body: JSON, select: Callable[[JSON], list[JSON] | Response], *, count: bool
) -> Any:
    filt = _filter_obj(body)
    if isinstance(filt, Response):
        return filt
    params = _page_params(body, max_limit=1000, cursor=False)
    if isinstance(params, Response):
        return params
    limit, offset = params
    chosen = select(filt)
    if isinstance(chosen, Response):
        return chosen
    chosen = _sorted(chosen, body.get("dir"))
    page = [render_v3(p) for p in chosen[offset : offset + limit]]
    tail = {"count": len(chosen)} if count else {"has_next": offset + limit < len(chosen)}
    return {"result": {"postings": page, **tail}}


def _v4(
    state: FakeOzonState, body: JSON, select: Callable[[JSON], list[JSON] | Response], *, count: bool
) -> Any:
    filt = _filter_obj(body)
    if isinstance(filt, Response):
        return filt
    params = _page_params(body, max_limit=1000, cursor=True)
    if isinstance(params, Response):
        return params
    limit, offset = params
    chosen = select(filt)
    if isinstance(chosen, Response):
        return chosen
    chosen = _sorted(chosen, body.get("sort_dir"))
    has_next = offset + limit < len(chosen)
    cursor = base64.urlsafe_b64encode(orjson.dumps({"o": offset + limit})).decode() if has_next else ""
    out: JSON = {"postings": [render_v4(p) for p in chosen[offset : offset + limit]]}
    out.update({"cursor": cursor, "has_next": has_next, **({"count": len(chosen)} if count else {})})
    return out


def unfulfilled_v3(state: FakeOzonState, body: JSON) -> Any:
    return _v3(state, body, lambda f: _select_unfulfilled(state, f, _statuses(f)), count=True)


def unfulfilled_v4(state: FakeOzonState, body: JSON) -> Any:
    return _v4(state, body, lambda f: _select_unfulfilled(state, f, _statuses(f)), count=True)


def list_v3(state: FakeOzonState, body: JSON) -> Any:
    return _v3(
        state, body, lambda f: _select_list(f, list(state.postings.values()), _statuses(f)), count=False
    )


def list_v4(state: FakeOzonState, body: JSON) -> Any:
    return _v4(
        state, body, lambda f: _select_list(f, list(state.postings.values()), _statuses(f)), count=False
    )


def get_posting(state: FakeOzonState, body: JSON) -> Any:
    posting = state.postings.get(str(body.get("posting_number") or ""))
    if posting is None:
        return error(404, 5, "POSTING_NOT_FOUND")
    return {"result": render_v3(posting)}


_RETURN_DATES = {
    "logistic_return_date": lambda r: r["logistic"].get("return_date"),
    "storage_tariffication_start_date": lambda r: r["storage"].get("tariffication_start_date"),
    "visual_status_change_moment": lambda r: r["visual"].get("change_moment"),
}


def returns_list(state: FakeOzonState, body: JSON) -> Any:
    filt = _filter_obj(body)
    if isinstance(filt, Response):
        return filt
    used = [k for k in _RETURN_DATES if filt.get(k)]
    if len(used) != 1:
        return bad(
            "exactly one of logistic_return_date, storage_tariffication_start_date, "
            "visual_status_change_moment is required"
        )
    limit = body.get("limit")
    if not isinstance(limit, int) or not 1 <= limit <= 500:
        return bad("limit must be between 1 and 500")
    window, last_id = filt[used[0]], int(body.get("last_id") or 0)
    lo, hi = parse_time(window.get("time_from")), parse_time(window.get("time_to"))
    schema = str(filt.get("return_schema") or "").lower()
    chosen = sorted(
        (
            r
            for r in state.returns
            if int(r["id"]) > last_id
            and _in_window(parse_time(_RETURN_DATES[used[0]](r)), lo, hi)
            and (not schema or r["schema"].lower() == schema)
        ),
        key=lambda r: int(r["id"]),
    )
    return {"returns": copy.deepcopy(chosen[:limit]), "has_next": len(chosen) > limit}
