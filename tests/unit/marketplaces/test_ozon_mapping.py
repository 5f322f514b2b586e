"""Ozon JSON -> our dataclasses, against every published example payload; money; status tables; errors."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from zakaz.marketplaces.base import (
    EventKind,
    MappingError,
    MarketplaceAuthError,
    MarketplaceNotFound,
    MoneyParseError,
    money_to_minor,
)
from zakaz.marketplaces.ozon import fake_listing, mapping
from zakaz.marketplaces.ozon.client import OzonCredentials
from zakaz.marketplaces.ozon.errors import (
    InvalidRequest,
    LabelsNotReady,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientApiError,
    error_from_response,
    parse_retry_after,
)
from zakaz.marketplaces.ozon.fake_push import (
    build_push_new_posting,
    build_push_posting_cancelled,
    build_push_state_changed,
)
from zakaz.marketplaces.ozon.fake_state import FakeOzonState, seed_postings
from zakaz.marketplaces.ozon.statuses import PUSH_STATE_MAP, STATUS_MAP, OzonStatus, status_hint
from zakaz.orders.states import OrderStatus as S

EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "ozon" / "examples"


def load(name: str) -> Any:
    if not EXAMPLES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Ozon example payloads missing at {EXAMPLES}")
        pytest.skip(f"Ozon example payloads not available at {EXAMPLES}")
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------------ every example is covered

COVERED = {
    "error_400_invalid_argument.observed.json",
    "push_TYPE_NEW_POSTING.json",
    "push_TYPE_POSTING_CANCELLED.json",
    "push_TYPE_STATE_CHANGED.json",
    "v1_returns_list.response.json",
    "v2_posting_fbs_cancel_reason_list.response.json",
    "v3_posting_fbs_get.response.json",
    "v3_posting_fbs_list.response.json",
    "v3_posting_fbs_unfulfilled_list.request.json",
    "v3_posting_fbs_unfulfilled_list.response.json",
}


def test_every_example_file_has_a_test() -> None:
    load("v3_posting_fbs_get.response.json")  # fails/skips when the folder is missing
    assert {p.name for p in EXAMPLES.glob("*.json")} == COVERED


def test_unfulfilled_list_example_maps_to_a_confirmed_fbs_order() -> None:
    [posting] = mapping.postings_from_list(load("v3_posting_fbs_unfulfilled_list.response.json"))
    order = mapping.posting_to_order(posting)
    assert order.channel == "ozon"
    assert order.external_id == "23713478-0018-3"
    assert order.external_order_number == "33713378-0051"
    assert (order.external_status, order.status_hint, order.needs_attention) == (
        "awaiting_packaging",
        S.confirmed,
        False,
    )
    assert order.ship_by == utc(2021, 8, 26, 10) and order.ship_by.tzinfo is not None
    assert order.created_at == utc(2021, 8, 25, 10, 48, 38)
    assert order.warehouse_id == "15110442724000"
    assert order.delivery_method == "Ozon Логистика курьеру, Москва"
    assert order.tracking_number is None  # "" means none
    assert order.currency == "RUB"
    [line] = order.lines
    assert (line.offer_id, line.marketplace_sku, line.quantity, line.unit_price_minor) == (
        "УТ-0001365",
        "140048123",
        1,
        125900,
    )
    assert order.customer is None and order.address is None  # FBS: Ozon hides the buyer
    assert order.cancel_reason is None and order.cancel_reason_id is None


def test_list_example_price_with_six_decimals_and_awaiting_deliver_is_packed() -> None:
    [posting] = mapping.postings_from_list(load("v3_posting_fbs_list.response.json"))
    order = mapping.posting_to_order(posting)
    assert order.external_id == "05708065-0029-1"
    assert order.status_hint is S.packed
    assert order.lines[0].unit_price_minor == 139000  # "1390.000000"
    assert order.lines[0].name == "Электронный конструктор PinLab Позитроник"  # leading space trimmed


def test_get_example_maps_with_four_decimal_price_and_tariffication_array() -> None:
    order = mapping.order_from_get(load("v3_posting_fbs_get.response.json"))
    assert order.external_id == "57195475-0050-3"
    assert order.lines[0].unit_price_minor == 27900  # "279.0000"
    assert order.external_substatus == "posting_awaiting_passport_data"
    assert order.status_hint is S.confirmed
    assert order.total_minor == 27900


def test_cancel_reason_list_example() -> None:
    reasons = mapping.cancel_reasons(load("v2_posting_fbs_cancel_reason_list.response.json"))
    assert [r.id for r in reasons] == ["352", "401", "402", "666"]
    assert {r.id for r in reasons if r.available} == {"352", "402"}
    assert reasons[0].title == "Товар закончился на складе продавца"


def test_returns_list_example_with_string_ids() -> None:
    [item] = load("v1_returns_list.response.json")["returns"]
    ret = mapping.return_to_marketplace(item)
    assert ret.external_id == "1000015552"
    assert ret.external_order_id == "58544282-0057-1"
    assert (ret.marketplace_sku, ret.offer_id, ret.quantity) == ("1100526203", "81451", 1)
    assert (ret.unit_price_minor, ret.currency) == (331800, "RUB")
    assert ret.status == "ArrivedAtReturnPlace" and ret.kind == "FullReturn"
    assert ret.status_changed_at == datetime(2024, 7, 29, 6, 15, 48, 998146, tzinfo=UTC)


def test_push_new_posting_example() -> None:
    event = mapping.push_to_event(load("push_TYPE_NEW_POSTING.json"))
    assert event.kind is EventKind.new_order and event.status_hint is S.new
    assert event.external_id == "24319409-0021-1"
    assert event.lines == (("147451939", "Товар2", 1),)
    assert event.warehouse_id == "12850503335000" and event.seller_id == "1"
    assert event.new_ship_by == datetime(2021, 1, 26, 6, 56, 36, 294000, tzinfo=UTC)
    assert event.tracking_number == "ZZV-23"


def test_push_cancelled_example_zero_ids_mean_absent() -> None:
    event = mapping.push_to_event(load("push_TYPE_POSTING_CANCELLED.json"))
    assert event.kind is EventKind.cancelled and event.status_hint is S.cancelled
    assert event.external_state == "posting_canceled"
    assert event.cancel_reason_id is None and event.cancel_reason == "string"
    assert event.warehouse_id is None  # 0
    assert event.lines == (("147451959", None, 1),)


def test_push_state_changed_example_uses_push_vocabulary() -> None:
    event = mapping.push_to_event(load("push_TYPE_STATE_CHANGED.json"))
    assert event.kind is EventKind.state_changed
    assert (event.external_state, event.status_hint) == ("posting_delivered", S.delivered)
    assert event.occurred_at == datetime(2021, 2, 2, 15, 7, 46, 765000, tzinfo=UTC)


def test_duplicate_pushes_share_a_dedupe_key_and_different_states_do_not() -> None:
    body = load("push_TYPE_STATE_CHANGED.json")
    other = {**body, "new_state": "posting_received"}
    assert mapping.push_to_event(body).dedupe_key == mapping.push_to_event(copy.deepcopy(body)).dedupe_key
    assert mapping.push_to_event(body).dedupe_key != mapping.push_to_event(other).dedupe_key


def test_push_builders_reproduce_the_documented_bodies_exactly() -> None:
    t = datetime(2021, 1, 26, 6, 56, 36, 294000, tzinfo=UTC)
    assert build_push_new_posting(
        posting_number="24319409-0021-1",
        products=[(147451939, "Товар2", 1)],
        in_process_at=t,
        warehouse_id=12850503335000,
        shipment_date=t,
        tpl_integration_type="3pl_tracking",
        tracking_number="ZZV-23",
        delivery_date_begin=t.replace(year=2025),
        delivery_date_end=t.replace(year=2025),
        seller_id=1,
    ) == load("push_TYPE_NEW_POSTING.json")
    assert build_push_posting_cancelled(
        posting_number="24219509-0020-1",
        products=[(147451959, 1)],
        old_state="posting_transferred_to_courier_service",
        changed_state_date=t,
        reason_id=0,
        reason_message="string",
        warehouse_id=0,
        seller_id=15,
    ) == load("push_TYPE_POSTING_CANCELLED.json")
    assert build_push_state_changed(
        posting_number="24219509-0020-2",
        new_state="posting_delivered",
        changed_state_date=datetime(2021, 2, 2, 15, 7, 46, 765000, tzinfo=UTC),
        warehouse_id=0,
        seller_id=15,
    ) == load("push_TYPE_STATE_CHANGED.json")


def test_observed_400_error_becomes_a_typed_invalid_request() -> None:
    body = json.dumps(load("error_400_invalid_argument.observed.json")).encode()
    err = error_from_response(400, body, {}, path="/v3/posting/fbs/unfulfilled/list")
    assert isinstance(err, InvalidRequest) and not err.retryable
    assert (err.http_status, err.code) == (400, 3)
    assert err.message == "proto: syntax error (line 1:83): unexpected token ["


def test_fake_accepts_the_documented_request_and_answers_in_the_documented_shape() -> None:
    request = load("v3_posting_fbs_unfulfilled_list.request.json")
    [example] = load("v3_posting_fbs_unfulfilled_list.response.json")["result"]["postings"]
    state = FakeOzonState()
    seed_postings(state, 3, start=datetime(2021, 8, 25, tzinfo=UTC))
    answer = fake_listing.unfulfilled_v3(state, request)
    assert isinstance(answer, dict) and answer["result"]["count"] == 3
    fake_posting = answer["result"]["postings"][0]
    # Doc-only decorations the fake does not model; everything else the docs show, the fake returns.
    optional = {"pickup_code_verified_at", "optional", "barcodes", "legal_info", "quantum_id"}
    assert set(example) - set(fake_posting) <= optional
    assert set(example["products"][0]) - set(fake_posting["products"][0]) <= {"products_requiring_jw_uin"}
    assert fake_listing.unfulfilled_v3(state, {**request, "filter": []}).status_code == 400  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------ v4 & quirks


def v4_posting() -> dict[str, Any]:
    posting = copy.deepcopy(load("v3_posting_fbs_get.response.json")["result"])
    product = posting["products"][0]
    product["price"] = {"amount": product.pop("price"), "currency": product.pop("currency_code")}
    product["sku"] = str(product["sku"])  # int64 as string
    posting["tariffication"] = posting["tariffication"][0]  # object, as in production
    posting["delivery_method"]["warehouse_id"] = "18114520187000"
    posting["customer"] = {
        "customer_id": 1,
        "name": "Иван Петров",
        "phone": "",
        "customer_email": "ivan@example.com",
        "address": {
            "address_tail": "ул. Тверская, д. 1",
            "city": "Москва",
            "region": "Москва",
            "country": "Россия",
            "zip_code": "125009",
            "latitude": 0,
            "longitude": 0,
        },
    }
    posting["addressee"] = {"name": "Иван Петров"}
    return posting


def test_v4_posting_shape_maps_like_v3() -> None:
    v3 = mapping.order_from_get(load("v3_posting_fbs_get.response.json"))
    v4 = mapping.posting_to_order(
        mapping.postings_from_list({"postings": [v4_posting()], "has_next": False})[0]
    )
    assert v4.lines == v3.lines and v4.warehouse_id == v3.warehouse_id and v4.ship_by == v3.ship_by
    assert v4.customer is not None and (v4.customer.name, v4.customer.phone, v4.customer.email) == (
        "Иван Петров",
        None,
        "ivan@example.com",
    )
    assert (
        v4.address is not None and v4.address.postcode == "125009" and v4.address.line == "ул. Тверская, д. 1"
    )
    assert (v4.address.lat, v4.address.lon) == (None, None)  # 0/0 is "unknown"


def test_list_response_of_unknown_shape_is_a_mapping_error_not_an_empty_list() -> None:
    with pytest.raises(MappingError):
        mapping.postings_from_list({"result": {"items": []}})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.pop("posting_number"),
        lambda p: p["products"][0].update(quantity="many"),
        lambda p: p["products"][0].update(price="12.345"),
        lambda p: p["products"].append({**p["products"][0], "currency_code": "CNY"}),
        lambda p: p.update(shipment_date="yesterday"),
    ],
    ids=["no-number", "bad-quantity", "sub-kopeck-price", "mixed-currency", "bad-date"],
)
def test_broken_postings_raise_mapping_error(mutate: Any) -> None:
    posting = copy.deepcopy(load("v3_posting_fbs_get.response.json")["result"])
    mutate(posting)
    with pytest.raises(MappingError):
        mapping.posting_to_order(posting)


def test_dates_with_nanoseconds_and_offsets_become_utc() -> None:
    assert mapping.parse_dt("2024-07-30T06:15:48.998146123Z") == datetime(
        2024, 7, 30, 6, 15, 48, 998146, tzinfo=UTC
    )
    assert mapping.parse_dt("2024-07-30T09:15:48+03:00") == utc(2024, 7, 30, 6, 15, 48)
    assert mapping.parse_dt("") is None


# ------------------------------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("amount", "minor"),
    [
        ("1259", 125900),
        ("279.0000", 27900),
        ("1390.000000", 139000),
        ("0.01", 1),
        ("99.5", 9950),
        (" 12.30 ", 1230),
        (1259, 125900),
        ("1E+2", 10000),
        ("-5.00", -500),
        ("0", 0),
    ],
)
def test_money_parses_exactly(amount: Any, minor: int) -> None:
    assert money_to_minor(amount, "RUB") == minor


@pytest.mark.parametrize(
    "amount", ["10.005", "0.001", "1390.0000001", "abc", "", "1,50", "NaN", "Infinity", 1.5, True, None]
)
def test_money_refuses_fractions_of_a_kopeck_and_non_decimals(amount: Any) -> None:
    with pytest.raises(MoneyParseError):
        money_to_minor(amount, "RUB")


# ------------------------------------------------------------------------------------------ status table

EXPECTED = {
    "awaiting_verification": S.new,
    "awaiting_approve": S.new,
    "awaiting_packaging": S.confirmed,
    "ship_in_process": S.packed,
    "awaiting_registration": S.packed,
    "awaiting_deliver": S.packed,
    "acceptance_in_progress": S.shipped,
    "driver_pickup": S.shipped,
    "delivering": S.shipped,
    "sent_by_seller": S.shipped,
    "not_accepted": S.shipped,
    "arbitration": S.shipped,
    "client_arbitration": S.shipped,
    "delivered": S.delivered,
    "cancelled": S.cancelled,
    "cancelled_from_split_pending": S.cancelled,
}


@pytest.mark.parametrize(("status", "hint"), EXPECTED.items())
def test_every_ozon_status_has_a_hint(status: str, hint: S) -> None:
    assert status_hint(status)[0] is hint


def test_status_table_covers_the_enum_and_flags_disputes() -> None:
    assert set(STATUS_MAP) == set(OzonStatus) == set(EXPECTED)
    flagged = {s for s in OzonStatus if status_hint(s)[1]}
    assert flagged == {OzonStatus.not_accepted, OzonStatus.arbitration, OzonStatus.client_arbitration}


def test_substatus_refines_but_never_overrides_terminal_status() -> None:
    assert status_hint("awaiting_packaging", "ship_failed") == (S.packed, True)
    assert status_hint("delivering", "posting_conditionally_delivered") == (S.delivered, False)
    assert status_hint("cancelled", "ship_failed") == (S.cancelled, False)
    assert status_hint("something_new_from_2027") == (None, True)


# Official push-state <-> API-status pairs (notes 3.3).
PUSH_PAIRS = {
    "acceptance_in_progress": ["posting_acceptance_in_progress"],
    "awaiting_registration": ["posting_awaiting_registration"],
    "awaiting_deliver": [
        "posting_transferring_to_delivery",
        "posting_in_carriage",
        "posting_not_in_carriage",
    ],
    "arbitration": ["posting_in_arbitration"],
    "client_arbitration": ["posting_in_client_arbitration"],
    "delivering": [
        "posting_on_way_to_city",
        "posting_transferred_to_courier_service",
        "posting_in_courier_service",
        "posting_on_way_to_pickup_point",
        "posting_in_pickup_point",
    ],
    "driver_pickup": ["posting_driver_pick_up"],
    "delivered": ["posting_delivered", "posting_received"],
    "cancelled": ["posting_canceled"],
    "not_accepted": ["posting_not_in_sort_center"],
}


@pytest.mark.parametrize(("status", "states"), PUSH_PAIRS.items())
def test_push_states_agree_with_api_statuses(status: str, states: list[str]) -> None:
    for state in states:
        assert PUSH_STATE_MAP[state] is STATUS_MAP[OzonStatus(status)][0], state


def test_ambiguous_push_states() -> None:
    # posting_created covers awaiting_approve (new) and awaiting_packaging (confirmed): hint the lower one.
    assert PUSH_STATE_MAP["posting_created"] is S.new
    assert PUSH_STATE_MAP["posting_conditionally_delivered"] is S.delivered


# ------------------------------------------------------------------------------------- errors & secrets


def test_non_json_error_bodies_become_typed_errors() -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    bad_gateway = error_from_response(502, html, {})
    assert isinstance(bad_gateway, TransientApiError) and bad_gateway.retryable
    assert bad_gateway.message == "502 Bad Gateway"
    empty = error_from_response(405, b"", {})
    assert isinstance(empty, InvalidRequest) and empty.message == "HTTP 405 with an empty body"


def test_rate_limit_auth_not_found_and_labels() -> None:
    limited = error_from_response(
        429, b'{"code":8,"message":"You have reached request rate limit per second"}', {"retry-after": "1"}
    )
    assert isinstance(limited, RateLimited) and limited.retry_after == 1.0
    denied = error_from_response(403, b'{"code":7,"message":"Invalid Api-Key, please contact support"}', {})
    assert isinstance(denied, PermissionDenied) and isinstance(denied, MarketplaceAuthError)
    missing = error_from_response(404, b'{"code":5,"message":"POSTING_NOT_FOUND"}', {})
    assert isinstance(missing, NotFound) and isinstance(missing, MarketplaceNotFound)
    labels = error_from_response(400, b'{"code":3,"message":"The next postings aren\'t ready: 1-1"}', {})
    assert isinstance(labels, LabelsNotReady) and labels.retryable


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = utc(2026, 11, 27, 12)
    assert parse_retry_after("2", now=now) == 2.0
    assert parse_retry_after("Fri, 27 Nov 2026 12:00:05 GMT", now=now) == 5.0
    assert parse_retry_after("soon", now=now) is None


def test_credentials_never_show_the_api_key() -> None:
    creds = OzonCredentials(client_id="123456789", api_key="super-secret-key")
    assert "super-secret-key" not in repr(creds) and "123456789" not in repr(creds)
