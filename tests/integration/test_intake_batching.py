"""Group commit of order intake (orders/batching.py): orders received together, on SQLite and PostgreSQL.

A gate unit holds the intake thread while the test queues the orders, so that they are received as one
batch; every outcome must be what receiving them one by one would give.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, cast

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.api.context import mutation
from zakaz.auth.roles import Role
from zakaz.auth.service import Principal
from zakaz.catalog.models import Product
from zakaz.config import Settings
from zakaz.customers.models import Customer
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import ValidationFailed
from zakaz.inventory.models import Reservation, StockLevel, StockMovement
from zakaz.orders import intake
from zakaz.orders.batching import IntakeBatcher
from zakaz.orders.intake import IntakeConfig, IntakeResult
from zakaz.orders.models import Order, OrderEvent
from zakaz.orders.schemas import OrderCreate
from zakaz.outbox import OutboxMessage

CONFIG = IntakeConfig.from_settings(Settings())


Unit = Callable[[Session], Any]
Job = tuple[Unit, tuple[OrderCreate, IntakeConfig] | None]


def _order(payload: dict[str, Any]) -> Job:
    """An order as the API submits it: the unit that receives it and the order (read with its batch)."""
    data = OrderCreate.model_validate(payload)
    return (lambda session: intake.receive(session, data, actor="test", config=CONFIG)), (data, CONFIG)


def _gate() -> tuple[Unit, threading.Event, threading.Event]:
    """A unit that says it is running (first event), then holds its thread and transaction until released
    (second event)."""
    running, release = threading.Event(), threading.Event()

    def gate(session: Session) -> None:
        running.set()
        assert release.wait(10)

    return gate, running, release


def _queue_as_batch(batcher: IntakeBatcher, jobs: list[Job]) -> list[Future[Any]]:
    """Queue ``jobs`` while the (one) intake thread is busy, so that it takes them as one batch."""
    gate, busy, release = _gate()
    first = batcher.submit(gate)
    assert busy.wait(10)
    futures = [batcher.submit(unit, order) for unit, order in jobs]
    release.set()
    first.result(10)
    return futures


def _as_batch(batcher: IntakeBatcher, jobs: list[Job]) -> list[Future[Any]]:
    """:func:`_queue_as_batch`, and wait for every outcome."""
    futures = _queue_as_batch(batcher, jobs)
    for f in futures:
        f.exception(30)
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
    slow, busy, release = _gate()
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


def _waiting_for_a_claim(engine: Engine) -> bool:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
        return bool(conn.execute(text(query)).scalar_one())


def _customers(engine: Engine) -> list[tuple[str | None, int]]:
    with unit_of_work(engine, read_only=True) as s:
        return [(c.email, c.order_count) for c in s.scalars(select(Customer).order_by(Customer.id))]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("second", ["alone", "in a batch"])
def test_a_new_customer_ordering_twice_at_once_is_created_once(engine: Engine, second: str) -> None:
    """The first transaction holds the claim on the new contact until it commits; the second waits for it,
    then starts again and finds the customer the first created (one by one and in a batch alike)."""
    _seed(engine, on_hand=10)
    contact = {"email": "first@example.ru", "phone": "+7 916 000-00-05"}
    first_unit, _ = _order(order_payload([("SKU-1", 1)], **contact))
    second_unit, second_order = _order(order_payload([("SKU-1", 2)], **contact))
    received, commit = threading.Event(), threading.Event()

    def first() -> None:
        with unit_of_work(engine) as session:
            first_unit(session)
            received.set()
            assert commit.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert received.wait(10)
    batcher = IntakeBatcher(engine, threads=1)
    if second == "alone":
        future = batcher.submit(second_unit, second_order)
    else:  # with another order, so that the thread receives them as a batch
        other_unit, other_order = _order(order_payload([("SKU-1", 1)], email="other@example.ru", phone=None))
        future = _queue_as_batch(batcher, [(second_unit, second_order), (other_unit, other_order)])[0]
    deadline = time.monotonic() + 10
    while not _waiting_for_a_claim(engine):  # the second waits for the first's claim on the contact
        assert time.monotonic() < deadline and not future.done()
        time.sleep(0.02)
    commit.set()
    thread.join(10)
    assert future.result(10).created
    customers = _customers(engine)
    assert ("first@example.ru", 2) in customers and len(customers) == (1 if second == "alone" else 2)
    if second == "in a batch":
        assert (batcher.stats.retries, batcher.stats.fallbacks) == (1, 0)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_customers_orders_in_a_batch_and_alone_at_once_are_judged_one_after_the_other(
    engine: Engine,
) -> None:
    """The batch locks the customers it matched from its read until it commits, as single-order intake
    locks the one it counts: another transaction's order of the same customer waits, then sees the batch's
    order in the history (one by one: the first order above the limit is held, the second is not)."""
    _seed(engine, on_hand=10)
    big = {"price": 60_000_00, "email": "c@example.ru", "phone": "+7 916 000-00-07"}
    with unit_of_work(engine) as s:
        s.add(Customer(name="C", email="c@example.ru", phone="+79160000007", locale="ru"))
    hold, inside, release = _gate()  # keeps the batch's transaction open after its order
    batcher = IntakeBatcher(engine, threads=1)
    futures = _queue_as_batch(batcher, [_order(order_payload([("SKU-2", 1)], **big)), (hold, None)])
    assert inside.wait(10)
    alone_unit, _ = _order(order_payload([("SKU-2", 1)], **big))
    alone: list[Any] = []
    thread = threading.Thread(target=lambda: alone.append(run_in_transaction(engine, alone_unit)))
    thread.start()
    deadline = time.monotonic() + 10
    while not _waiting_for_a_lock(engine, "UPDATE customers"):  # the order alone waits for the batch
        assert time.monotonic() < deadline
        time.sleep(0.02)
    release.set()
    thread.join(10)
    in_batch = futures[0].result(10)
    assert (batcher.stats.retries, batcher.stats.fallbacks) == (0, 0)
    assert _status(engine, in_batch) == ("on_hold", ["first_order_high_value"])
    assert _status(engine, alone[0]) == ("allocated", [])
    assert _customers(engine) == [("c@example.ru", 2)]


def _waiting_for_a_lock(engine: Engine, statement: str) -> int:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :q"
        return int(conn.execute(text(query), {"q": f"%{statement}%"}).scalar_one())


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_batch_and_a_single_order_take_their_locks_in_the_same_order(engine: Engine) -> None:
    """The same order (channel, external id) in a batch and alone at once: the batch inserts its orders
    before it locks stock rows, as single-order intake does, so the two never wait for each other in a
    cycle (which PostgreSQL would break with a deadlock error after a second)."""
    _seed(engine, on_hand=10)
    twice = {"channel": "web", "external_id": "X-1"}
    batcher = IntakeBatcher(engine, threads=1)
    with engine.connect() as holder:  # another writer holds SKU-2's stock row
        holder.execute(
            text(
                "SELECT s.id FROM stock_levels s JOIN products p ON p.id = s.product_id "
                "WHERE p.sku = 'SKU-2' FOR UPDATE"
            )
        )
        futures = _queue_as_batch(
            batcher,
            [
                _order(order_payload([("SKU-1", 1)], email="b1@example.ru", **twice)),
                _order(order_payload([("SKU-2", 1)], email="b2@example.ru", phone="+7 916 000-00-02")),
            ],
        )
        deadline = time.monotonic() + 10
        while not _waiting_for_a_lock(engine, "json_populate_recordset"):  # the batch waits for SKU-2
            assert time.monotonic() < deadline
            time.sleep(0.02)
        contact = {"email": "t@example.ru", "phone": "+7 916 000-00-03"}
        alone_unit, _ = _order(order_payload([("SKU-1", 1)], **contact, **twice))
        outcome: list[BaseException | None] = []

        def alone() -> None:
            try:
                with unit_of_work(engine) as session:
                    alone_unit(session)
                outcome.append(None)
            except Exception as exc:
                outcome.append(exc)

        thread = threading.Thread(target=alone)
        thread.start()
        while _waiting_for_a_lock(engine, "INSERT INTO orders") < 2:  # it waits for the batch's X-1
            assert time.monotonic() < deadline
            time.sleep(0.02)
        holder.rollback()
    thread.join(10)
    assert all(f.result(10).created for f in futures)
    assert (batcher.stats.retries, batcher.stats.fallbacks) == (0, 0)
    # the order alone finds X-1 taken (run_in_transaction would retry it into the batch's order)
    [error] = outcome
    assert isinstance(error, IntegrityError)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_batch_writes_its_idempotency_records_after_its_orders_as_a_single_order_does(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A request and its retry (same Idempotency-Key, a new customer) received in a batch and alone at
    once: the batch keeps its idempotency record until after its write, so it never holds the key while
    it waits for the single order's claim (which then waits for the key: a deadlock, broken after 1 s)."""
    _seed(engine, on_hand=10)
    payload = order_payload([("SKU-1", 1)], email="new@example.ru", phone="+7 916 000-00-01")
    data = OrderCreate.model_validate(payload)
    who = Principal(key_id=1, role=Role.operator, name="test")

    def request(d: OrderCreate, key: str | None) -> Job:
        def work(session: Session) -> tuple[int, dict[str, Any]]:
            return 201, {"id": intake.receive(session, d, actor="api", config=CONFIG).order_id}

        return mutation(cast(Any, None), who, key, ("POST", "/api/v1/orders", payload), work), (d, CONFIG)

    single_unit, _ = request(data, "K1")
    single: list[Any] = []
    batcher = IntakeBatcher(engine, threads=1)
    caplog.set_level(logging.DEBUG, logger="zakaz.orders.batching")
    with engine.connect() as holder:  # another writer holds SKU-1's stock row
        holder.execute(
            text(
                "SELECT s.id FROM stock_levels s JOIN products p ON p.id = s.product_id "
                "WHERE p.sku = 'SKU-1' FOR UPDATE"
            )
        )
        thread = threading.Thread(target=lambda: single.append(run_in_transaction(engine, single_unit)))
        thread.start()
        deadline = time.monotonic() + 10
        while not _waiting_for_a_lock(engine, "INSERT INTO orders"):  # claimed, waits for the stock row
            assert time.monotonic() < deadline
            time.sleep(0.02)
        other = OrderCreate.model_validate(order_payload([("SKU-2", 1)], email="o@example.ru", phone=None))
        futures = _queue_as_batch(batcher, [request(data, "K1"), request(other, None)])
        while not _waiting_for_a_claim(engine):  # the batch waits for the single order's claim
            assert time.monotonic() < deadline
            time.sleep(0.02)
        holder.rollback()
    thread.join(10)
    first, second = (f.result(10) for f in futures)
    assert single[0] == (201, {"id": first[1]["id"]}, False)
    assert first[2] is True and second[2] is False  # run again, the batch replays the single's answer
    assert (batcher.stats.retries, batcher.stats.fallbacks) == (1, 0)
    why = " ".join(r.getMessage() for r in caplog.records if "rolled back" in r.getMessage())
    assert "created meanwhile" in why and "deadlock" not in why.lower()
    assert _customers(engine) == [("new@example.ru", 1), ("o@example.ru", 1)]


def _written(engine: Engine, order_id: int) -> dict[str, Any]:
    """What intake wrote for an order, with its own ids, number and times checked and then left out."""
    with unit_of_work(engine, read_only=True) as s:
        order = s.get(Order, order_id)
        assert order is not None
        events = s.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
        messages = s.scalars(
            select(OutboxMessage).where(OutboxMessage.aggregate_id == order_id).order_by(OutboxMessage.id)
        ).all()
        timeline = [(e.type, e.from_status, e.to_status, e.actor, e.reason, e.data) for e in events]
        for m in messages:
            assert list(m.payload)[:2] == ["order_id", "number"]
            assert (m.payload["order_id"], m.payload["number"]) == (order_id, order.number)
            assert m.available_at == m.created_at >= order.created_at
            assert m.payload["at"] >= order.created_at.isoformat()
        reserved = s.scalars(select(Reservation).where(Reservation.order_id == order_id)).all()
        moved = s.scalars(select(StockMovement).where(StockMovement.reference == order.number)).all()
        return {
            "status": order.status,
            "timeline": timeline,
            "messages": [
                (m.topic, m.aggregate_type, m.status, [k for k in m.payload], m.payload["event"])
                for m in messages
            ],
            "reserved": sorted((r.stock_level_id, r.quantity, r.status) for r in reserved),
            "moved": sorted((m.stock_level_id, m.on_hand_delta, m.reserved_delta, m.reason) for m in moved),
        }


def test_a_batch_writes_what_one_by_one_intake_writes(engine: Engine) -> None:
    """Timeline, outbox messages (payload key for key), reservations and stock movements of an order
    received in a batch are those of the same order received alone; each stock row carries the time of the
    last order that reserved from it."""
    _seed(engine, on_hand=10)
    batcher = IntakeBatcher(engine, threads=1)
    alone = batcher.submit(*_order(order_payload([("SKU-1", 2)]))).result(10)
    first, second = (
        f.result()
        for f in _as_batch(
            batcher,
            [
                _order(order_payload([("SKU-1", 2)])),
                _order(order_payload([("SKU-2", 1)], email="b@example.ru")),
            ],
        )
    )
    assert batcher.stats.largest == 2 and batcher.stats.fallbacks == 0
    assert _written(engine, first.order_id) == _written(engine, alone.order_id)
    with unit_of_work(engine, read_only=True) as s:
        touched = {
            sku: level.updated_at
            for sku, level in s.execute(
                select(Product.sku, StockLevel).join(Product, Product.id == StockLevel.product_id)
            ).all()
        }
        created = {o.id: o.created_at for o in s.scalars(select(Order))}
    # SKU-1 reserved by the batch's first order, SKU-2 by its second
    assert created[first.order_id] <= touched["SKU-1"] < created[second.order_id] <= touched["SKU-2"]


# the intake thread ends with the exception, as it should: pytest reports that as a warning
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_batch_stopped_by_a_base_exception_answers_every_request_and_intake_goes_on(engine: Engine) -> None:
    """Not an order's error (the process is being stopped): the thread ends, but no request waits forever
    and the next order starts a thread again."""
    _seed(engine, on_hand=10)
    batcher = IntakeBatcher(engine, threads=1)

    def stop(session: Session) -> None:
        raise SystemExit("stopping")

    futures = _as_batch(batcher, [_order(order_payload([("SKU-1", 1)])), (stop, None)])
    assert all(isinstance(f.exception(), SystemExit) for f in futures)
    assert batcher.submit(*_order(order_payload([("SKU-1", 1)]))).result(10).created
    assert _stock(engine) == (10, 1, 1, 1)
