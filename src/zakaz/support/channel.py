"""What the inbox needs from a chat channel: our dataclasses and a Protocol (Ozon: ``support.ozon``).

Channels raise the marketplace errors of ``zakaz.marketplaces.base``: ``MarketplaceAuthError`` (no access:
missing subscription or role), ``MarketplaceRejected`` (refused, e.g. outside the reply window),
``MarketplaceUnavailable`` (transient: try again).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from zakaz.support.rules import AuthorType, ConversationStatus


@dataclass(frozen=True)
class ChatSummary:
    external_id: str
    chat_type: str
    status: ConversationStatus
    unread_count: int
    last_message_id: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class ChatMessage:
    external_id: str
    created_at: datetime
    author_type: AuthorType
    author: str  # e.g. "ozon:customer:115568"
    text: str
    is_read: bool
    order_ref: str | None = None  # the order/posting number the message is about, when the channel says


@dataclass(frozen=True)
class HistoryPage:
    messages: tuple[ChatMessage, ...]
    has_next: bool


class ChatChannel(Protocol):
    channel: str

    def list_chats(self, *, unread_only: bool) -> Iterator[ChatSummary]: ...

    def history(self, chat_id: str, *, from_message_id: str | None, forward: bool, limit: int) -> HistoryPage:
        """One page; ``from_message_id`` is inclusive; ``forward``: older to newer."""
        ...

    def messages(self, chat_id: str, ids: Sequence[str]) -> tuple[ChatMessage, ...]: ...

    def send(self, chat_id: str, text: str) -> None:
        """Not idempotent: after an unknown outcome, look in the history before sending again."""
        ...

    def mark_read(self, chat_id: str, message_id: str) -> None: ...

    def start(self, order_ref: str) -> str:
        """Open (or find) the chat about an order; returns its id."""
        ...
