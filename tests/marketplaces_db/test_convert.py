"""Pure mapping MarketplaceOrder -> OrderCreate (no database): never a shape intake would refuse."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from zakaz.marketplaces.base import MarketplaceAddress, MarketplaceCustomer, MarketplaceLine, MarketplaceOrder
from zakaz.marketplaces.convert import country_code, to_order_create
from zakaz.marketplaces.mappings import Lookups, WarehouseTarget
from zakaz.orders.rules import Limits, check_address, check_customer

LIMITS = Limits(10_000, 500)
WAREHOUSE = WarehouseTarget(1, "MSK", "Склад Москва", "ул. Складская, 1", "Москва", "", 55.75, 37.61)
ORDER = MarketplaceOrder(
    channel="ozon",
    external_id="1234-0001-1",
    external_order_number="1234-0001",
    external_status="awaiting_packaging",
    external_substatus="posting_created",
    status_hint=None,
    needs_attention=False,
    ship_by=datetime(2026, 12, 1, 10, tzinfo=UTC),
    created_at=None,
    warehouse_id="15110442724000",
    delivery_method="Ozon Логистика",
    tracking_number=None,
    currency="RUB",
    lines=(
        MarketplaceLine("PH11042", "185479045", "Чайник", 2, 4500_00),
        MarketplaceLine("", "999", "", 1, 10_00),
    ),
)
LOOKUPS = Lookups(warehouses={"15110442724000": WAREHOUSE}, offers={"УТ-1": "UT-1"})
KW = {"placeholder_name": "Покупатель Ozon", "placeholder_email": "ozon-{order}@marketplace.example"}


def valid(conversion: object) -> None:
    data = conversion.data  # type: ignore[attr-defined]
    assert check_customer(data.customer, LIMITS) == []
    assert check_address(data.shipping_address, data.customer.name) == []


def test_fbs_without_buyer_uses_placeholder_and_warehouse_address() -> None:
    c = to_order_create(ORDER, LOOKUPS, **KW)
    valid(c)
    assert c.placeholder_contact and c.address_source == "warehouse" and c.warehouse == WAREHOUSE
    assert c.data.customer.email == "ozon-1234-0001@marketplace.example"
    assert (c.data.shipping_address.latitude, c.data.shipping_address.city) == (55.75, "Москва")
    assert [ln.sku for ln in c.data.lines] == ["PH11042", "ozon-sku-999"]
    assert c.data.payment_status == "paid" and c.data.external_id == "1234-0001-1"


def test_buyer_with_substitute_phone_and_bad_postcode() -> None:
    order = replace(
        ORDER,
        customer=MarketplaceCustomer(name="Иван", phone="12345", email="not-an-email"),
        address=MarketplaceAddress(country="Россия", city="Подольск", postcode="1421", line="ул. Ленина, 1"),
    )
    c = to_order_create(order, LOOKUPS, **KW)
    valid(c)
    assert c.placeholder_contact and c.data.customer.name == "Иван"
    assert c.address_source == "buyer" and c.data.shipping_address.postcode == ""


def test_unknown_warehouse_gives_an_unlocatable_address() -> None:
    c = to_order_create(replace(ORDER, warehouse_id="42"), LOOKUPS, **KW)
    valid(c)
    assert c.warehouse is None and c.address_source == "unknown_warehouse"
    assert c.data.shipping_address.latitude is None and "42" in c.data.shipping_address.city


def test_mapped_offer_and_countries() -> None:
    order = replace(ORDER, lines=(MarketplaceLine("УТ-1", "1", "x", 1, 1),))
    assert to_order_create(order, LOOKUPS, **KW).data.lines[0].sku == "UT-1"
    assert [country_code(x) for x in ("Россия", "kz", None, "Беларусь", "Марс")] == [
        "RU",
        "KZ",
        "RU",
        "BY",
        "RU",
    ]
