"""E-mail through a real SMTP server on loopback (aiosmtpd): Russian text + HTML, unsubscribe that works."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.notifications.support import drain, move, quiet_free, seed_and_order, smtp_server
from zakaz.db import unit_of_work
from zakaz.notifications.models import Delivery


def test_shopper_gets_russian_email_and_can_unsubscribe(client: TestClient, engine: Engine) -> None:
    order = seed_and_order(client, engine)
    with smtp_server() as (port, sink):
        settings = quiet_free(
            smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", shop_name="Ромашка"
        )
        drain(engine, settings)
        assert len(sink.messages) == 1
        mail = sink.messages[0]
        assert mail["Subject"] == f"Заказ {order['number']} принят"
        assert mail["To"] == "ivan@example.ru"
        assert mail["Message-ID"].startswith("<zakaz-delivery-")
        text = mail.get_body(preferencelist=("plain",))
        html = mail.get_body(preferencelist=("html",))
        assert text is not None and html is not None
        plain = text.get_content()
        assert "Здравствуйте, Иван Петров!" in plain and "Мы получили ваш заказ" in plain
        assert "Ромашка" in html.get_content() and "Где мой заказ" in html.get_content()
        unsubscribe = re.search(r"http://testserver(/unsubscribe/\S+)", plain)
        assert unsubscribe and mail["List-Unsubscribe"] == f"<http://testserver{unsubscribe.group(1)}>"
        tracking = re.search(r"http://testserver(/track/\S+)", plain)
        assert tracking is not None

        # opening the link (as a mail scanner would) only asks; the button POSTs
        asked = client.get(unsubscribe.group(1))
        assert asked.status_code == 200 and "Отписаться?" in asked.text
        assert f'action="{unsubscribe.group(1)}"' in asked.text and 'method="post"' in asked.text
        assert client.get("/unsubscribe/forged-token").status_code == 404
        from zakaz.orders.models import Order

        with unit_of_work(engine, read_only=True) as s:
            customer_id = s.scalar(select(Order.customer_id).where(Order.id == order["id"]))
        prefs = f"/api/v1/customers/{customer_id}/notification-preferences"
        assert client.get(prefs).json()["email"] is True  # nothing changed by the GET
        page = client.post(unsubscribe.group(1))
        assert page.status_code == 200 and "Вы отписаны" in page.text
        assert client.get(prefs).json() == {
            "email": False,
            "sms": True,
            "push": True,
        }

        move(engine, order["id"], "cancelled")
        drain(engine, settings)
        assert len(sink.messages) == 1, "no more e-mail after unsubscribing"
        with unit_of_work(engine, read_only=True) as s:
            channels = set(s.scalars(select(Delivery.channel).where(Delivery.event == "cancelled")))
        assert channels == {"sms"}

        # the tracking link from the e-mail opens the order page
        assert order["number"] in client.get(tracking.group(1)).text


def test_english_and_chinese_customers_get_their_language(client: TestClient, engine: Engine) -> None:
    from sqlalchemy import update

    from zakaz.customers.models import Customer

    order = seed_and_order(client, engine)
    with smtp_server() as (port, sink):
        settings = quiet_free(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        for locale, expected in (("en", "has shipped"), ("zh", "已发货")):
            with unit_of_work(engine) as s:
                s.execute(update(Customer).values(locale=locale))
            if locale == "en":
                move(engine, order["id"], "picking", "packed", "shipped")
            else:
                move(engine, order["id"], "delivered")
                expected = "已送达"
            drain(engine, settings)
            assert expected in sink.messages[-1]["Subject"]


def test_smtp_down_retries_then_delivers_once(client: TestClient, engine: Engine) -> None:
    from sqlalchemy import update

    from tests.notifications.support import free_port
    from zakaz.clock import utcnow
    from zakaz.outbox import OutboxMessage

    seed_and_order(client, engine)
    port = free_port()
    settings = quiet_free(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_timeout_seconds=2)
    drain(engine, settings)  # nobody listens: the delivery fails and is retried later
    with unit_of_work(engine, read_only=True) as s:
        d = s.scalars(select(Delivery)).one()
        assert d.status == "failed" and "SMTP" in (d.error or "")
    from aiosmtpd.controller import Controller

    from tests.notifications.support import SmtpSink

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with unit_of_work(engine) as s:
            s.execute(
                update(OutboxMessage).where(OutboxMessage.status == "pending").values(available_at=utcnow())
            )
        drain(engine, settings)
        drain(engine, settings)
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    with unit_of_work(engine, read_only=True) as s:
        d = s.scalars(select(Delivery)).one()
        assert d.status == "sent" and d.attempts == 2 and d.provider_id and d.error is None
