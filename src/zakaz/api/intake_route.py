"""``POST /api/v1/orders`` on a short path: the endpoint called directly for a request FastAPI would accept.

Per order, FastAPI resolves the route's dependencies (the hostile-input guard, the context, the API key and
its role, the Idempotency-Key header) and parses the body twice over (stdlib ``json``, then pydantic on the
Python objects): about half of the event loop's CPU per order. :class:`IntakeRoute` first checks whether the
request is one none of that can refuse: ``Content-Type: application/json``, no query string, a body without
an escaped NUL that ``OrderCreate.model_validate_json`` accepts (with finite coordinates: ``json.loads``
refuses an integer literal too large for a float where pydantic's parser gives infinity), a known API key
whose role may write orders. Such a request is passed to the endpoint with the arguments FastAPI would give
it. Every other request, including every one that is refused, goes through FastAPI's handler unchanged, so
answers, problem JSON and the precedence of errors stay exactly as they were.

The short path stands in for the route's dependencies, so it is only built while they are exactly the ones
it knows (:func:`short_path_applies`; a dependency added to the route or its router turns it off), and it
steps aside while ``app.dependency_overrides`` is set.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Coroutine
from typing import Any

import fastapi.routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from zakaz.api.context import AppContext, get_ctx, key_holder, require
from zakaz.api.guards import checked_input
from zakaz.auth.roles import Permission, allows
from zakaz.orders.schemas import OrderCreate

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
# The endpoint's parameters: what FastAPI passes and the short path passes alike.
PARAMETERS = ("data", "ctx", "who", "idempotency_key")


def _effective_dependant(route: APIRoute) -> Dependant:
    """The dependant FastAPI builds the handler from: with the including router's dependencies when the
    route is built for an ``include_router`` (FastAPI passes that context in a context variable)."""
    var = getattr(fastapi.routing, "_effective_route_context_var", None)
    context = var.get() if var is not None else None
    if context is not None and getattr(context, "original_route", None) is route:
        dependant: Dependant = context.dependant
        return dependant
    return route.dependant


def short_path_applies(dependant: Dependant) -> bool:
    """True when the route's dependencies and parameters are exactly those the short path stands in for."""
    known = (checked_input, get_ctx, require(Permission.orders_write))
    return (
        sorted(id(sub.call) for sub in dependant.dependencies) == sorted(map(id, known))
        and [p.name for p in dependant.body_params] == ["data"]
        and [p.name for p in dependant.header_params] == ["idempotency_key"]
        and not (dependant.path_params or dependant.query_params or dependant.cookie_params)
        and dependant.call is not None
        and tuple(inspect.signature(dependant.call).parameters) == PARAMETERS
    )


async def short_path_arguments(request: Request) -> dict[str, Any] | None:
    """The endpoint's arguments, or None when FastAPI's own handling must decide (it may refuse)."""
    headers = request.headers
    if headers.get("content-type") != "application/json" or request.scope.get("query_string"):
        return None
    if request.app.dependency_overrides:
        return None
    try:
        body = await request.body()
    except Exception:  # FastAPI reports it (400) when it reads the body again
        return None
    if b"\\u0000" in body:  # the guard names the field
        return None
    try:
        data = OrderCreate.model_validate_json(body)
    except ValidationError:
        return None
    address = data.shipping_address
    for value in (address.latitude, address.longitude):
        if value is not None and not math.isfinite(value):
            return None
    ctx: AppContext = request.app.state.ctx
    who = key_holder(ctx, headers.get("authorization"))
    if who is None or not allows(who.role, Permission.orders_write):
        return None
    return {"data": data, "ctx": ctx, "who": who, "idempotency_key": headers.get("idempotency-key")}


class IntakeRoute(APIRoute):
    """The route of ``create_order``: the short path above, FastAPI's handler for everything else."""

    def get_route_handler(self) -> Handler:
        standard = super().get_route_handler()
        if not short_path_applies(_effective_dependant(self)):
            return standard
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            arguments = await short_path_arguments(request)
            if arguments is None:
                return await standard(request)
            response: Response = await endpoint(**arguments)
            return response

        return handler
