"""Issue #7: the fake Ozon's FAKE-ONLY control endpoint plays Ozon's logistics for FBS postings over HTTP,
with the guards Ozon's workflow implies (so a test cannot make the fake do what Ozon would not)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from zakaz.marketplaces.ozon.fake_control import CONTROL_PATH
from zakaz.marketplaces.ozon.fake_server import FakeOzonState, running_fake_ozon, seed_postings


@pytest.fixture
def fake() -> Iterator[tuple[httpx.Client, FakeOzonState]]:
    with running_fake_ozon() as (url, state):
        headers = {"Client-Id": state.client_id, "Api-Key": state.api_key}
        with httpx.Client(base_url=url, headers=headers, timeout=5) as http:
            yield http, state


def _move(http: httpx.Client, number: str, status: str, **extra: Any) -> httpx.Response:
    return http.post(CONTROL_PATH, json={"posting_number": number, "status": status, **extra})


def _get(http: httpx.Client, number: str) -> dict[str, Any]:
    result: dict[str, Any] = http.post("/v3/posting/fbs/get", json={"posting_number": number}).json()[
        "result"
    ]
    return result


def test_ozon_logistics_moves_a_shipped_fbs_posting_to_delivered(
    fake: tuple[httpx.Client, FakeOzonState],
) -> None:
    http, state = fake
    [number] = seed_postings(state, 1)
    assert _move(http, number, "delivering").json() == {
        "code": 3,
        "message": "TRANSITION_IS_NOT_POSSIBLE: awaiting_packaging -> delivering",
        "details": [],
    }
    products = [
        {"product_id": p["sku"], "quantity": p["quantity"]} for p in state.postings[number]["products"]
    ]
    assert http.post(
        "/v4/posting/fbs/ship", json={"posting_number": number, "packages": [{"products": products}]}
    )
    for status, substatus in (
        ("acceptance_in_progress", "posting_acceptance_in_progress"),
        ("delivering", "posting_on_way_to_city"),
        ("delivering", "posting_in_pickup_point"),
        ("delivered", "posting_delivered"),
    ):
        r = _move(http, number, status, substatus=substatus)
        assert r.status_code == 200, r.text
        assert r.json()["result"] == {"posting_number": number, "status": status, "substatus": substatus}
        assert (_get(http, number)["status"], _get(http, number)["substatus"]) == (status, substatus)
    assert _get(http, number)["delivering_date"]
    assert _move(http, number, "cancelled").status_code == 400  # delivered cannot be cancelled


def test_guards_auth_and_ozon_cancellation(fake: tuple[httpx.Client, FakeOzonState]) -> None:
    http, state = fake
    [rfbs] = seed_postings(state, 1, seed=2, rfbs=True)
    state.set_status(rfbs, "awaiting_deliver", "posting_transferring_to_delivery")
    r = _move(http, rfbs, "delivering")
    assert r.status_code == 400 and "HAS_INCORRECT_TPL_INTEGRATION_TYPE" in r.json()["message"]
    assert _move(http, "0000-0000-1", "delivering").status_code == 404
    assert http.post(CONTROL_PATH, json={"status": "delivered"}).status_code == 400
    r = httpx.post(str(http.base_url) + CONTROL_PATH, json={"posting_number": rfbs, "status": "cancelled"})
    assert r.status_code == 401  # the same Client-Id / Api-Key as every other method

    [fbs] = seed_postings(state, 1, seed=5)
    assert _move(http, fbs, "cancelled").status_code == 200
    cancelled = _get(http, fbs)
    assert (cancelled["status"], cancelled["substatus"]) == ("cancelled", "posting_canceled")
    assert cancelled["cancellation"]["cancellation_type"] == "ozon"
    assert cancelled["cancellation"]["cancelled_after_ship"] is False
