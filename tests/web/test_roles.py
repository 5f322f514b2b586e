"""Roles are enforced on the server for every POST; warehouse staff never receive money in the HTML."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.factories import shows_currency
from tests.web.conftest import Shop, WebClient
from zakaz.db import unit_of_work
from zakaz.orders.models import Order

ALLOWED = {
    # role: (may hold/release, may confirm/cancel, may adjust stock)
    "admin": (True, True, True),
    "operator": (True, True, True),
    "support": (True, False, False),
    "warehouse": (False, False, True),
    "readonly": (False, False, False),
}


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_each_role_may_do_exactly_its_actions(
    role: str, as_role: Callable[[str], WebClient], shop: Shop, status_of: Callable[[str], str]
) -> None:
    may_hold, may_write, may_stock = ALLOWED[role]
    web = as_role(role)
    release = web.submit(f"/orders/{shop.held}/release")
    assert release.status_code == (303 if may_hold else 403)
    assert status_of(shop.held) == ("allocated" if may_hold else "on_hold")
    cancel = web.submit(f"/orders/{shop.allocated}/cancel", {"reason": "test"})
    assert cancel.status_code == (303 if may_write else 403)
    assert status_of(shop.allocated) == ("cancelled" if may_write else "allocated")
    adjust = web.submit(
        "/stock/adjust", {"warehouse": "MSK", "sku": "SKU-3", "delta": "1", "reason": "receipt"}
    )
    assert adjust.status_code == (303 if may_stock else 403)
    bulk = web.submit("/orders/bulk", {"action": "confirm", "ids": ["1"]})
    assert bulk.status_code == (200 if may_write else 403)
    if not may_write:
        assert "Your role may not do this" in bulk.text


def test_pages_offer_only_what_the_role_and_the_status_allow(
    as_role: Callable[[str], WebClient], shop: Shop
) -> None:
    support = as_role("support")
    page = support.get(f"/orders/{shop.held}").text
    assert "Release hold" in page and "Cancel order" not in page
    board = support.get("/orders").text
    assert 'value="hold"' in board and 'value="cancel"' not in board
    readonly = as_role("readonly")
    assert 'name="ids"' not in readonly.get("/orders").text  # no bulk selection at all
    assert "Adjust stock" not in readonly.get("/stock").text


def test_warehouse_staff_get_no_money_in_any_page(as_role: Callable[[str], WebClient], shop: Shop) -> None:
    admin = as_role("admin")
    assert shows_currency(admin.get("/orders").text) and shows_currency(
        admin.get(f"/orders/{shop.held}").text
    )
    warehouse = as_role("warehouse")
    for path in (
        "/",
        "/orders",
        "/orders?sort=total&dir=desc",
        f"/orders/{shop.held}",
        f"/orders/{shop.allocated}",
    ):
        html = warehouse.get(path).text
        assert not shows_currency(html) and "60,000" not in html and "Subtotal" not in html, path
    # Sorting by money is refused for them too (it would leak the order of totals).
    assert (
        'aria-sort="descending"' in warehouse.get("/orders?sort=total&dir=desc").text
    )  # fell back to created


def test_bulk_actions_report_per_order(
    as_role: Callable[[str], WebClient], shop: Shop, engine: Engine, status_of: Callable[[str], str]
) -> None:
    web = as_role("operator")
    with unit_of_work(engine, read_only=True) as session:
        ids = {n: i for i, n in session.execute(select(Order.id, Order.number))}
    review = web.submit("/orders/bulk", {"action": "cancel", "ids": [ids[shop.held], ids[shop.allocated]]})
    assert review.status_code == 200 and "2 orders will be changed." in review.text
    assert status_of(shop.held) == "on_hold"  # the review step changes nothing
    result = web.submit(
        "/orders/bulk/apply",
        {"action": "cancel", "ids": [ids[shop.held], ids[shop.allocated]], "reason": "dup"},
    )
    assert "2 of 2 orders changed." in result.text
    again = web.submit("/orders/bulk/apply", {"action": "cancel", "ids": [ids[shop.held]]})
    assert (
        "0 of 1 orders changed." in again.text and "Not allowed while the order is Cancelled." in again.text
    )
    hold = web.submit("/orders/bulk/apply", {"action": "hold", "ids": [ids[shop.numbers[2]]], "reason": " "})
    assert "Give a reason for the hold." in hold.text and status_of(shop.numbers[2]) == "allocated"
    assert web.submit("/orders/bulk", {"action": "delete", "ids": [1]}).status_code == 403


def test_forbidden_state_changes_are_refused_with_a_message(
    as_role: Callable[[str], WebClient], shop: Shop, status_of: Callable[[str], str]
) -> None:
    web = as_role("admin")
    r = web.submit(f"/orders/{shop.allocated}/confirm")  # confirm is only for new orders
    assert r.status_code == 303
    page = web.get(r.headers["location"]).text
    assert "Not allowed while the order is Allocated." in page
    assert status_of(shop.allocated) == "allocated"
    assert web.submit(f"/orders/{shop.allocated}/explode").status_code == 403
    assert web.submit("/orders/ZK-000000-NOPE1/cancel").status_code == 404
