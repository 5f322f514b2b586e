"""API keys without ``money:read`` (warehouse staff) get every answer without amounts.

Money in the API is always an integer field named ``*_minor`` (prices, totals, refunds, shipping costs,
declared values) plus the order's ``payment_status``. Rather than every read endpoint remembering to drop
them, this middleware removes those keys from the JSON answers of /api/v1 GET requests made with such a
key, at any depth. Requests by other keys, and every non-GET request, pass through untouched (writes that
need money are refused by their permissions anyway).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zakaz.auth.roles import Permission, allows
from zakaz.db import session_factory

HIDDEN_KEYS = frozenset({"payment_status"})


def without_money(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: without_money(v) for k, v in value.items() if not k.endswith("_minor") and k not in HIDDEN_KEYS
        }
    if isinstance(value, list):
        return [without_money(v) for v in value]
    return value


class MoneyRedaction:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def _hides_money(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith("/api/v1/"):
            return False
        auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        if not auth.lower().startswith("bearer "):
            return False
        ctx = scope["app"].state.ctx
        who = ctx.keys.get(session_factory(ctx.engine, read_only=True), auth[7:].strip())
        return who is not None and not allows(who.role, Permission.money_read)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._hides_money(scope):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            content_type = dict(start["headers"]).get(b"content-type", b"")
            if content_type.startswith(b"application/json"):
                body = orjson.dumps(without_money(orjson.loads(body)))
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
