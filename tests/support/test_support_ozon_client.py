"""The Ozon chat methods of OzonClient against the fake on loopback (no database): cursor pages of the chat
list, inclusive history paging, chat start, read marks, and the Premium Plus gate."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from zakaz.marketplaces.base import MarketplaceAuthError, MarketplaceNotFound
from zakaz.marketplaces.ozon.client import OzonClient, OzonCredentials
from zakaz.marketplaces.ozon.endpoints import E
from zakaz.marketplaces.ozon.fake_server import FakeOzonState, running_fake_ozon, seed_postings
from zakaz.marketplaces.ozon.ratelimit import VirtualClock
from zakaz.support.ozon import OzonChats


@pytest.fixture
def fake() -> Iterator[tuple[FakeOzonState, OzonChats]]:
    clock = VirtualClock()
    with running_fake_ozon(FakeOzonState(clock=clock)) as (url, state):
        client = OzonClient(
            OzonCredentials(state.client_id, state.api_key), base_url=url, clock=clock, rng=random.Random(0)
        )
        yield state, OzonChats(client)
        client.close()


def test_chat_list_cursor_pages_and_unread_filter(fake: tuple[FakeOzonState, OzonChats]) -> None:
    state, chats = fake
    ids = [state.add_chat() for _ in range(5)]
    for chat in ids[:3]:
        state.buyer_writes(chat, "?")
    listed = list(chats.client.iter_chats(limit=2))
    assert sorted(item["chat"]["chat_id"] for item in listed) == sorted(ids), "every chat once"
    assert [b.get("cursor") for b in state.bodies(E.CHAT_LIST.path)] == [None, "2", "4"]
    unread = list(chats.list_chats(unread_only=True))
    assert sorted(s.external_id for s in unread) == sorted(ids[:3])
    assert all(s.unread_count == 1 for s in unread)


def test_history_start_and_read(fake: tuple[FakeOzonState, OzonChats]) -> None:
    state, chats = fake
    [posting] = seed_postings(state, 1)
    chat_id = chats.start(posting)
    assert chats.start(posting) == chat_id, "the posting's chat is found again, not doubled"
    for i in range(5):
        state.buyer_writes(chat_id, f"m{i}")
    first = chats.history(chat_id, from_message_id=None, forward=False, limit=2)
    assert [m.text for m in first.messages] == ["m4", "m3"] and first.has_next
    assert first.messages[0].order_ref == state.postings[posting]["order_number"]
    page = chats.history(chat_id, from_message_id=first.messages[1].external_id, forward=True, limit=10)
    assert [m.text for m in page.messages] == ["m3", "m4"], "from_message_id is inclusive"
    chats.mark_read(chat_id, first.messages[0].external_id)
    assert list(chats.list_chats(unread_only=True)) == []
    with pytest.raises(MarketplaceNotFound):
        chats.history("no-such-chat", from_message_id=None, forward=True, limit=5)


def test_buyer_chats_need_premium_plus(fake: tuple[FakeOzonState, OzonChats]) -> None:
    state, chats = fake
    chat_id = state.add_chat()
    state.premium = False
    assert [s.external_id for s in chats.list_chats(unread_only=False)] == [chat_id], "listing still works"
    with pytest.raises(MarketplaceAuthError) as denied:
        chats.send(chat_id, "Здравствуйте")
    assert "Premium Plus" in str(denied.value) and state.seller_texts(chat_id) == []
