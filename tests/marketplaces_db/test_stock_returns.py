"""Stock push (batching, per-pair 30 s rule, debounce, refusals) and the returns pull, against the fake."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import add_product, set_stock
from tests.marketplaces_db.conftest import OUR_SKU, Ozon
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.marketplaces.models import MarketplaceReturn, MarketplaceStock
from zakaz.marketplaces.ozon.fake_server import seed_postings, seed_returns
from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE, RFBS_WAREHOUSE
from zakaz.marketplaces.returns import pull_returns
from zakaz.marketplaces.stock import StockReport, push_stocks
from zakaz.marketplaces.sync import sync_orders

STOCKS = "/v2/products/stocks"


def push(ozon: Ozon, now_offset: float = 0.0) -> StockReport:
    return push_stocks(
        ozon.engine,
        ozon.connection_id,
        settings=ozon.settings,
        factory=ozon.factory,
        now=utcnow() + timedelta(seconds=now_offset),
    )


def test_first_push_sends_every_mapped_pair_in_one_call(ozon: Ozon) -> None:
    report = push(ozon)
    assert ozon.state.calls_to(STOCKS) == 1
    [body] = ozon.state.bodies(STOCKS)
    assert len(body["stocks"]) == 10  # 5 offers x 2 mapped warehouses
    offers = {i["offer_id"] for i in body["stocks"]}
    assert "УТ-0001365" in offers and OUR_SKU["УТ-0001365"] not in offers  # mapped back to Ozon's article
    assert {i["warehouse_id"] for i in body["stocks"]} == {FBS_WAREHOUSE, RFBS_WAREHOUSE}
    assert ozon.state.stocks[("PH11042", FBS_WAREHOUSE)] == 50
    assert report.accepted == 10
    push(ozon, 60)
    assert ozon.state.calls_to(STOCKS) == 1  # nothing changed: nothing sent


def test_many_changes_coalesce_and_respect_30_seconds(ozon: Ozon) -> None:
    push(ozon)
    for qty in range(30, 10, -1):  # twenty changes of two products
        set_stock(ozon.engine, "MSK", "PH11042", qty)
        set_stock(ozon.engine, "MSK", "205953", qty + 1)
    push(ozon, 5)  # within 30 s of the last push of these pairs: wait
    assert ozon.state.calls_to(STOCKS) == 1
    ozon.clock.advance(31)
    push(ozon, 31)
    assert ozon.state.calls_to(STOCKS) == 2
    body = ozon.state.bodies(STOCKS)[1]
    assert sorted((i["offer_id"], i["stock"]) for i in body["stocks"]) == [("205953", 12), ("PH11042", 11)]
    assert ozon.state.stocks[("PH11042", FBS_WAREHOUSE)] == 11


def test_reservations_lower_free_stock(ozon: Ozon) -> None:
    push(ozon)
    [number] = seed_postings(ozon.state, 1)
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    ozon.clock.advance(31)
    push(ozon, 31)
    body = ozon.state.bodies(STOCKS)[-1]
    ordered = {p["offer_id"]: p["quantity"] for p in ozon.state.postings[number]["products"]}
    assert {(i["offer_id"], i["stock"]) for i in body["stocks"]} == {(o, 50 - q) for o, q in ordered.items()}


def test_batches_of_100_and_refusals_recorded_once(ozon: Ozon) -> None:
    for i in range(110):  # not on Ozon: the fake refuses them (offer_id_not_found)
        add_product(ozon.engine, f"LOCAL-{i:03d}")
        set_stock(ozon.engine, "MSK", f"LOCAL-{i:03d}", 3)
    report = push(ozon)
    sizes = [len(b["stocks"]) for b in ozon.state.bodies(STOCKS)]
    assert sizes == [100, 20]  # 115 pairs at MSK's Ozon warehouse + 5 at SPB's, 100 per call at most
    assert (report.accepted, report.refused) == (10, 110)
    with unit_of_work(ozon.engine, read_only=True) as s:
        refused = s.scalars(select(MarketplaceStock).where(MarketplaceStock.last_error.is_not(None))).all()
        assert len(refused) == 110 and "offer_id_not_found" in (refused[0].last_error or "")
    ozon.clock.advance(31)
    push(ozon, 31)
    assert len(ozon.state.bodies(STOCKS)) == 2  # refused pairs are not resent until they change


def test_returns_are_pulled_once(ozon: Ozon) -> None:
    seed_returns(ozon.state, 3)
    first = pull_returns(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert (first.seen, first.created, first.failed) == (3, 3, None)
    second = pull_returns(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert second.created == 0
    with unit_of_work(ozon.engine, read_only=True) as s:
        rows = s.scalars(select(MarketplaceReturn).order_by(MarketplaceReturn.id)).all()
        assert len(rows) == 3 and rows[0].kind == "FullReturn" and rows[0].status == "ArrivedAtReturnPlace"
        assert rows[0].unit_price_minor is not None and rows[0].posting_number
