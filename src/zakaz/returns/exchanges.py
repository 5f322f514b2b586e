"""Exchanges: the replacement order, created through intake like any order and linked to the original.

The replacement is priced at today's catalogue prices; the returned units' value (price paid after
discount) is its discount, up to its subtotal. Costing more leaves a charge note on the replacement (its
payment is pending) and an ``exchange_charge`` row in the order's ledger (issue #6: what the shopper owes,
collected when the exchange is settled); costing less leaves a difference that settling the exchange
refunds. Marketplace orders are never exchanged here (``service.open_return`` refuses them).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zakaz.catalog.models import Product
from zakaz.customers.models import Customer
from zakaz.orders.intake import IntakeConfig, receive
from zakaz.orders.models import Order
from zakaz.orders.schemas import AddressIn, CustomerIn, LineIn, OrderCreate
from zakaz.returns.config import ReturnsSettings
from zakaz.returns.models import ReturnRequest
from zakaz.returns.service import lines_of, note_return


def create_replacement(
    session: Session,
    ret: ReturnRequest,
    *,
    order: Order,
    actor: str,
    intake: IntakeConfig,
    settings: ReturnsSettings,
) -> int:
    from zakaz.returns.money import exchange_credit, record_charge

    lines = lines_of(session, ret.id)
    prices = dict(
        session.execute(
            select(Product.sku, Product.price_minor).where(Product.sku.in_({ln.exchange_sku for ln in lines}))
        ).all()
    )
    new_lines = [
        LineIn(
            sku=ln.exchange_sku or ln.sku,
            quantity=ln.quantity,
            unit_price_minor=prices.get(ln.exchange_sku or ln.sku, 0),
        )
        for ln in lines
    ]
    subtotal = sum(ln.quantity * ln.unit_price_minor for ln in new_lines)
    credit = exchange_credit(session, ret, order)
    charge = max(subtotal - credit, 0)
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    note = f"Exchange {ret.number} for order {order.number}"
    if charge:
        note += f"; the shopper pays the difference of {charge / 100:.2f} {order.currency}"
    data = OrderCreate(
        channel=order.channel,
        external_id=f"exchange:{ret.number}",
        currency=order.currency,
        customer=CustomerIn(
            name=order.contact_name,
            email=order.contact_email,
            phone=order.contact_phone,
            locale=customer.locale if customer and customer.locale in ("ru", "en", "zh") else "ru",
        ),
        shipping_address=AddressIn(
            name=order.ship_name,
            country=order.ship_country,
            region=order.ship_region,
            city=order.ship_city,
            postcode=order.ship_postcode,
            line1=order.ship_line1,
            line2=order.ship_line2,
            latitude=order.ship_latitude,
            longitude=order.ship_longitude,
        ),
        lines=new_lines,
        discount_minor=min(credit, subtotal),
        payment_status="pending" if charge else "paid",
        note=note,
    )
    result = receive(session, data, actor=actor, config=intake)
    ret.replacement_order_id = result.order_id
    number = session.scalar(select(Order.number).where(Order.id == result.order_id))
    note_return(
        session,
        ret,
        order,
        type_="replacement_created",
        actor=actor,
        note=note,
        data={
            "replacement": number,
            "credit_minor": credit,
            "charge_minor": charge,
            "difference_minor": max(credit - subtotal, 0),
        },
    )
    if charge:
        record_charge(
            session,
            ret,
            order,
            charge,
            provider=settings.payment_provider,
            actor=actor,
            explanation=[
                {"line_no": None, "text": "replacement at today's prices", "amount_minor": subtotal},
                {"line_no": None, "text": "returned units at the price paid", "amount_minor": -credit},
            ],
        )
    return result.order_id
