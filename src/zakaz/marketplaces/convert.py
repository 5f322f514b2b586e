"""Pure: a :class:`MarketplaceOrder` -> our :class:`OrderCreate`, shaped so that intake never refuses it.

Marketplace orders are already paid and accepted by the marketplace, so nothing here may end in a 422:

* **Contact.** FBS postings carry no buyer (rFBS ones do, sometimes with a substitute phone). A phone or
  e-mail that does not validate is dropped; with neither left, the order gets the placeholder contact
  from settings: one customer per Ozon order (``ozon-<order number>@marketplace.example``, on the
  reserved ``.example`` domain), muted for e-mail/SMS/push by the service.
* **Address.** rFBS: the buyer's address when it has a city and a street (or a pickup point). Otherwise
  (FBS: Ozon collects the parcel) the address is the *mapped warehouse* itself: the parcel's first
  destination is Ozon's drop-off there, and routing then naturally picks that warehouse (distance 0).
* **Unknown warehouse.** No address can be derived: the address is left without coordinates or a known
  city, so intake holds the order instead of reserving stock somewhere random; the service then
  replaces that hold with ``unknown_warehouse``.
* **Unknown SKU.** Lines keep the marketplace article as SKU; intake (``unknown_sku_holds``) holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from zakaz.marketplaces.base import MarketplaceAddress, MarketplaceOrder
from zakaz.marketplaces.mappings import Lookups, WarehouseTarget
from zakaz.orders import rules
from zakaz.orders.schemas import AddressIn, CustomerIn, LineIn, OrderCreate

COUNTRIES = {
    "россия": "RU",
    "russia": "RU",
    "российская федерация": "RU",
    "беларусь": "BY",
    "belarus": "BY",
    "казахстан": "KZ",
    "kazakhstan": "KZ",
    "армения": "AM",
    "кыргызстан": "KG",
    "узбекистан": "UZ",
}
UNKNOWN_WAREHOUSE_CITY = "Ozon warehouse"


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None
    phone: str | None
    placeholder: bool


@dataclass(frozen=True)
class Conversion:
    data: OrderCreate
    warehouse: WarehouseTarget | None  # None: the marketplace warehouse is not mapped
    placeholder_contact: bool
    address_source: str  # "buyer", "warehouse" or "unknown_warehouse"


def country_code(value: str | None) -> str:
    if not value:
        return "RU"
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return COUNTRIES.get(text.lower(), "RU")


def contact(
    order: MarketplaceOrder, *, phone_region: str, placeholder_name: str, placeholder_email: str
) -> Contact:
    c = order.customer
    name = (c.name if c and c.name else "")[:255]
    phone = email = None
    if c and c.phone:
        try:
            phone = rules.normalise_phone(c.phone, phone_region)
        except ValueError:
            phone = None
    if c and c.email:
        try:
            email = rules.normalise_email(c.email)
        except ValueError:
            email = None
    if phone or email:
        return Contact(name or placeholder_name, email, phone, placeholder=False)
    return Contact(
        name or placeholder_name, placeholder_address(order, placeholder_email), None, placeholder=True
    )


def placeholder_address(order: MarketplaceOrder, template: str) -> str:
    """``ozon-{order}@marketplace.example`` with the Ozon order number (postings of one order share it)."""
    key = order.external_order_number or order.external_id
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in key).strip(".-")[:50] or "unknown"
    return template.replace("{order}", safe).lower()


def _buyer_address(a: MarketplaceAddress, name: str) -> AddressIn | None:
    line1 = a.line or (f"ПВЗ {a.pickup_point_code}" if a.pickup_point_code else "")
    if not (a.city and line1):
        return None
    country = country_code(a.country)
    postcode = (a.postcode or "").strip()
    if country == "RU" and not (len(postcode) == 6 and postcode.isdigit()):
        postcode = ""
    has_point = a.lat is not None and a.lon is not None and -90 <= a.lat <= 90 and -180 <= a.lon <= 180
    return AddressIn(
        name=name,
        country=country,
        region=(a.region or "")[:120],
        city=a.city[:120],
        postcode=postcode[:16],
        line1=line1[:255],
        line2=(f"ПВЗ {a.pickup_point_code}" if a.line and a.pickup_point_code else "")[:255],
        latitude=a.lat if has_point else None,
        longitude=a.lon if has_point else None,
    )


def _warehouse_address(w: WarehouseTarget, order: MarketplaceOrder) -> AddressIn:
    has_point = w.latitude is not None and w.longitude is not None
    return AddressIn(
        name=f"Ozon: {order.delivery_method or 'FBS'}"[:255],
        country="RU",
        region=w.region[:120],
        city=(w.city or w.name or w.code)[:120],
        line1=(w.address or f"{w.name} ({w.code})")[:255],
        latitude=w.latitude if has_point else None,
        longitude=w.longitude if has_point else None,
    )


def _unknown_warehouse_address(order: MarketplaceOrder) -> AddressIn:
    where = order.warehouse_id or "?"
    return AddressIn(
        name="Ozon",
        country="RU",
        city=f"{UNKNOWN_WAREHOUSE_CITY} {where}"[:120],
        line1=f"unmapped Ozon warehouse {where}"[:255],
    )


def to_order_create(
    order: MarketplaceOrder,
    lookups: Lookups,
    *,
    phone_region: str = "RU",
    placeholder_name: str,
    placeholder_email: str,
) -> Conversion:
    who = contact(
        order,
        phone_region=phone_region,
        placeholder_name=placeholder_name,
        placeholder_email=placeholder_email,
    )
    warehouse = lookups.warehouses.get(order.warehouse_id or "")
    address = _buyer_address(order.address, who.name) if order.address else None
    source = "buyer"
    if address is None and warehouse is not None:
        address, source = _warehouse_address(warehouse, order), "warehouse"
    elif address is None:
        address, source = _unknown_warehouse_address(order), "unknown_warehouse"
    lines = [
        LineIn(
            sku=lookups.our_sku(line),
            quantity=line.quantity,
            unit_price_minor=line.unit_price_minor,
            name=line.name[:255] or None,
        )
        for line in order.lines
    ]
    note = f"Ozon {order.external_id}" + (f", {order.delivery_method}" if order.delivery_method else "")
    data = OrderCreate(
        channel=order.channel,
        external_id=order.external_id,
        currency=order.currency,
        customer=CustomerIn(name=who.name, email=who.email, phone=who.phone),
        shipping_address=address,
        lines=lines,
        payment_status="paid",
        ship_by=order.ship_by,
        note=note[:2000],
    )
    return Conversion(data, warehouse, who.placeholder, source)
