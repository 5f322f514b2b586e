"""Synchronous Ozon Seller API client: auth, rate limits, retries, typed errors, pagination.

Knows HTTP and Ozon's envelopes, nothing about our domain (that is ``mapping`` + ``adapter``).
Secrets: the Api-Key is sent per request (not stored in httpx defaults), never logged and never in ``repr``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson

from zakaz.marketplaces.ozon.endpoints import (
    BASE_URL,
    GLOBAL_BURST,
    GLOBAL_RATE_PER_SEC,
    PER_METHOD_SAFETY,
    E,
    Endpoint,
)
from zakaz.marketplaces.ozon.errors import (
    LabelsNotReady,
    OzonApiError,
    OzonTransportError,
    RateLimited,
    TransientApiError,
    error_from_response,
)
from zakaz.marketplaces.ozon.ratelimit import SystemClock, TokenBucket

log = logging.getLogger(__name__)

JSON = dict[str, Any]


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


def _mask(value: str) -> str:
    return f"***{value[-4:]}" if len(value) > 8 else "***"


@dataclass(frozen=True)
class OzonCredentials:
    client_id: str
    api_key: str = field(repr=False)

    def __repr__(self) -> str:
        return f"OzonCredentials(client_id={_mask(self.client_id)!r}, api_key='<hidden>')"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 10.0
    max_retry_after: float = 60.0  # a Retry-After larger than this is capped (and logged)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class OzonClient:
    """One client per Client-Id (the global 50 rps bucket is per Client-Id)."""

    def __init__(
        self,
        credentials: OzonCredentials,
        *,
        base_url: str = BASE_URL,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
        global_rate_per_sec: float = GLOBAL_RATE_PER_SEC,
    ) -> None:
        self._credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self._global = self._bucket(global_rate_per_sec, GLOBAL_BURST)
        self._per_method: dict[str, TokenBucket] = {}

    def __repr__(self) -> str:
        return f"OzonClient(base_url={self.base_url!r}, client_id={_mask(self._credentials.client_id)!r})"

    def __enter__(self) -> OzonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------------------------------ plumbing

    def _bucket(self, rate: float, burst: int) -> TokenBucket:
        return TokenBucket(rate, burst, monotonic=self.clock.monotonic, sleep=self.clock.sleep)

    def _throttle(self, endpoint: Endpoint) -> None:
        if endpoint.rate_per_sec is not None:
            bucket = self._per_method.get(endpoint.path)
            if bucket is None:
                rate = endpoint.rate_per_sec * PER_METHOD_SAFETY
                bucket = self._per_method[endpoint.path] = self._bucket(rate, endpoint.burst)
            bucket.acquire()
        self._global.acquire()

    def _headers(self) -> dict[str, str]:
        return {
            "Client-Id": self._credentials.client_id,
            "Api-Key": self._credentials.api_key,
            "Content-Type": "application/json",
        }

    def _delay_for(self, err: OzonApiError, attempt: int) -> float:
        if isinstance(err, RateLimited) and err.retry_after is not None:
            if err.retry_after > self.retry.max_retry_after:
                log.warning("Retry-After %.0fs capped to %.0fs", err.retry_after, self.retry.max_retry_after)
            # Honour the server's wish, plus a little jitter so parallel workers do not return in lockstep.
            return min(err.retry_after, self.retry.max_retry_after) + self._rng.uniform(0, 0.1)
        return self.retry.backoff(attempt, self._rng)

    def _send(self, endpoint: Endpoint, body: Mapping[str, Any]) -> httpx.Response:
        """POST with throttling and retries; returns a 2xx response or raises a typed error."""
        payload = orjson.dumps(body)
        attempts = max(1, self.retry.max_attempts)
        for attempt in range(1, attempts + 1):
            self._throttle(endpoint)
            try:
                response = self._http.post(endpoint.path, content=payload, headers=self._headers())
            except httpx.TransportError as exc:
                # Without an answer we do not know whether a non-idempotent call was applied, unless the
                # connection was never made.
                may_retry = endpoint.idempotent or isinstance(exc, _NOT_SENT)
                if attempt < attempts and may_retry:
                    delay = self.retry.backoff(attempt, self._rng)
                    name = type(exc).__name__
                    log.info("Ozon %s: %s, retry %d in %.2fs", endpoint.path, name, attempt, delay)
                    self.clock.sleep(delay)
                    continue
                raise OzonTransportError(f"Ozon {endpoint.path}: {type(exc).__name__}: {exc}") from exc
            if response.is_success:
                return response
            err = error_from_response(
                response.status_code, response.content, response.headers, path=endpoint.path
            )
            may_retry = isinstance(err, RateLimited) or (
                isinstance(err, TransientApiError) and endpoint.idempotent
            )
            if attempt < attempts and may_retry:
                delay = self._delay_for(err, attempt)
                status = err.http_status
                log.info("Ozon %s: HTTP %d, retry %d in %.2fs", endpoint.path, status, attempt, delay)
                self.clock.sleep(delay)
                continue
            raise err
        raise AssertionError("unreachable")  # pragma: no cover

    # ----------------------------------------------------------------------------------------- public

    def call(self, endpoint: Endpoint, body: Mapping[str, Any] | None = None) -> JSON:
        """Call a JSON method; parameterless methods are sent ``{}``. Unparseable 2xx bodies are retried."""
        attempts = max(1, self.retry.max_attempts)
        for attempt in range(1, attempts + 1):
            response = self._send(endpoint, body or {})
            try:
                data = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                return data
            err = TransientApiError(
                http_status=response.status_code,
                code=None,
                message=f"malformed JSON body ({len(response.content)} bytes)",
                path=endpoint.path,
                trace_id=response.headers.get("x-o3-trace-id"),
            )
            if attempt < attempts and endpoint.idempotent:
                self.clock.sleep(self.retry.backoff(attempt, self._rng))
                continue
            raise err
        raise AssertionError("unreachable")  # pragma: no cover

    def call_binary(self, endpoint: Endpoint, body: Mapping[str, Any]) -> bytes:
        return self._send(endpoint, body).content

    def get_package_labels(
        self, posting_numbers: Sequence[str], *, attempts: int = 4, wait_s: float = 20.0
    ) -> bytes:
        """PDF labels for <=20 postings; waits and retries while Ozon says they are not ready yet."""
        cap = E.PACKAGE_LABEL.max_items or 20
        if not 0 < len(posting_numbers) <= cap:
            raise ValueError(f"package-label takes 1..{cap} postings, got {len(posting_numbers)}")
        for attempt in range(1, attempts + 1):
            try:
                return self.call_binary(E.PACKAGE_LABEL, {"posting_number": list(posting_numbers)})
            except LabelsNotReady:
                if attempt == attempts:
                    raise
                log.info("Ozon labels not ready, waiting %.0fs (attempt %d)", wait_s, attempt)
                self.clock.sleep(wait_s)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------------------------ pagination

    def iter_offset(
        self, endpoint: Endpoint, body: Mapping[str, Any], *, limit: int | None = None
    ) -> Iterator[JSON]:
        """v3 posting lists: ``limit``+``offset``; stop at ``has_next`` false or ``offset >= count``."""
        limit = limit or endpoint.max_items or 100
        offset = 0
        while True:
            page = self.call(endpoint, {**body, "limit": limit, "offset": offset})
            result = page.get("result") or {}
            items = _items(result, "postings")
            yield from items
            offset += len(items)
            if not items:
                return
            if "has_next" in result:
                if not _truthy(result["has_next"]):
                    return
            elif "count" in result:
                if offset >= int(result["count"]):
                    return
            elif len(items) < limit:
                return

    def iter_cursor(
        self,
        endpoint: Endpoint,
        body: Mapping[str, Any],
        *,
        items_key: str | tuple[str, ...],
        limit: int | None = None,
    ) -> Iterator[JSON]:
        """v4 posting lists, v2 warehouses, chats: ``limit``+``cursor``; top-level ``cursor``/``has_next``."""
        limit = limit or endpoint.max_items or 100
        cursor = ""
        while True:
            request = {**body, "limit": limit}
            if cursor:
                request["cursor"] = cursor
            page = self.call(endpoint, request)
            yield from _items(page, items_key)
            cursor = str(page.get("cursor") or "")
            if not _truthy(page.get("has_next")) or not cursor:
                return

    def iter_last_id(
        self,
        endpoint: Endpoint,
        body: Mapping[str, Any],
        *,
        items_key: str,
        id_of: Callable[[JSON], Any] = lambda item: item.get("id"),
        limit: int | None = None,
    ) -> Iterator[JSON]:
        """Returns list: ``limit``+``last_id``; ``has_next``; the next ``last_id`` is the last item's id."""
        limit = limit or endpoint.max_items or 100
        last_id: Any = 0
        while True:
            page = self.call(endpoint, {**body, "limit": limit, "last_id": last_id})
            items = _items(page, items_key)
            yield from items
            if not items or not _truthy(page.get("has_next")):
                return
            new_last = id_of(items[-1])
            if new_last in (None, last_id):  # a server bug must not make us loop forever
                raise TransientApiError(
                    http_status=200, code=None, message="pagination did not advance", path=endpoint.path
                )
            last_id = int(new_last) if isinstance(new_last, str) and new_last.isdigit() else new_last

    # ----------------------------------------------------------------------------- chats (issue #7)

    def iter_chats(
        self, *, unread_only: bool = False, status: str = "All", limit: int = 100
    ) -> Iterator[JSON]:
        """``/v3/chat/list`` items, cursor-paged: ``{chat{chat_id, chat_status, chat_type, created_at},
        unread_count, last_message_id, first_unread_message_id}``."""
        body = {"filter": {"chat_status": status, "unread_only": unread_only}}
        return self.iter_cursor(E.CHAT_LIST, body, items_key="chats", limit=limit)

    def chat_history(
        self,
        chat_id: str,
        *,
        from_message_id: str | None = None,
        direction: str = "Forward",
        limit: int = 50,
        message_ids: Sequence[str] = (),
    ) -> JSON:
        """One page of ``/v3/chat/history``: ``{"has_next", "messages": [...]}``.

        ``direction`` is ``Forward`` (older -> newer) or ``Backward`` (Ozon's default: from the newest).
        Treat ``from_message_id`` as inclusive (callers de-duplicate by message id).
        """
        body: dict[str, Any] = {"chat_id": chat_id, "direction": direction, "limit": limit}
        if from_message_id:
            body["from_message_id"] = _int64(from_message_id)
        if message_ids:
            body["filter"] = {"message_ids": [str(m) for m in message_ids]}
        return self.call(E.CHAT_HISTORY, body)

    def chat_send_message(self, chat_id: str, text: str) -> None:
        """Send plain text (1..1000 characters). Not idempotent: a lost answer means "maybe sent"."""
        self.call(E.CHAT_SEND, {"chat_id": chat_id, "text": text})

    def chat_start(self, posting_number: str) -> str:
        """Open (or find) the buyer chat of a posting; returns its chat id."""
        data = self.call(E.CHAT_START, {"posting_number": posting_number})
        result = data.get("result")
        chat_id = result.get("chat_id") if isinstance(result, Mapping) else data.get("chat_id")
        if not chat_id:
            raise TransientApiError(
                http_status=200, code=None, message="answer without chat_id", path=E.CHAT_START.path
            )
        return str(chat_id)

    def chat_read(self, chat_id: str, from_message_id: str) -> int:
        """Mark the chat read up to ``from_message_id``; returns Ozon's remaining ``unread_count``."""
        data = self.call(E.CHAT_READ, {"chat_id": chat_id, "from_message_id": _int64(from_message_id)})
        try:
            return int(data.get("unread_count") or 0)
        except (TypeError, ValueError):
            return 0


def _int64(value: str) -> int | str:
    """Message ids are int64: sent as JSON numbers when they are digits (Ozon may send them as strings)."""
    return int(value) if value.isdigit() else value


def _items(container: Mapping[str, Any], key: str | tuple[str, ...]) -> list[JSON]:
    """The list under ``key`` (or the first of several spellings that is present)."""
    keys = (key,) if isinstance(key, str) else key
    value: Any = next((container[k] for k in keys if container.get(k) is not None), [])
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _truthy(value: Any) -> bool:
    """Doc examples show ``"has_next": "true"`` as a string; accept both spellings."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
