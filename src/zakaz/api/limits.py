"""Request bodies have a size limit: 413 problem JSON before the application reads them.

Without it any client (the Ozon push endpoint and the shopper's return form need no login) could make the
server parse and store bodies of any size. Most requests are small JSON; return photos (up to 5 x 5 MB) get
a larger allowance on the two routes that take them. A body without Content-Length is read up to the
limit and then handed on, or refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_LIMIT = 1024 * 1024
PHOTO_LIMIT = 30 * 1024 * 1024
#: (path pattern, limit): the first match wins.
LIMITS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/track/[^/]+/return$"), PHOTO_LIMIT),  # the shopper's return form with photos
    (re.compile(r"^/api/v1/returns/[^/]+/photos$"), PHOTO_LIMIT),
)


def limit_for(path: str, limits: Sequence[tuple[re.Pattern[str], int]] = LIMITS) -> int:
    return next((size for pattern, size in limits if pattern.match(path)), DEFAULT_LIMIT)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    body = orjson.dumps(
        {
            "type": "/problems/too-large",
            "title": "Request too large",
            "status": 413,
            "detail": f"the request body is larger than {limit} bytes",
            "instance": scope.get("path", ""),
        }
    )
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await _too_large(scope, send, limit)
                return
            await self.app(scope, receive, send)  # the server stops at the declared length
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)
