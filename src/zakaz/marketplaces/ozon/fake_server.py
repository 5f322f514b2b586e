"""A faithful local fake of the Ozon Seller API (FBS/rFBS subset) as a real HTTP server on loopback.

Contract from /work/shared/ozon/seller-api-notes.md: POST + JSON, ``Client-Id``/``Api-Key`` headers,
rpcStatus errors, 429 with ``Retry-After``, strict "object not array" parsing, per-item errors in HTTP 200,
status guards. Faults (429 storms, latency, nginx 502 HTML, empty 405, broken JSON) are injected through
:class:`FakeOzonState`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta  # issue #7
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

from zakaz.marketplaces.ozon import fake_control as control  # issue #7
from zakaz.marketplaces.ozon import fake_handlers as h
from zakaz.marketplaces.ozon import fake_listing as listing
from zakaz.marketplaces.ozon.fake_push import (
    build_push_cutoff_date_changed,
    build_push_new_posting,
    build_push_new_posting_for,
    build_push_ping,
    build_push_posting_cancelled,
    build_push_state_changed,
)
from zakaz.marketplaces.ozon.fake_state import FakeOzonState, Fault, seed_postings, seed_returns

__all__ = [
    "FakeOzonState",
    "Fault",
    "build_push_cutoff_date_changed",
    "build_push_new_posting",
    "build_push_new_posting_for",
    "build_push_ping",
    "build_push_posting_cancelled",
    "build_push_state_changed",
    "create_fake_ozon_app",
    "running_fake_ozon",
    "seed_postings",
    "seed_returns",
]

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

RATE_LIMIT_MESSAGE = "You have reached request rate limit per second"

ROUTES: dict[str, Callable[[FakeOzonState, dict[str, Any]], Response | dict[str, Any]]] = {
    "/v3/posting/fbs/unfulfilled/list": listing.unfulfilled_v3,
    "/v4/posting/fbs/unfulfilled/list": listing.unfulfilled_v4,
    "/v3/posting/fbs/list": listing.list_v3,
    "/v4/posting/fbs/list": listing.list_v4,
    "/v3/posting/fbs/get": listing.get_posting,
    "/v4/posting/fbs/ship": h.ship,
    "/v2/posting/fbs/package-label": h.package_label,
    "/v2/fbs/posting/tracking-number/set": h.tracking_set,
    "/v2/fbs/posting/delivering": h.delivering,
    "/v2/fbs/posting/last-mile": h.last_mile,
    "/v2/fbs/posting/delivered": h.delivered,
    "/v2/posting/fbs/cancel": h.cancel,
    "/v2/posting/fbs/cancel-reason/list": h.cancel_reasons,
    "/v2/products/stocks": h.stocks,
    "/v1/returns/list": listing.returns_list,
    "/v1/warehouse/list": h.warehouses,  # disabled by Ozon on 2026-04-07; kept for old clients
    "/v2/warehouse/list": h.warehouses_v2,
    "/v1/roles": lambda state, body: _roles(state),  # issue #7: the settings page's credential check
    **h.CHAT_ROUTES,  # issue #7: chats
    **control.CONTROL_ROUTES,  # issue #7: FAKE-ONLY control (Ozon's logistics moves FBS postings)
}


def _roles(state: FakeOzonState) -> dict[str, Any]:
    """issue #7: ``/v1/roles``: the key's roles and the methods they open (notes 1.1), expiry in 6 months."""
    expires = state.now() + timedelta(days=182)
    methods = sorted(p for p in ROUTES if not p.startswith("/fake/"))
    roles = [
        {"name": "Posting FBS", "methods": [p for p in methods if "posting" in p or "returns" in p]},
        {"name": "Warehouse", "methods": [p for p in methods if "warehouse" in p or "stocks" in p]},
    ]
    return {"roles": roles, "expires_at": expires.isoformat(timespec="seconds").replace("+00:00", "Z")}


def _quotas(state: FakeOzonState) -> dict[str, tuple[int, float]]:
    """Per-method quotas (requests, window seconds) on top of the global per-second limit."""
    return {
        "/v2/products/stocks": (state.stocks_per_minute, 60.0),
        "/v1/warehouse/list": (state.warehouse_list_per_minute, 60.0),
        "/v2/warehouse/list": (state.warehouse_list_per_minute, 60.0),
    }


def _over_quota(state: FakeOzonState, key: str, limit: int, window: float) -> bool:
    now = state.clock.monotonic()
    stamps = [t for t in state.calls.get(key, []) if now - t < window]
    over = len(stamps) >= limit
    if not over:
        stamps.append(now)
    state.calls[key] = stamps
    return over


def _fault_response(fault: Fault) -> Response | None:
    if fault.kind == "rate_limit":
        headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        return h.error(429, 8, RATE_LIMIT_MESSAGE, headers=headers)
    if fault.kind == "html_502":
        return Response(NGINX_502, status_code=502, media_type="text/html")
    if fault.kind == "empty_405":
        return Response(b"", status_code=405)
    if fault.kind == "malformed_json":
        return Response(b'{"result": {"postings": [{"posting_numb', media_type="application/json")
    return None


def create_fake_ozon_app(state: FakeOzonState) -> FastAPI:
    app = FastAPI(title="Fake Ozon Seller API", docs_url=None, redoc_url=None, openapi_url=None)
    counter = iter(range(1, 1 << 62))

    async def dispatch(request: Request) -> Response:
        path = request.url.path
        trace = {"x-o3-trace-id": f"fake-{next(counter):08x}"}
        raw = await request.body()
        state.record(path, raw)
        fault = state.take_fault(path)
        if fault is not None and fault.kind == "latency":
            await asyncio.sleep(fault.seconds)
        elif fault is not None and (response := _fault_response(fault)) is not None:
            response.headers.update(trace)
            return response
        response = _handle(state, path, raw, request.headers.get("client-id"), request.headers.get("api-key"))
        response.headers.update(trace)
        return response

    for path in ROUTES:
        app.add_api_route(path, dispatch, methods=["POST"], include_in_schema=False)
    return app


def _handle(
    state: FakeOzonState, path: str, raw: bytes, client_id: str | None, api_key: str | None
) -> Response:
    if not client_id or not api_key:
        return h.error(401, 16, "Client-Id and Api-Key headers are required")
    if client_id != state.client_id or api_key != state.api_key:
        return h.error(403, 7, "Invalid Api-Key, please contact support")
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return h.error(400, 3, "proto: syntax error (line 1:1): invalid value")
    if not isinstance(body, dict):
        return h.error(400, 3, "proto: syntax error (line 1:1): unexpected token [")
    with state.lock:
        if state.enforce_rate_limits:
            quota = _quotas(state).get(path)
            if _over_quota(state, "*", state.global_rps, 1.0) or (quota and _over_quota(state, path, *quota)):
                state.throttled += 1
                return h.error(429, 8, RATE_LIMIT_MESSAGE, headers={"Retry-After": "1"})
        result = ROUTES[path](state, body)
    return result if isinstance(result, Response) else h.ok(result)


@contextmanager
def running_fake_ozon(
    state: FakeOzonState | None = None, *, host: str = "127.0.0.1"
) -> Iterator[tuple[str, FakeOzonState]]:
    """Run the fake on a free loopback port in a background thread; yields ``(base_url, state)``."""
    state = state or FakeOzonState()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_fake_ozon_app(state), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-ozon", daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        else:
            raise RuntimeError("fake Ozon server did not start")
        yield f"http://{host}:{port}", state
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
