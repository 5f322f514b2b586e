"""What every request needs: settings, the engine, the API-key cache; plus auth and idempotency helpers."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz import idempotency
from zakaz.auth.roles import Permission, allows
from zakaz.auth.service import KeyCache, Principal
from zakaz.config import Settings
from zakaz.db import run_in_transaction, session_factory
from zakaz.errors import DomainError, FieldError, PermissionDenied, ValidationFailed
from zakaz.orders.batching import IntakeBatcher
from zakaz.orders.intake import IntakeConfig


class Unauthorized(DomainError):
    kind = "unauthorized"


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    keys: KeyCache
    _intake: tuple[Settings, IntakeConfig] | None = field(default=None, repr=False, compare=False)
    _batcher: IntakeBatcher | None = field(default=None, repr=False, compare=False)

    @property
    def batcher(self) -> IntakeBatcher:
        """The process's order-intake thread (group commit), started on the first order."""
        if self._batcher is None:
            self._batcher = IntakeBatcher(self.engine)
        return self._batcher

    @property
    def intake(self) -> IntakeConfig:
        """Built once per settings object (not per request)."""
        cached = self._intake
        if cached is None or cached[0] is not self.settings:
            cached = self._intake = (self.settings, IntakeConfig.from_settings(self.settings))
        return cached[1]


# The dependencies below are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread
# pool, which cost every request a thread hand-off per dependency. They do no I/O but a key look-up once per
# key and ``api_key_cache_seconds``, which then runs briefly on the event loop.


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def key_holder(ctx: AppContext, authorization: str | None) -> Principal | None:
    """The principal of a ``Bearer`` API key; None when there is no such header or key (or it is revoked)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return ctx.keys.get(session_factory(ctx.engine, read_only=True), authorization[7:].strip())


def principal_of(ctx: AppContext, authorization: str | None) -> Principal:
    found = key_holder(ctx, authorization)
    if found is None:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized("missing bearer API key")
        raise Unauthorized("unknown or revoked API key")
    return found


@functools.cache  # one dependency per permission (api/intake_route.py recognises the orders:write one)
def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    # The key look-up and the role check are one dependency: FastAPI's cost per request grows with every
    # dependency it resolves. Its ``authorization`` header parameter keeps the OpenAPI document as it was.
    async def check(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        who = principal_of(request.app.state.ctx, authorization)
        if not allows(who.role, permission):
            raise PermissionDenied(f"role {who.role.value} may not {permission.value}", role=who.role.value)
        return who

    return check


IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


MutationResult = tuple[int, dict[str, Any], bool]  # status, body, replayed


def mutation(
    ctx: AppContext,
    who: Principal,
    key: str | None,
    fingerprint_of: tuple[str, str, Any] | Callable[[], tuple[str, str, Any]],
    work: Callable[[Session], tuple[int, dict[str, Any]]],
) -> Callable[[Session], MutationResult]:
    """The unit of work of a mutating call: ``work``, and with an Idempotency-Key its stored response."""
    if key is not None and not 1 <= len(key) <= idempotency.MAX_KEY_LENGTH:
        raise ValidationFailed([FieldError("Idempotency-Key", "invalid_length", "1..255 characters")])
    fingerprint = ""
    if key is not None:
        parts = fingerprint_of() if callable(fingerprint_of) else fingerprint_of
        fingerprint = idempotency.request_fingerprint(*parts)
    scope = str(who.key_id)

    def unit(session: Session) -> MutationResult:
        if key is not None:
            stored = idempotency.lookup(session, scope=scope, key=key, fingerprint=fingerprint)
            if stored is not None:
                return stored.status_code, stored.body, True
        status, body = work(session)
        if key is not None:
            idempotency.remember(
                session, scope=scope, key=key, fingerprint=fingerprint, status_code=status, body=body
            )
        return status, body, False

    return unit


def mutation_response(result: MutationResult) -> Response:
    status, body, replayed = result
    if replayed:
        return json_response(body, 200 if status == 201 else status, {"Idempotent-Replayed": "true"})
    return json_response(body, status)


def mutate(
    ctx: AppContext,
    who: Principal,
    key: str | None,
    fingerprint_of: tuple[str, str, Any] | Callable[[], tuple[str, str, Any]],
    work: Callable[[Session], tuple[int, dict[str, Any]]],
) -> Response:
    """Run ``work`` in one transaction; with an Idempotency-Key, store and replay its response."""
    unit = mutation(ctx, who, key, fingerprint_of, work)
    return mutation_response(run_in_transaction(ctx.engine, unit))
