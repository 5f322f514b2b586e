"""Ozon chats as a :class:`~zakaz.support.channel.ChatChannel`: the vendor JSON stops here.

Shapes (notes 2.14, 4.2): ``/v3/chat/list`` items ``{chat{chat_id, chat_status, chat_type, created_at},
unread_count, last_message_id}``; history messages ``{message_id, created_at, data[markdown], is_read,
user{id, type: customer|seller|crm|courier|support}, context{order_number, sku}}``; pushes
``TYPE_NEW_MESSAGE {chat_id, chat_type, message_id, created_at, user{id, type: Customer|Support|
NotificationUser}, data, seller_id}`` (+``updated_at`` for ``TYPE_UPDATE_MESSAGE``, +``last_read_message_id``
for ``TYPE_MESSAGE_READ``). int64 ids arrive as numbers or strings; booleans sometimes as "true".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zakaz.marketplaces.base import MappingError
from zakaz.marketplaces.ozon.client import OzonClient
from zakaz.marketplaces.ozon.mapping import ext_id, parse_dt
from zakaz.support.channel import ChatMessage, ChatSummary, HistoryPage
from zakaz.support.rules import AuthorType, ConversationStatus

CHANNEL = "ozon"
#: Chats with a buyer: the only ones a reply can be written to from the inbox.
BUYER_CHAT_TYPES = frozenset({"Buyer_Seller", "Buyer_Seller_Select"})
AUTHOR_TYPES = {
    "customer": AuthorType.customer,
    "seller": AuthorType.seller,
    "support": AuthorType.support,
}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def author_type(raw: Any) -> AuthorType:
    """``customer``/``Customer`` -> customer ...; crm, courier, NotificationUser and unknown -> system."""
    return AUTHOR_TYPES.get(str(raw or "").strip().lower(), AuthorType.system)


def chat_summary(item: Mapping[str, Any]) -> ChatSummary:
    chat = _obj(item.get("chat"))
    chat_id = ext_id(chat.get("chat_id"))
    if chat_id is None:
        raise MappingError("chat list item without chat.chat_id")
    status = ConversationStatus.closed if chat.get("chat_status") == "Closed" else ConversationStatus.open
    try:
        unread = int(item.get("unread_count") or 0)
    except (TypeError, ValueError) as exc:
        raise MappingError(f"unread_count is not a number: {item.get('unread_count')!r}") from exc
    return ChatSummary(
        external_id=chat_id,
        chat_type=str(chat.get("chat_type") or ""),
        status=status,
        unread_count=unread,
        last_message_id=ext_id(item.get("last_message_id")),
        created_at=parse_dt(chat.get("created_at")),
    )


def text_of(data: Any) -> str:
    if isinstance(data, list):
        return "\n".join(str(part) for part in data if part is not None)
    return "" if data is None else str(data)


def chat_message(item: Mapping[str, Any]) -> ChatMessage:
    message_id = ext_id(item.get("message_id"))
    created = parse_dt(item.get("created_at"))
    if message_id is None or created is None:
        raise MappingError("chat message without message_id or created_at")
    user = _obj(item.get("user"))
    kind = author_type(user.get("type"))
    context = _obj(item.get("context"))
    return ChatMessage(
        external_id=message_id,
        created_at=created,
        author_type=kind,
        author=f"ozon:{str(user.get('type') or 'unknown').lower()}:{user.get('id') or ''}"[:128],
        text=text_of(item.get("data")),
        is_read=_truthy(item.get("is_read")),
        order_ref=ext_id(context.get("order_number")),
    )


def history_page(data: Mapping[str, Any]) -> HistoryPage:
    items = data.get("messages") or []
    messages = tuple(chat_message(m) for m in items if isinstance(m, Mapping))
    return HistoryPage(messages, _truthy(data.get("has_next")))


@dataclass(frozen=True)
class ChatPush:
    """A chat push, normalised. Only a hint: messages themselves are read from the history."""

    message_type: str
    chat_id: str | None
    chat_type: str
    message_id: str | None
    user_type: AuthorType
    last_read_message_id: str | None


def chat_push(body: Mapping[str, Any]) -> ChatPush:
    return ChatPush(
        message_type=str(body.get("message_type") or ""),
        chat_id=ext_id(body.get("chat_id")),
        chat_type=str(body.get("chat_type") or ""),
        message_id=ext_id(body.get("message_id")),
        user_type=author_type(_obj(body.get("user")).get("type")),
        last_read_message_id=ext_id(body.get("last_read_message_id")),
    )


class OzonChats:
    """A :class:`~zakaz.support.channel.ChatChannel` over :class:`OzonClient` (limits, retries)."""

    channel = CHANNEL

    def __init__(self, client: OzonClient) -> None:
        self.client = client

    def list_chats(self, *, unread_only: bool) -> Iterator[ChatSummary]:
        for item in self.client.iter_chats(unread_only=unread_only):
            yield chat_summary(item)

    def history(self, chat_id: str, *, from_message_id: str | None, forward: bool, limit: int) -> HistoryPage:
        data = self.client.chat_history(
            chat_id,
            from_message_id=from_message_id,
            direction="Forward" if forward else "Backward",
            limit=limit,
        )
        return history_page(data)

    def messages(self, chat_id: str, ids: Sequence[str]) -> tuple[ChatMessage, ...]:
        data = self.client.chat_history(chat_id, message_ids=ids, direction="Forward", limit=len(ids) or 1)
        return history_page(data).messages

    def send(self, chat_id: str, text: str) -> None:
        self.client.chat_send_message(chat_id, text)

    def mark_read(self, chat_id: str, message_id: str) -> None:
        self.client.chat_read(chat_id, message_id)

    def start(self, order_ref: str) -> str:
        return self.client.chat_start(order_ref)
