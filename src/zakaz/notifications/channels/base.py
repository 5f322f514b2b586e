"""The channel adapter Protocol and the values that cross it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One rendered message for one recipient.

    ``data`` carries channel specifics (push keys, webhook body).
    """

    delivery_id: int
    channel: str
    recipient: str
    subject: str = ""
    text: str = ""
    html: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    status: str  # "sent" or "recorded"
    provider_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class ChannelError(Exception):
    """The provider refused or failed. ``retryable=False``: retrying the same message cannot help
    (bad number, stop list); the delivery is marked failed and the outbox message is settled."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class RecipientGone(ChannelError):
    """The recipient no longer exists (an expired push subscription): skip it and forget it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class ChannelAdapter(Protocol):
    name: str

    def send(self, message: Outgoing) -> SendResult: ...


class RecordingChannel:
    """No provider configured: the message was rendered and is kept in the delivery log, nothing is sent."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: Outgoing) -> SendResult:
        return SendResult(status="recorded")
