"""Ozon chats into the support inbox, over real HTTP against the fake Ozon: pushes -> worker -> history ->
stored and linked to the order; replies sent once through the outbox; the 48-hour window; Premium Plus."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tests.support.conftest import Inbox
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.marketplaces.models import MarketplacePush, MarketplaceSyncState
from zakaz.marketplaces.ozon.endpoints import E
from zakaz.support.rules import DeliveryStatus


def test_new_message_push_fetches_history_and_links_the_order(inbox: Inbox) -> None:
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    inbox.fake.buyer_writes(chat, "Здравствуйте! Когда отправите заказ?")  # its push was lost
    push = inbox.fake.buyer_writes(chat, "И можно ли поменять цвет?")

    assert inbox.push(push).json() == {"result": True}
    inbox.drain()

    conv = inbox.conversation(chat)
    texts = [m.text for m in inbox.messages(conv.id)]
    assert texts == ["Здравствуйте! Когда отправите заказ?", "И можно ли поменять цвет?"], (
        "the job reads the chat history: the message whose push was lost is there too"
    )
    assert conv.order_id is not None and inbox.order_number(posting)
    assert conv.unread_count == 2 and conv.status == "open"
    assert all(m.direction == "in" and m.author_type == "customer" for m in inbox.messages(conv.id))

    detail = inbox.api.get(f"/api/v1/support/conversations/{conv.id}").json()
    assert detail["order"]["number"] == inbox.order_number(posting)
    assert [m["text"] for m in detail["messages"]] == texts
    listed = inbox.api.get("/api/v1/support/conversations", params={"order": inbox.order_number(posting)})
    assert [c["id"] for c in listed.json()["items"]] == [conv.id]


def test_redelivered_push_and_repeated_reads_do_not_duplicate(inbox: Inbox) -> None:
    chat = inbox.fake.add_chat()
    first = inbox.fake.buyer_writes(chat, "Первое")
    assert inbox.push(first).status_code == 200
    assert inbox.push(first).status_code == 200, "the same push again is acknowledged (and stored once)"
    inbox.drain()
    for i in range(4):  # more than one history page (page size 3 in these tests)
        inbox.fake.buyer_writes(chat, f"Ещё {i}")
    second = inbox.fake.buyer_writes(chat, "Последнее")
    assert inbox.push(second).status_code == 200
    inbox.drain()
    inbox.pull()  # the periodic job reads the same chat again
    inbox.pull()

    conv = inbox.conversation(chat)
    texts = [m.text for m in inbox.messages(conv.id)]
    assert texts == ["Первое", "Ещё 0", "Ещё 1", "Ещё 2", "Ещё 3", "Последнее"]
    assert conv.unread_count == 6
    bodies = inbox.fake.bodies(E.CHAT_HISTORY.path)
    assert bodies[0]["direction"] == "Backward", "a new chat: its newest messages"
    assert all(b["direction"] == "Forward" and int(b["from_message_id"]) > 0 for b in bodies[1:]), (
        "later reads start at the last stored message, not at what the push says"
    )
    with unit_of_work(inbox.engine, read_only=True) as s:
        assert [p.status for p in s.scalars(select(MarketplacePush))] == ["done", "done"]


def test_reply_from_the_api_is_sent_once_by_the_outbox(inbox: Inbox) -> None:
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    inbox.push(inbox.fake.buyer_writes(chat, "Где мой заказ?"))
    inbox.drain()
    conv = inbox.conversation(chat)

    url = f"/api/v1/support/conversations/{conv.id}/messages"
    headers = {"Idempotency-Key": "reply-1"}
    r = inbox.api.post(url, json={"text": "  Отправим сегодня до 18:00.  "}, headers=headers)
    assert r.status_code == 201 and r.json()["delivery_status"] == "queued"
    again = inbox.api.post(url, json={"text": "  Отправим сегодня до 18:00.  "}, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert inbox.conversation(chat).unread_count == 0, "answering means the buyer's message was read"

    inbox.drain()
    assert inbox.fake.seller_texts(chat) == ["Отправим сегодня до 18:00."]
    [_, mine] = inbox.messages(conv.id)
    assert mine.delivery_status == DeliveryStatus.sent and mine.external_id is not None
    assert mine.author == "apikey:test-admin" and mine.author_type == "seller"
    assert inbox.fake.calls_to(E.CHAT_READ.path) == 1, "Ozon is told the chat was read"
    inbox.pull()
    assert len(inbox.messages(conv.id)) == 2, "our reply read back from Ozon is not a second message"


def test_lost_answer_to_a_send_is_reconciled_not_sent_twice(inbox: Inbox) -> None:
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    inbox.push(inbox.fake.buyer_writes(chat, "Есть ли чек?"))
    inbox.drain()
    conv = inbox.conversation(chat)
    inbox.fake.lose_send_responses = 1  # Ozon stores the message, then answers HTTP 500

    r = inbox.api.post(f"/api/v1/support/conversations/{conv.id}/messages", json={"text": "Да, в коробке."})
    assert r.status_code == 201
    worker = inbox.drain()

    assert worker.stats["retried"] >= 1
    assert inbox.fake.seller_texts(chat) == ["Да, в коробке."], "the retry found it in the history"
    assert inbox.fake.calls_to(E.CHAT_SEND.path) == 1
    mine = inbox.messages(conv.id)[-1]
    assert mine.delivery_status == "sent" and mine.attempts == 1 and mine.external_id


def test_send_that_never_reached_ozon_is_sent_on_retry(inbox: Inbox) -> None:
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    inbox.push(inbox.fake.buyer_writes(chat, "Алло?"))
    inbox.drain()
    conv = inbox.conversation(chat)
    inbox.fake.malformed("html_502", path=E.CHAT_SEND.path)  # nginx answers, Ozon never saw it

    inbox.api.post(f"/api/v1/support/conversations/{conv.id}/messages", json={"text": "Здравствуйте!"})
    inbox.drain()

    assert inbox.fake.seller_texts(chat) == ["Здравствуйте!"]
    assert inbox.fake.calls_to(E.CHAT_SEND.path) == 2
    mine = inbox.messages(conv.id)[-1]
    assert mine.delivery_status == "sent" and mine.attempts == 2


def test_48_hour_window_after_the_order_is_finished(inbox: Inbox) -> None:
    old = inbox.fake.add_chat()  # no order in progress: only the 48-hour rule applies
    inbox.fake.add_chat_message(old, "Спасибо, всё пришло", at=inbox.fake.now() - timedelta(hours=49))
    recent = inbox.fake.add_chat()
    inbox.fake.add_chat_message(recent, "Вопрос", at=inbox.fake.now() - timedelta(hours=47, minutes=30))
    inbox.pull()
    old_conv, recent_conv = inbox.conversation(old), inbox.conversation(recent)

    r = inbox.api.post(f"/api/v1/support/conversations/{old_conv.id}/messages", json={"text": "Рады!"})
    assert r.status_code == 409
    problem = r.json()
    assert problem["type"] == "/problems/reply-not-allowed" and problem["reason"] == "window_expired"
    assert inbox.messages(old_conv.id)[-1].direction == "in", "nothing queued"
    detail = inbox.api.get(f"/api/v1/support/conversations/{old_conv.id}").json()
    assert detail["reply"]["allowed"] is False and detail["reply"]["reason"] == "window_expired"
    last = datetime.fromisoformat(detail["last_customer_message_at"])
    assert datetime.fromisoformat(detail["reply"]["window_ends_at"]) == last + timedelta(hours=48)

    # Allowed when queued, but the window closes before the worker sends: Ozon refuses, nothing retries.
    r = inbox.api.post(f"/api/v1/support/conversations/{recent_conv.id}/messages", json={"text": "Ответ"})
    assert r.status_code == 201
    inbox.ozon.clock.advance(3600)
    inbox.drain()
    mine = inbox.messages(recent_conv.id)[-1]
    assert mine.delivery_status == "failed" and "48 hours" in (mine.error or "")
    assert inbox.fake.seller_texts(recent) == [] and inbox.fake.calls_to(E.CHAT_SEND.path) == 1


def test_closed_chat_takes_no_reply(inbox: Inbox) -> None:
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    inbox.push(inbox.fake.buyer_writes(chat, "Добрый день"))
    inbox.push(inbox.fake.close_chat(chat))
    inbox.drain()
    conv = inbox.conversation(chat)
    assert conv.status == "closed"
    r = inbox.api.post(f"/api/v1/support/conversations/{conv.id}/messages", json={"text": "Здравствуйте"})
    assert r.status_code == 409 and r.json()["reason"] == "closed"
    closed = inbox.api.get("/api/v1/support/conversations?status=closed").json()["items"]
    assert [c["id"] for c in closed] == [conv.id]


def test_text_is_checked_with_problem_json(inbox: Inbox) -> None:
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    inbox.push(inbox.fake.buyer_writes(chat, "?"))
    inbox.drain()
    url = f"/api/v1/support/conversations/{inbox.conversation(chat).id}/messages"
    for text, code in (("   ", "empty"), ("я" * 1001, "too_long")):
        r = inbox.api.post(url, json={"text": text})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        [error] = r.json()["errors"]
        assert error["field"] == "text" and error["code"] == code
    assert inbox.api.post(url, json={"text": "я" * 1000}).status_code == 201
    assert inbox.api.post(url, json={}).status_code == 422
    missing = inbox.api.post("/api/v1/support/conversations/999999/messages", json={"text": "x"})
    assert missing.status_code == 404


def test_premium_missing_is_a_connection_status_not_a_crash_loop(inbox: Inbox) -> None:
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    inbox.push(inbox.fake.buyer_writes(chat, "Здравствуйте"))
    inbox.drain()
    conv = inbox.conversation(chat)
    inbox.fake.premium = False  # the subscription ended

    assert inbox.push(inbox.fake.buyer_writes(chat, "Ответьте, пожалуйста")).status_code == 200
    worker = inbox.drain()
    assert worker.stats["dead"] == 0 and worker.stats["retried"] == 0, "a 403 is not retried"
    with unit_of_work(inbox.engine, read_only=True) as s:
        state = s.scalar(select(MarketplaceSyncState).where(MarketplaceSyncState.kind == "chats"))
        assert state is not None and state.status == "no_access"
        assert "Premium Plus" in (state.last_error or "")
        pushes = s.scalars(select(MarketplacePush.status).order_by(MarketplacePush.id)).all()
        assert list(pushes) == ["done", "failed"]
    status = inbox.api.get("/api/v1/marketplaces/ozon/sync").json()
    assert status["syncs"]["chats"]["status"] == "no_access"

    calls = inbox.fake.calls_to(E.CHAT_HISTORY.path) + inbox.fake.calls_to(E.CHAT_LIST.path)
    assert inbox.pull().skipped and inbox.pull().skipped
    assert inbox.fake.calls_to(E.CHAT_HISTORY.path) + inbox.fake.calls_to(E.CHAT_LIST.path) == calls, (
        "the periodic job does not hammer Ozon while access is refused"
    )

    # The order is in progress, so a reply may be queued; sending fails with the reason, once.
    url = f"/api/v1/support/conversations/{conv.id}/messages"
    assert inbox.api.post(url, json={"text": "Уже отвечаем"}).status_code == 201
    worker = inbox.drain()
    mine = inbox.messages(conv.id)[-1]
    assert mine.delivery_status == "failed" and "Premium Plus" in (mine.error or "")
    assert worker.stats["dead"] == 0 and inbox.fake.seller_texts(chat) == []

    # Subscription back: the next check (after the retry interval) reads the chat and clears the status.
    inbox.fake.premium = True
    report = inbox.pull(now=utcnow() + timedelta(hours=2))
    assert report.failed is None and not report.skipped
    incoming = [m.text for m in inbox.messages(conv.id) if m.direction == "in"]
    assert incoming == ["Здравствуйте", "Ответьте, пожалуйста"]
    assert inbox.api.get("/api/v1/marketplaces/ozon/sync").json()["syncs"]["chats"]["status"] == "ok"


def test_update_and_read_pushes(inbox: Inbox) -> None:
    [posting] = inbox.import_orders(1)
    chat = inbox.fake.add_chat(posting_number=posting)
    push = inbox.fake.buyer_writes(chat, "Мой телефон +7 900 000-00-00")
    inbox.push(push)
    inbox.drain()
    conv = inbox.conversation(chat)
    inbox.api.post(f"/api/v1/support/conversations/{conv.id}/messages", json={"text": "Спасибо!"})
    inbox.drain()

    inbox.fake.chat_messages[chat][0]["text"] = "Мой телефон [скрыт модератором]"
    inbox.push({**push, "message_type": "TYPE_UPDATE_MESSAGE", "updated_at": "2026-11-28T10:00:00.000Z"})
    mine = inbox.messages(conv.id)[-1]
    inbox.push(
        {
            "message_type": "TYPE_MESSAGE_READ",
            "chat_id": chat,
            "chat_type": "Buyer_Seller",
            "message_id": mine.external_id,
            "created_at": "2026-11-28T10:01:00.000Z",
            "last_read_message_id": mine.external_id,
            "user": {"id": "115568", "type": "Customer"},
            "seller_id": str(inbox.fake.seller_id),
        }
    )
    inbox.drain()

    buyer, reply = inbox.messages(conv.id)
    assert buyer.text == "Мой телефон [скрыт модератором]", "an edited message is re-read and replaced"
    assert reply.read_at is not None, "the buyer read our reply"
    assert len(inbox.messages(conv.id)) == 2
