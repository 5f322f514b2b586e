"""Group commit of order intake (orders/batching.py): orders received together, on SQLite and PostgreSQL.

A gate unit holds the intake thread while the test queues the orders, so that they are received as one
batch; every outcome must be what receiving them one by one would give.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.config import Settings
from zakaz.customers.models import Customer
from zakaz.db import unit_of_work
from zakaz.errors import ValidationFailed
from zakaz.inventory.models import Reservation, StockLevel, StockMovement
from zakaz.orders import intake
from zakaz.orders.batching import IntakeBatcher
from zakaz.orders.intake import IntakeConfig, IntakeResult
from zakaz.orders.models import Order
from zakaz.orders.schemas import OrderCreate

CONFIG = IntakeConfig.from_settings(Settings())


Unit = Callable[[Session], Any]
Job = tuple[Unit, tuple[OrderCreate, IntakeConfig] | None]


def _order(payload: dict[str, Any]) -> Job:
    """An order as the API submits it: the unit that receives it and the order (read with its batch)."""
    data = OrderCreate.model_validate(payload)
    return (lambda session: intake.receive(session, data, actor="test", config=CONFIG)), (data, CONFIG)


def _as_batch(batcher: IntakeBatcher, jobs: list[Job]) -> list[Future[Any]]:
    """Queue ``jobs`` while the (one) intake thread is busy, so that it takes them as one batch."""
    busy, release = threading.Event(), threading.Event()

    def gate(session: Session) -> None:
        busy.set()
        assert release.wait(10)

    first = batcher.submit(gate)
    assert busy.wait(10)
    futures = [batcher.submit(unit, order) for unit, order in jobs]
    release.set()
    first.result(10)
    for f in futures:
        f.exception(30)  # wait for every outcome
    return futures


def _seed(engine: Engine, on_hand: int) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    add_product(engine, "SKU-2", price=60_000_00)
    set_stock(engine, "MSK", "SKU-1", on_hand)
    set_stock(engine, "MSK", "SKU-2", 10)


def _stock(engine: Engine) -> tuple[int, int, int, int]:
    """on_hand, reserved, active reservation units and reserved movements of SKU-1."""
    with unit_of_work(engine, read_only=True) as s:
        level = s.execute(
            select(StockLevel).where(StockLevel.product_id == _product_id(s, "SKU-1"))
        ).scalar_one()
        reservations = sum(
            r.quantity for r in s.scalars(select(Reservation).where(Reservation.stock_level_id == level.id))
        )
        movements = sum(
            m.reserved_delta
            for m in s.scalars(select(StockMovement).where(StockMovement.stock_level_id == level.id))
        )
        return level.on_hand, level.reserved, reservations, movements


def _product_id(s: Session, sku: str) -> int:
    from zakaz.catalog.models import Product

    return s.execute(select(Product.id).where(Product.sku == sku)).scalar_one()


def _status(engine: Engine, result: IntakeResult) -> tuple[str, list[str]]:
    with unit_of_work(engine, read_only=True) as s:
        order = s.get(Order, result.order_id)
        assert order is not None
        return order.status, [h["code"] for h in order.hold_reasons]


def test_orders_received_together_see_the_stock_and_history_of_the_ones_before(engine: Engine) -> None:
    _seed(engine, on_hand=3)
    batcher = IntakeBatcher(engine, threads=1)
    new_customer = {"email": "new@example.ru", "phone": "+7 916 000-00-01"}
    futures = _as_batch(
        batcher,
        [
            _order(order_payload([("SKU-1", 2)], **{"customer": {"name": "Анна", **new_customer}})),
            _order(order_payload([("SKU-1", 2)])),  # one unit left: held, not oversold
            _order(order_payload([("SKU-1", 1)])),  # the last unit
            # the new customer's second order: no longer a first order above the review limit
            _order(
                order_payload(
                    [("SKU-2", 1)], price=60_000_00, **{"customer": {"name": "Анна", **new_customer}}
                )
            ),
        ],
    )
    results = [f.result() for f in futures]
    assert batcher.stats.largest == 4 and batcher.stats.fallbacks == 0
    assert [_status(engine, r) for r in results] == [
        ("allocated", []),
        ("on_hold", ["insufficient_stock"]),
        ("allocated", []),
        ("allocated", []),
    ]
    assert _stock(engine) == (3, 3, 3, 3)
    with unit_of_work(engine, read_only=True) as s:
        anna = s.execute(select(Customer).where(Customer.email == "new@example.ru")).scalar_one()
        assert (anna.order_count, anna.total_spent_minor) == (2, 100_00 * 2 + 60_000_00)
        ivan = s.execute(select(Customer).where(Customer.email == "ivan@example.ru")).scalar_one()
        assert (ivan.order_count, ivan.total_spent_minor) == (2, 100_00 * 3)


def test_an_invalid_order_fails_alone_and_the_others_are_received(engine: Engine) -> None:
    _seed(engine, on_hand=10)
    batcher = IntakeBatcher(engine, threads=1)
    futures = _as_batch(
        batcher,
        [
            _order(order_payload([("SKU-1", 1)])),
            _order(order_payload([("NO-SUCH-SKU", 1)])),
            _order(order_payload([("SKU-1", 2)], external_id="shop-7", channel="web")),
            _order(order_payload([("SKU-1", 2)], external_id="shop-7", channel="web")),  # same order again
        ],
    )
    assert batcher.stats.fallbacks == 1
    error = futures[1].exception()
    assert isinstance(error, ValidationFailed)
    assert any("sku" in e.field for e in error.errors)
    first, _, shop, again = (f.result() if f.exception() is None else None for f in futures)
    assert first is not None and shop is not None and again is not None
    assert shop.created and not again.created and again.order_id == shop.order_id
    assert _stock(engine) == (10, 3, 3, 3)
    with unit_of_work(engine, read_only=True) as s:
        assert len(s.scalars(select(Order)).all()) == 2
        ivan = s.execute(select(Customer).where(Customer.email == "ivan@example.ru")).scalar_one()
        assert ivan.order_count == 2  # the rejected order is not counted


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_stock_taken_by_another_writer_during_the_batch_is_never_oversold(engine: Engine) -> None:
    """Only PostgreSQL lets another transaction write while a batch runs (SQLite holds the write lock)."""
    _seed(engine, on_hand=3)
    batcher = IntakeBatcher(engine, threads=1)

    def another_writer(session: Session) -> None:
        # a concurrent transaction leaves no unit available (plain UPDATE: what another process would do)
        with engine.begin() as conn:
            conn.execute(text("UPDATE stock_levels SET on_hand = reserved"))

    futures = _as_batch(batcher, [_order(order_payload([("SKU-1", 2)])), (another_writer, None)])
    # the batch's write finds the stock row short and is rolled back; run again, it sees the stock gone
    assert (batcher.stats.retries, batcher.stats.fallbacks) == (1, 0)
    result = futures[0].result()
    assert _status(engine, result) == ("on_hold", ["insufficient_stock"])
    on_hand, reserved, reservations, movements = _stock(engine)
    assert (on_hand, reserved, reservations, movements) == (0, 0, 0, 0)


def test_contacts_are_matched_as_one_by_one_and_new_customers_are_created_once(engine: Engine) -> None:
    """E-mail first, then phone; a customer created by an earlier order of the batch is found by the later."""
    _seed(engine, on_hand=100)
    with unit_of_work(engine) as s:
        s.add(Customer(name="Ольга", email="olga@example.ru", phone="+79160000009", locale="ru"))
    batcher = IntakeBatcher(engine, threads=1)
    contacts = [
        ("new@example.ru", "+7 916 000-00-01"),  # nobody: a new customer
        ("other@example.ru", "+7 916 000-00-01"),  # the phone of the one just created
        ("new@example.ru", "+7 916 000-00-02"),  # its e-mail
        ("new@example.ru", "+7 916 000-00-09"),  # e-mail before phone: not Olga's
        ("olga@example.ru", "+7 916 000-00-01"),  # Olga's e-mail: Olga, though the phone is the new one's
        ("solo@example.ru", "+7 916 000-00-03"),  # nobody: another new customer
    ]
    futures = _as_batch(
        batcher, [_order(order_payload([("SKU-1", 1)], email=e, phone=p)) for e, p in contacts]
    )
    results = [f.result() for f in futures]
    assert (batcher.stats.largest, batcher.stats.retries, batcher.stats.fallbacks) == (6, 0, 0)
    with unit_of_work(engine, read_only=True) as s:
        customers = {
            c.email: (c.id, c.order_count, c.total_spent_minor, c.phone) for c in s.scalars(select(Customer))
        }
        orders = {o.id: o.customer_id for o in s.scalars(select(Order))}
    assert sorted(customers) == ["new@example.ru", "olga@example.ru", "solo@example.ru"]
    new, olga, solo = customers["new@example.ru"], customers["olga@example.ru"], customers["solo@example.ru"]
    assert [orders[r.order_id] for r in results] == [new[0]] * 4 + [olga[0], solo[0]]
    assert new[1:] == (4, 4 * 100_00, "+79160000001")
    assert (olga[1], olga[2], solo[1]) == (1, 100_00, 1)


def test_an_order_number_drawn_twice_makes_the_batch_run_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(engine, on_hand=100)
    batcher = IntakeBatcher(engine, threads=1)
    first = batcher.submit(*_order(order_payload([("SKU-1", 1)]))).result(10)
    with unit_of_work(engine, read_only=True) as s:
        number = s.execute(select(Order.number).where(Order.id == first.order_id)).scalar_one()
    drawn = iter([number])
    real = intake.new_order_number
    monkeypatch.setattr(intake, "new_order_number", lambda now: next(drawn, None) or real(now))
    futures = _as_batch(
        batcher, [_order(order_payload([("SKU-1", 1)])), _order(order_payload([("SKU-1", 2)]))]
    )
    results = [f.result() for f in futures]
    assert (batcher.stats.retries, batcher.stats.fallbacks) == (1, 0)
    assert all(r.created for r in results)
    with unit_of_work(engine, read_only=True) as s:
        numbers = s.scalars(select(Order.number)).all()
    assert len(numbers) == len(set(numbers)) == 3
    assert _stock(engine) == (100, 4, 4, 4)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_order_is_received_while_another_batch_is_still_running(engine: Engine) -> None:
    """Two intake threads on PostgreSQL: a slow batch does not hold up the orders that arrive meanwhile."""
    _seed(engine, on_hand=10)
    batcher = IntakeBatcher(engine)
    assert batcher.threads == 2
    busy, release = threading.Event(), threading.Event()

    def slow(session: Session) -> None:
        busy.set()
        assert release.wait(10)

    held = batcher.submit(slow)
    assert busy.wait(10)
    try:
        result = batcher.submit(*_order(order_payload([("SKU-1", 2)]))).result(10)
        assert not held.done()
    finally:
        release.set()
    held.result(10)
    assert _status(engine, result) == ("allocated", [])
    assert _stock(engine) == (10, 2, 2, 2)


def _plan_cache_mode(session: Session) -> tuple[str, int]:
    row = session.execute(text("SELECT current_setting('plan_cache_mode'), pg_backend_pid()")).one()
    return str(row[0]), int(row[1])


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_intake_plans_its_statements_once_and_the_rest_of_the_app_keeps_the_servers_choice(
    engine: Engine,
) -> None:
    batcher = IntakeBatcher(engine, idle_seconds=1)
    mode, backend = batcher.submit(_plan_cache_mode).result(10)
    assert mode == "force_generic_plan"
    alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"
    with unit_of_work(engine, read_only=True) as s:
        assert _plan_cache_mode(s)[0] == "auto"
        assert s.execute(text(alive), {"pid": backend}).scalar_one() == 1
    for thread in list(batcher._threads):
        thread.join(10)  # idle: the threads exit, the last closes the connections
    deadline = time.monotonic() + 10  # the server process ends just after the connection closes
    while True:
        with unit_of_work(engine, read_only=True) as s:
            if s.execute(text(alive), {"pid": backend}).scalar_one() == 0:
                break
        assert time.monotonic() < deadline, "the intake connection is still open"
        time.sleep(0.05)
