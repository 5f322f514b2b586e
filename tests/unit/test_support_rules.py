"""Support inbox rules without a database: may a reply be sent, text limits, Ozon chat JSON quirks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zakaz.marketplaces.base import MappingError
from zakaz.support.ozon import chat_message, chat_push, chat_summary, history_page
from zakaz.support.rules import (
    AuthorType,
    ConversationStatus,
    Refusal,
    ReplyContext,
    message_order,
    reply_check,
    same_text,
    text_problem,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def ctx(**kw: object) -> ReplyContext:
    base: dict[str, object] = {
        "status": "open",
        "buyer_chat": True,
        "last_customer_message_at": NOW - timedelta(hours=1),
        "order_status": None,
        "now": NOW,
    }
    return ReplyContext(**{**base, **kw})  # type: ignore[arg-type]


def test_reply_within_48_hours_of_the_buyers_last_message() -> None:
    check = reply_check(ctx(last_customer_message_at=NOW - timedelta(hours=47, minutes=59)))
    assert check.allowed and check.window_ends_at == NOW + timedelta(minutes=1)
    late = reply_check(ctx(last_customer_message_at=NOW - timedelta(hours=48, seconds=1)))
    assert not late.allowed and late.reason == Refusal.window_expired
    assert reply_check(ctx(last_customer_message_at=None)).reason == Refusal.window_expired


def test_an_order_in_progress_keeps_the_chat_open_but_not_after_delivery() -> None:
    stale = NOW - timedelta(days=5)
    assert reply_check(ctx(last_customer_message_at=stale, order_status="picking")).allowed
    assert reply_check(ctx(last_customer_message_at=None, order_status="shipped")).allowed
    for done in ("delivered", "cancelled"):
        assert reply_check(ctx(last_customer_message_at=stale, order_status=done)).reason == (
            Refusal.window_expired
        )


def test_closed_and_non_buyer_chats_take_no_reply() -> None:
    assert reply_check(ctx(status=ConversationStatus.closed, order_status="new")).reason == Refusal.closed
    assert reply_check(ctx(buyer_chat=False)).reason == Refusal.not_supported


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", Refusal.empty), (" \r\n\t ", Refusal.empty), ("ы" * 1000, None), ("ы" * 1001, Refusal.too_long)],
)
def test_text_is_one_to_a_thousand_characters(text: str, problem: Refusal | None) -> None:
    assert text_problem(text) == problem
    assert text_problem("  " + "a" * 1000 + "\n") is None, "surrounding whitespace is not counted"


def test_reply_matching_and_message_id_order() -> None:
    assert same_text("Добрый день,\nзаказ   отправлен", "Добрый день, заказ отправлен ")
    assert not same_text("Да", "Нет")
    ids = ["3000000000817031950", "999", "3000000000817031942"]
    assert sorted(ids, key=message_order) == ["999", "3000000000817031942", "3000000000817031950"]
    assert message_order(None) < message_order("1")


def test_chat_list_item_with_string_int64_and_string_booleans() -> None:
    page = {
        "chats": [
            {
                "chat": {
                    "chat_id": "5e767w03-b400-4y1b-a841-75319ca8a5c8",
                    "chat_status": "Opened",
                    "chat_type": "Buyer_Seller",
                    "created_at": "2022-07-22T08:07:19.581Z",
                },
                "first_unread_message_id": "3000000000118021931",
                "last_message_id": "30000000001280042740",
                "unread_count": "5",
            }
        ],
        "total_unread_count": 5,
        "cursor": "Mg==",
        "has_next": "true",
    }
    summary = chat_summary(page["chats"][0])  # type: ignore[index]
    assert summary.external_id == "5e767w03-b400-4y1b-a841-75319ca8a5c8"
    assert summary.status == ConversationStatus.open and summary.unread_count == 5
    assert summary.last_message_id == "30000000001280042740"
    closed = chat_summary({"chat": {"chat_id": "x", "chat_status": "Closed"}, "last_message_id": 0})
    assert closed.status == ConversationStatus.closed and closed.last_message_id is None
    with pytest.raises(MappingError):
        chat_summary({"chat": {}})


def test_history_messages_map_authors_text_and_order_number() -> None:
    data = {
        "has_next": "false",
        "messages": [
            {
                "message_id": 3000000000817031942,
                "created_at": "2022-07-18T20:58:04.528Z",
                "data": ["Здравствуйте,", "где заказ?"],
                "is_read": "true",
                "user": {"id": "115568", "type": "customer"},
                "context": {"order_number": "123456789-0001", "sku": "1"},
            },
            {
                "message_id": "3000000000817031943",
                "created_at": "2022-07-18T21:00:00Z",
                "data": ["Курьер в пути"],
                "user": {"id": "1", "type": "courier"},
            },
        ],
    }
    page = history_page(data)
    buyer, courier = page.messages
    assert not page.has_next
    assert buyer.external_id == "3000000000817031942" and buyer.author_type == AuthorType.customer
    assert buyer.text == "Здравствуйте,\nгде заказ?" and buyer.is_read and buyer.order_ref == "123456789-0001"
    assert buyer.created_at == datetime(2022, 7, 18, 20, 58, 4, 528000, tzinfo=UTC)
    assert courier.author_type == AuthorType.system and courier.author == "ozon:courier:1"
    with pytest.raises(MappingError):
        chat_message({"data": ["без id"]})


def test_chat_push_is_only_a_hint() -> None:
    hint = chat_push(
        {
            "message_type": "TYPE_MESSAGE_READ",
            "chat_id": "b646d975-0c9c-4872-9f41-8b1e57181063",
            "chat_type": "Buyer_Seller",
            "message_id": "3000000000817031942",
            "last_read_message_id": 3000000000817031942,
            "user": {"id": "115568", "type": "Customer"},
            "seller_id": "7",
        }
    )
    assert hint.chat_id == "b646d975-0c9c-4872-9f41-8b1e57181063" and hint.user_type == AuthorType.customer
    assert hint.last_read_message_id == "3000000000817031942"
    assert chat_push({"message_type": "TYPE_CHAT_CLOSED"}).chat_id is None
