"""What a handler receives and may raise. Handlers are plain functions in a dict: topic -> handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine


@dataclass(frozen=True, slots=True)
class Message:
    """A claimed outbox row. ``attempts`` counts this try (1 on the first)."""

    id: int
    topic: str
    aggregate_type: str
    aggregate_id: int
    payload: dict[str, Any]
    attempts: int


#: A handler must be idempotent: it may run again after a crash or a lost lease. It opens its own short
#: transactions with ``unit_of_work(engine)`` and never holds one across network calls.
Handler = Callable[[Engine, Message], None]
Handlers = Mapping[str, Sequence[Handler]]


class Defer(Exception):
    """Try this message again at ``until`` without counting an attempt (e.g. SMS quiet hours)."""

    def __init__(self, until: datetime, reason: str = "deferred") -> None:
        super().__init__(reason)
        self.until = until


class Permanent(Exception):
    """Retrying cannot help (a malformed payload): the message goes straight to dead."""
