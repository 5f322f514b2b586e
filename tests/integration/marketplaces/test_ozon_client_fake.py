"""OzonClient / OzonAdapter against the fake Ozon Seller API running on loopback (real HTTP, virtual time).

Client and fake share one VirtualClock: rate-limit waits, Retry-After, backoff and the 30-s / 45-s rules all
run instantly while the HTTP traffic is real.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from zakaz.marketplaces.base import PackageItem, ShipmentPackage, StockUpdate
from zakaz.marketplaces.ozon.adapter import OzonAdapter
from zakaz.marketplaces.ozon.client import OzonClient, OzonCredentials, RetryPolicy
from zakaz.marketplaces.ozon.endpoints import E
from zakaz.marketplaces.ozon.errors import (
    InvalidRequest,
    LabelsNotReady,
    OzonTransportError,
    PerItemError,
    PermissionDenied,
    RateLimited,
    TransientApiError,
)
from zakaz.marketplaces.ozon.fake_server import FakeOzonState, running_fake_ozon, seed_postings, seed_returns
from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE, RFBS_WAREHOUSE
from zakaz.marketplaces.ozon.ratelimit import VirtualClock
from zakaz.orders.states import OrderStatus as S


@dataclass
class Env:
    url: str
    state: FakeOzonState
    clock: VirtualClock
    client: OzonClient
    adapter: OzonAdapter

    def new_client(self, **kw: object) -> OzonClient:
        creds = kw.pop("credentials", OzonCredentials(self.state.client_id, self.state.api_key))
        return OzonClient(creds, base_url=self.url, clock=self.clock, rng=random.Random(0), **kw)  # type: ignore[arg-type]

    def window(self) -> dict[str, object]:
        now = self.state.now()
        return {"ship_by_from": now - timedelta(days=5), "ship_by_to": now + timedelta(days=5)}


@pytest.fixture
def env() -> Iterator[Env]:
    clock = VirtualClock()
    with running_fake_ozon(FakeOzonState(clock=clock)) as (url, state):
        creds = OzonCredentials(state.client_id, state.api_key)
        client = OzonClient(creds, base_url=url, timeout=2.0, clock=clock, rng=random.Random(0))
        yield Env(url, state, clock, client, OzonAdapter(client, page_size=10))
        client.close()


# ------------------------------------------------------------------------------------------- pagination


def test_v3_offset_pagination_reads_every_posting_once(env: Env) -> None:
    numbers = seed_postings(env.state, 25)
    adapter = OzonAdapter(env.client, list_version=3, page_size=10)
    orders = list(adapter.list_unfulfilled(**env.window()))  # type: ignore[arg-type]
    assert [o.external_id for o in orders] == numbers  # ASC by creation, no gaps, no duplicates
    assert [b["offset"] for b in env.state.bodies(E.UNFULFILLED_V3.path)] == [0, 10, 20]
    assert all(
        isinstance(b["filter"], dict) and "delivering_date_from" not in b["filter"]
        for b in env.state.bodies(E.UNFULFILLED_V3.path)
    )


def test_v4_cursor_pagination_and_rfbs_customer(env: Env) -> None:
    numbers = seed_postings(env.state, 23, rfbs=True)
    orders = list(env.adapter.list_unfulfilled(**env.window()))  # type: ignore[arg-type]
    assert sorted(o.external_id for o in orders) == sorted(numbers)
    bodies = env.state.bodies(E.UNFULFILLED_V4.path)
    assert len(bodies) == 3 and "cursor" not in bodies[0] and bodies[1]["cursor"] != bodies[2]["cursor"]
    first = orders[0]
    assert first.customer is not None and first.customer.phone is not None and first.customer.email is None
    assert first.address is not None and first.address.city == "Подольск" and first.address.lat is not None
    assert first.fulfilment_scheme == "non_integrated" and first.warehouse_id == str(RFBS_WAREHOUSE)


def test_returns_last_id_pagination(env: Env) -> None:
    ids = seed_returns(env.state, 12)
    now = env.state.now()
    adapter = OzonAdapter(env.client, page_size=5)
    returns = list(adapter.list_returns(since=now - timedelta(days=2), until=now))
    assert [r.external_id for r in returns] == ids
    last_ids = [b["last_id"] for b in env.state.bodies(E.RETURNS.path)]
    assert last_ids == [0, int(ids[4]), int(ids[9])] and returns[0].unit_price_minor is not None


def test_list_changed_returns_only_postings_whose_status_changed(env: Env) -> None:
    numbers = seed_postings(env.state, 5)
    since = env.state.now()
    env.clock.advance(60)
    env.adapter.cancel(numbers[2], reason_id="352")
    changed = list(env.adapter.list_changed(since=since, until=env.state.now() + timedelta(minutes=1)))
    assert [(o.external_id, o.status_hint, o.cancel_reason) for o in changed] == [
        (numbers[2], S.cancelled, "Товар закончился на складе продавца")
    ]


# -------------------------------------------------------------------------------------------- resilience


def test_429_storm_waits_retry_after_then_succeeds(env: Env) -> None:
    [number] = seed_postings(env.state, 1)
    env.state.rate_limit_storm(3, retry_after=2, path=E.GET.path)
    order = env.adapter.get(number)
    assert order.external_id == number
    assert env.state.calls_to(E.GET.path) == 4
    assert sum(1 for s in env.clock.sleeps if 2.0 <= s < 2.2) == 3


def test_endless_429_surfaces_a_typed_rate_limited_error(env: Env) -> None:
    env.state.rate_limit_storm(50, retry_after=1)
    with pytest.raises(RateLimited) as info:
        env.adapter.list_cancel_reasons()
    assert info.value.retry_after == 1.0 and info.value.http_status == 429 and info.value.code == 8


def test_timeout_on_a_read_is_retried(env: Env) -> None:
    [number] = seed_postings(env.state, 1)
    env.state.add_latency(0.6, path=E.GET.path)
    client = env.new_client(timeout=0.2)
    assert OzonAdapter(client).get(number).external_id == number
    assert env.state.calls_to(E.GET.path) == 2
    client.close()


def test_timeout_on_ship_is_not_blindly_repeated(env: Env) -> None:
    [number] = seed_postings(env.state, 1)
    posting = env.state.postings[number]
    package = ShipmentPackage(tuple(PackageItem(str(p["sku"]), p["quantity"]) for p in posting["products"]))
    env.state.add_latency(0.4, path=E.SHIP.path)
    client = env.new_client(timeout=0.1)
    with pytest.raises(OzonTransportError):
        OzonAdapter(client).ship(number, [package])
    client.close()
    # the request reached Ozon (which may still apply it) and was sent once: not repeated after the timeout
    deadline = time.monotonic() + 2
    while env.state.calls_to(E.SHIP.path) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # past the injected latency: a blind retry would have arrived by now
    assert env.state.calls_to(E.SHIP.path) == 1


def test_html_502_and_empty_405_become_typed_errors(env: Env) -> None:
    env.state.malformed("html_502", n=10)
    with pytest.raises(TransientApiError) as bad_gateway:
        env.adapter.list_cancel_reasons()
    assert bad_gateway.value.http_status == 502 and bad_gateway.value.message == "502 Bad Gateway"
    env.state.faults.clear()
    env.state.malformed("empty_405", n=1)
    with pytest.raises(InvalidRequest) as not_allowed:
        env.adapter.list_cancel_reasons()
    assert not_allowed.value.http_status == 405
    assert env.adapter.list_cancel_reasons()  # the 405 was not retried, so the next call is served


def test_one_502_or_broken_json_is_retried_transparently(env: Env) -> None:
    env.state.malformed("html_502", n=1)
    env.state.malformed("malformed_json", n=1)
    assert len(env.adapter.list_cancel_reasons()) == 5


def test_wrong_key_is_permission_denied_and_never_logged(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = env.new_client(credentials=OzonCredentials(env.state.client_id, "wrong-secret-key-123"))
    with pytest.raises(PermissionDenied) as info:
        OzonAdapter(client).list_cancel_reasons()
    assert info.value.code == 7 and "wrong-secret-key-123" not in str(info.value)
    env.state.rate_limit_storm(1)
    env.adapter.list_cancel_reasons()
    assert "wrong-secret-key-123" not in caplog.text and env.state.api_key not in caplog.text
    assert env.state.api_key not in repr(env.client) and "wrong-secret-key" not in repr(client)
    missing = httpx.post(f"{env.url}{E.CANCEL_REASONS.path}", json={})
    assert missing.status_code == 401 and missing.json()["code"] == 16
    client.close()


def test_client_stays_under_global_and_per_method_limits(env: Env) -> None:
    numbers = seed_postings(env.state, 3)
    for _ in range(60):
        env.adapter.list_cancel_reasons()
    for number in numbers * 2:
        env.adapter.get(number)
    env.client.call(E.WAREHOUSES)
    env.client.call(E.WAREHOUSES)  # 1/min: waits a virtual minute instead of earning a 429
    assert env.state.throttled == 0  # Ozon never had to answer 429
    assert sum(env.clock.sleeps) >= 60.0  # the waiting happened on our side instead


# ---------------------------------------------------------------------------------------------- actions


def _package(env: Env, number: str) -> ShipmentPackage:
    products = env.state.postings[number]["products"]
    return ShipmentPackage(tuple(PackageItem(str(p["sku"]), p["quantity"]) for p in products))


def test_ship_only_from_awaiting_packaging(env: Env) -> None:
    a, b = seed_postings(env.state, 2)
    assert env.adapter.ship(a, [_package(env, a)]) == (a,)
    assert env.adapter.get(a).status_hint is S.packed
    with pytest.raises(InvalidRequest, match="POSTING_ALREADY_SHIPPED"):
        env.adapter.ship(a, [_package(env, a)])
    wrong_qty = ShipmentPackage(
        tuple(PackageItem(i.marketplace_sku, i.quantity + 1) for i in _package(env, b).items)
    )
    with pytest.raises(InvalidRequest, match="HAS_INCORRECT_PRODUCT_QUANTITY"):
        env.adapter.ship(b, [wrong_qty])
    env.adapter.cancel(b, reason_id="352")
    with pytest.raises(InvalidRequest, match="POSTING_ALREADY_CANCELLED"):
        env.adapter.ship(b, [_package(env, b)])
    assert env.state.calls_to(E.SHIP.path) == 4  # each guard answered 400 once; nothing was retried


def test_labels_wait_until_ready_after_assembly(env: Env) -> None:
    a, b = seed_postings(env.state, 2)
    env.adapter.ship(a, [_package(env, a)])
    pdf = env.adapter.get_labels([a])
    assert pdf.startswith(b"%PDF") and a.encode() in pdf
    assert env.clock.sleeps.count(20.0) == 3  # 0 s, 20 s, 40 s "not ready"; ready at 60 s (>= 45 s)
    with pytest.raises(InvalidRequest) as info:  # not assembled: waiting would not help
        env.adapter.get_labels([b])
    assert not isinstance(info.value, LabelsNotReady)


def test_rfbs_tracking_delivering_delivered(env: Env) -> None:
    [fbs] = seed_postings(env.state, 1)
    [rfbs] = seed_postings(env.state, 1, seed=2, rfbs=True)
    with pytest.raises(PerItemError) as info:
        env.adapter.set_tracking(fbs, "RR123456785RU")
    assert info.value.items[0].code == "HAS_INCORRECT_TPL_INTEGRATION_TYPE"
    env.adapter.ship(rfbs, [_package(env, rfbs)])
    env.adapter.set_tracking(rfbs, "RR123456785RU")
    env.adapter.mark_delivering([rfbs])
    assert env.adapter.get(rfbs).status_hint is S.shipped
    env.adapter.mark_delivered([rfbs])
    order = env.adapter.get(rfbs)
    assert (order.status_hint, order.tracking_number) == (S.delivered, "RR123456785RU")
    with pytest.raises(InvalidRequest, match="TRANSITION_IS_NOT_POSSIBLE"):
        env.adapter.cancel(rfbs, reason_id="352")


def test_cancel_reason_must_be_available(env: Env) -> None:
    [number] = seed_postings(env.state, 1)
    with pytest.raises(InvalidRequest, match="HAS_INCORRECT_CANCEL_REASON"):
        env.adapter.cancel(number, reason_id="401")
    with pytest.raises(InvalidRequest, match="HAS_INCORRECT_CANCEL_REASON"):
        env.adapter.cancel(number, reason_id="402")  # "other" needs a message
    env.adapter.cancel(number, reason_id="402", comment="Повреждён при упаковке")
    assert env.adapter.get(number).status_hint is S.cancelled


def test_stock_push_batches_by_100_and_respects_the_30_second_rule(env: Env) -> None:
    env.state.offers.update({f"OFF-{i:03d}": 900000 + i for i in range(125)})
    updates = [
        StockUpdate(f"OFF-{i:03d}", str(w), i) for i in range(125) for w in (FBS_WAREHOUSE, RFBS_WAREHOUSE)
    ]
    results = env.adapter.push_stocks([*updates, StockUpdate("OFF-000", str(FBS_WAREHOUSE), 7)])
    assert [len(b["stocks"]) for b in env.state.bodies(E.STOCKS.path)] == [100, 100, 50]
    assert len(results) == 250 and all(r.updated for r in results)
    assert env.state.stocks[("OFF-000", FBS_WAREHOUSE)] == 7  # the duplicate was coalesced, last one wins

    [again] = env.adapter.push_stocks([StockUpdate("OFF-000", str(FBS_WAREHOUSE), 3)])
    assert not again.updated and again.retryable and again.errors[0].code == "TOO_MANY_REQUESTS"
    assert env.state.stocks[("OFF-000", FBS_WAREHOUSE)] == 7
    env.clock.advance(30)
    [later] = env.adapter.push_stocks([StockUpdate("OFF-000", str(FBS_WAREHOUSE), 3)])
    assert later.updated and env.state.stocks[("OFF-000", FBS_WAREHOUSE)] == 3

    [unknown] = env.adapter.push_stocks([StockUpdate("NOPE", str(FBS_WAREHOUSE), 1)])
    assert not unknown.updated and not unknown.retryable and unknown.errors[0].code == "offer_id_not_found"


def test_retry_policy_backoff_grows_and_is_jittered() -> None:
    policy, rng = RetryPolicy(base_delay=0.5, max_delay=10.0), random.Random(1)
    delays = [policy.backoff(n, rng) for n in range(1, 8)]
    assert 0.25 <= delays[0] <= 0.5 and 4.0 <= delays[4] <= 8.0 and all(d <= 10.0 for d in delays)


def test_warehouses_come_from_the_v2_list_page_by_page(env: Env) -> None:
    from zakaz.marketplaces.connections import list_ozon_warehouses

    found = list(env.client.iter_cursor(E.WAREHOUSES, {}, items_key="warehouses", limit=1))
    assert sorted(int(w["warehouse_id"]) for w in found) == sorted([FBS_WAREHOUSE, RFBS_WAREHOUSE])
    assert env.state.calls_to("/v2/warehouse/list") == 2  # one warehouse a page, following the cursor
    assert env.state.calls_to("/v1/warehouse/list") == 0  # v1 was disabled by Ozon on 2026-04-07
    assert env.state.throttled == 0 and sum(env.clock.sleeps) >= 60.0  # 1 call a minute, waited on our side
    listed = {w.external_id: w.is_rfbs for w in list_ozon_warehouses(env.client)}
    assert listed == {str(FBS_WAREHOUSE): False, str(RFBS_WAREHOUSE): True}
