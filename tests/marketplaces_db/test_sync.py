"""Sync against the fake: import once, holds for unknown SKUs / warehouses, 429 storms, bad postings."""

from __future__ import annotations

from sqlalchemy import select

from tests.marketplaces_db.conftest import Ozon
from zakaz.db import unit_of_work
from zakaz.marketplaces.models import MarketplacePosting, MarketplaceSyncError
from zakaz.marketplaces.ozon.fake_server import seed_postings
from zakaz.marketplaces.sync import sync_orders
from zakaz.marketplaces.syncstate import status_view


def test_sync_creates_orders_once(ozon: Ozon) -> None:
    numbers = seed_postings(ozon.state, 7)
    seed_postings(ozon.state, 3, seed=2, rfbs=True)
    first = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert (first.created, first.errors, first.listing_failed) == (10, 0, None)
    orders = ozon.orders()
    assert len(orders) == 10
    assert {o.status for o in orders} == {"allocated"}
    fbs = ozon.order(numbers[0])
    assert fbs.contact_name == ozon.settings.placeholder_name
    assert fbs.ship_city == "Москва" and fbs.allocation and fbs.allocation["legs"][0]["warehouse"] == "MSK"
    assert fbs.payment_status == "paid" and fbs.ship_by is not None
    assert fbs.contact_email and fbs.contact_email.endswith("@marketplace.example")
    with unit_of_work(ozon.engine, read_only=True) as s:
        from zakaz.notifications.models import Preference

        muted = s.execute(
            select(Preference.channel, Preference.enabled).where(Preference.customer_id == fbs.customer_id)
        )
        assert sorted(muted.all()) == [("email", False), ("push", False), ("sms", False)]

    second = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert (second.created, second.updated, second.errors) == (0, 0, 0)
    assert second.unchanged == second.seen == 10
    assert len(ozon.orders()) == 10
    with unit_of_work(ozon.engine, read_only=True) as s:
        view = status_view(s, ozon.connection_id)
    assert view["syncs"]["orders"]["status"] == "ok" and view["syncs"]["orders"]["cursor"]


def test_rfbs_buyer_contact_and_address(ozon: Ozon) -> None:
    [number] = seed_postings(ozon.state, 1, seed=5, rfbs=True)
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    order = ozon.order(number)
    assert order.contact_name.startswith("Покупатель ") and order.contact_phone
    assert order.ship_city == "Подольск" and order.ship_postcode == "142100"


def test_unknown_sku_holds_with_reason(ozon: Ozon) -> None:
    [number] = seed_postings(ozon.state, 1)
    ozon.state.postings[number]["products"][0]["offer_id"] = "NOT-IN-CATALOG"
    report = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert report.created == 1
    order = ozon.order(number)
    assert order.status == "on_hold"
    assert [h["code"] for h in order.hold_reasons] == ["unknown_sku"]
    assert "NOT-IN-CATALOG" in order.hold_reasons[0]["detail"]


def test_unknown_warehouse_holds_without_reserving(ozon: Ozon) -> None:
    [number] = seed_postings(ozon.state, 1)
    posting = ozon.state.postings[number]
    posting["delivery_method"]["warehouse_id"] = 99999999999999
    sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    order = ozon.order(number)
    assert order.status == "on_hold"
    assert [h["code"] for h in order.hold_reasons] == ["unknown_warehouse"]
    assert "99999999999999" in order.hold_reasons[0]["detail"]
    with unit_of_work(ozon.engine, read_only=True) as s:
        from zakaz.inventory.models import Reservation

        assert s.scalars(select(Reservation).where(Reservation.order_id == order.id)).all() == []


def test_rate_limit_storm_during_sync_still_completes(ozon: Ozon) -> None:
    seed_postings(ozon.state, 120)
    ozon.state.rate_limit_storm(4, retry_after=1.0)
    report = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert report.listing_failed is None and report.created == 120
    assert len(ozon.orders()) == 120
    assert any(sleep >= 1.0 for sleep in ozon.clock.sleeps)  # Retry-After honoured (virtual time)


def test_bad_posting_is_recorded_and_the_rest_continue(ozon: Ozon) -> None:
    numbers = seed_postings(ozon.state, 5)
    ozon.state.postings[numbers[2]]["products"][0]["price"] = "12.345"  # a fraction of a kopeck
    ozon.state.postings[numbers[3]]["products"][0]["quantity"] = 1_000_000  # absurd: intake refuses
    report = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert (report.created, report.errors) == (3, 2)
    with unit_of_work(ozon.engine, read_only=True) as s:
        errors = s.scalars(select(MarketplaceSyncError)).all()
        assert sorted(e.external_id or "" for e in errors) == sorted([numbers[2], numbers[3]])
        view = status_view(s, ozon.connection_id)
    assert view["syncs"]["orders"]["status"] == "partial"
    assert len(view["errors"]) == 2


def test_postings_first_seen_cancelled_are_recorded_not_imported(ozon: Ozon) -> None:
    [number] = seed_postings(ozon.state, 1, status="cancelled")
    report = sync_orders(ozon.engine, ozon.connection_id, settings=ozon.settings, factory=ozon.factory)
    assert report.skipped == 1 and ozon.orders() == []
    with unit_of_work(ozon.engine, read_only=True) as s:
        row = s.scalar(select(MarketplacePosting).where(MarketplacePosting.external_id == number))
        assert row is not None and row.order_id is None and "first seen" in row.note
