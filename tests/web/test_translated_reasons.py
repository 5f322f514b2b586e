"""Hold and allocation reasons on the order page, in the reader's language, from the data stored with them."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tests.factories import order_payload, shows_currency
from tests.web.conftest import Shop, WebClient, receive
from zakaz.config import Settings
from zakaz.db import unit_of_work
from zakaz.orders.models import Order


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def holds_box(page: str) -> str:
    return text_of(page.split('id="holds-title"')[1].split("</article>")[0])


def plan_box(page: str) -> str:
    return text_of(page.split('id="plan-title"')[1].split("</section>")[0])


def test_high_value_first_order_and_allocation_reason_in_english_and_chinese(
    as_role: Callable[[str], WebClient], shop: Shop, engine: Engine, settings: Settings
) -> None:
    yuan = receive(
        engine,
        settings,
        order_payload(
            [("SKU-2", 1)], price=6_000_000, currency="CNY", email="cn@example.ru", phone="+7 916 777-00-01"
        ),
    )
    web = as_role("admin")
    en = holds_box(web.get(f"/orders/{yuan}").text)
    assert "High-value first order" in en
    assert "first order worth CN¥60,000.00 is above the review limit CN¥50,000.00" in en
    assert "60000.00" not in en  # not the stored English detail
    plan_en = plan_box(web.get(f"/orders/{shop.allocated}").text)
    assert "fills the whole order;" in plan_en and "; preferred over SPB" in plan_en
    assert "km away; priority" in plan_en

    web.submit("/account/language", {"locale": "zh_Hans"})
    zh = holds_box(web.get(f"/orders/{yuan}").text)
    assert "高金额首单" in zh and "首单金额 ¥60,000.00 超过审核限额 ¥50,000.00" in zh
    assert "first order" not in zh and "CN¥" not in zh
    plan_zh = plan_box(web.get(f"/orders/{shop.allocated}").text)
    assert "可发出整单；距离" in plan_zh and "公里；优先级" in plan_zh and "；优先于 SPB" in plan_zh
    assert "fills the whole order" not in plan_zh and "已选用" in plan_zh  # the considered table too


def test_warehouse_staff_read_the_hold_without_the_amounts(
    as_role: Callable[[str], WebClient], shop: Shop
) -> None:
    box = holds_box(as_role("warehouse").get(f"/orders/{shop.held}").text)
    assert "first order above the review limit" in box
    assert "60,000" not in box and "60000" not in box and not shows_currency(box)


def test_older_rows_without_params_show_the_stored_english(
    as_role: Callable[[str], WebClient], shop: Shop, engine: Engine
) -> None:
    old_hold = {
        "code": "first_order_high_value",
        "detail": "first order worth 60000.00 is above the review limit 50000.00",
    }
    with unit_of_work(engine) as session:
        plan = session.scalar(select(Order.allocation).where(Order.number == shop.allocated))
        assert plan is not None
        for leg in plan["legs"]:
            del leg["reason_code"], leg["reason_params"]
            leg["reason"] = "fills the whole order; 3 km away; priority 1"
        for row in plan["considered"]:
            del row["wanted_units"]
        session.execute(update(Order).where(Order.number == shop.held).values(hold_reasons=[old_hold]))
        session.execute(update(Order).where(Order.number == shop.allocated).values(allocation=plan))
    web = as_role("admin")
    web.submit("/account/language", {"locale": "zh_Hans"})
    assert "高金额首单 — first order worth 60000.00 is above the review limit 50000.00" in holds_box(
        web.get(f"/orders/{shop.held}").text
    )
    plan_zh = plan_box(web.get(f"/orders/{shop.allocated}").text)
    assert "fills the whole order; 3 km away; priority 1" in plan_zh and "could fill the order" in plan_zh
    # warehouse staff do not get the amounts from an old English sentence either
    assert "60000" not in holds_box(as_role("warehouse").get(f"/orders/{shop.held}").text)
