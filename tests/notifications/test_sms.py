"""SMS through the SMS.ru adapter against a local fake speaking SMS.ru's documented contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.notifications.support import FakeSmsRu, drain, fetch, move, quiet_free, seed_and_order, serve
from zakaz.db import unit_of_work
from zakaz.notifications.channels.base import ChannelError, Outgoing
from zakaz.notifications.channels.sms import SmsRu, normalise_msisdn
from zakaz.notifications.models import Delivery
from zakaz.notifications.rules import fit_sms, quiet_until, sms_encoding, sms_segments
from zakaz.outbox import OutboxMessage


def test_segments_gsm7_and_ucs2() -> None:
    assert (sms_encoding("Order shipped"), sms_segments("a" * 160), sms_segments("a" * 161)) == ("gsm7", 1, 2)
    assert sms_segments("a" * 306) == 2 and sms_segments("a" * 307) == 3
    assert sms_segments("{" * 80) == 1 and sms_segments("{" * 81) == 2  # extension characters take two
    assert sms_encoding("Заказ отправлен") == "ucs2"
    assert sms_segments("я" * 70) == 1 and sms_segments("я" * 71) == 2 and sms_segments("я" * 135) == 3
    long = fit_sms("Ваш заказ " * 40, 2)
    assert sms_segments(long) == 2 and long.endswith("…")
    assert normalise_msisdn("+7 (916) 123-45-67") == normalise_msisdn("8 916 123 45 67") == "79161234567"


def test_quiet_hours_in_moscow() -> None:
    kw = {"tz": "Europe/Moscow", "start_hour": 21, "end_hour": 9}
    evening = datetime(2026, 11, 27, 19, 30, tzinfo=UTC)  # 22:30 in Moscow
    assert quiet_until(evening, **kw) == datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 09:00 Moscow
    early = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 06:00 Moscow
    assert quiet_until(early, **kw) == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 11, 27, 9, 0, tzinfo=UTC), **kw) is None  # 12:00
    assert quiet_until(evening, tz="Europe/Moscow", start_hour=0, end_hour=0) is None


def test_adapter_speaks_smsru() -> None:
    fake = FakeSmsRu()
    with serve(fake.app()) as url:
        sms = SmsRu(quiet_free(smsru_api_id="test-api-id", smsru_base_url=url, smsru_sender="ROMASHKA"))
        result = sms.send(Outgoing(1, "sms", "+7 916 123-45-67", text="Заказ ZK-1 отправлен"))
        assert result.status == "sent" and result.provider_id == "000000-00000001"
        assert result.detail["encoding"] == "ucs2" and result.detail["segments"] == 1
        assert fake.sent[0] == {
            "to": "79161234567",
            "msg": "Заказ ZK-1 отправлен",
            "from": "ROMASHKA",
            "sms_id": "000000-00000001",
            "test": None,
        }
        with pytest.raises(ChannelError) as blocked:
            sms.send(Outgoing(2, "sms", "+7 999 000-00-00", text="x"))
        assert not blocked.value.retryable and "207" in str(blocked.value)
        wrong_key = SmsRu(quiet_free(smsru_api_id="nope", smsru_base_url=url))
        with pytest.raises(ChannelError) as bad_key:
            wrong_key.send(Outgoing(3, "sms", "79161234567", text="x"))
        assert bad_key.value.retryable and "200" in str(bad_key.value)


def test_shipped_sms_is_sent_and_quiet_hours_defer_it(client: TestClient, engine: Engine) -> None:
    fake = FakeSmsRu()
    order = seed_and_order(client, engine)
    with serve(fake.app()) as url:
        now_msk = (datetime.now(UTC) + timedelta(hours=3)).hour
        quiet = quiet_free(
            smsru_api_id="test-api-id",
            smsru_base_url=url,
            sms_quiet_start_hour=now_msk,
            sms_quiet_end_hour=(now_msk + 2) % 24,
        )
        move(engine, order["id"], "picking", "packed", "shipped", data={"tracking_number": "RA123456785RU"})
        drain(engine, quiet)
        assert fake.sent == [], "quiet hours: deferred, not sent"
        (d,) = fetch(engine, select(Delivery).where(Delivery.channel == "sms"))
        waiting = fetch(engine, select(OutboxMessage).where(OutboxMessage.topic == "notification.deliver"))
        assert d.status == "pending" and d.scheduled_for is not None and d.scheduled_for > datetime.now(UTC)
        sms_message = next(m for m in waiting if m.aggregate_id == d.id)
        assert sms_message.status == "pending" and sms_message.available_at == d.scheduled_for

        # the quiet hours end: the same message goes out once
        from sqlalchemy import update

        with unit_of_work(engine) as s:
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == sms_message.id)
                .values(available_at=datetime.now(UTC))
            )
        drain(engine, quiet_free(smsru_api_id="test-api-id", smsru_base_url=url))
        assert len(fake.sent) == 1 and "RA123456785RU" in fake.sent[0]["msg"]
        (d,) = fetch(engine, select(Delivery).where(Delivery.channel == "sms"))
        assert d.status == "sent" and d.provider_id == "000000-00000001"
        assert d.data["segments"] == sms_segments(fake.sent[0]["msg"]) == 2  # Cyrillic + link: two parts
