"""Ozon push notifications: accept fast (inbox row + outbox message), process later in the worker.

Ozon suspends *all* pushes when answers take over 5 s or fewer than half are HTTP 200 (notes 4.1), so the
request does two inserts and answers in the documented shapes:

* ``TYPE_PING``: ``{"version", "name", "time"}`` (time: UTC RFC 3339);
* accepted: ``{"result": true}``;
* errors: 4xx/5xx with ``{"error": {"code": "ERROR_UNKNOWN" | "ERROR_PARAMETER_VALUE_MISSED", "message": ...,
  "details": null}}``.

A repeated push (same dedupe key: FBS pushes carry no delivery id, so (type, posting, new state, date)) is
never processed twice, and is answered ``{"result": true}`` like the first: Ozon resends a push whose answer
it did not get, and treats a non-200 answer as undelivered (resent again) and as a strike towards the
"fewer than half answered 200" rule that suspends every push. The documented ERROR_REQUEST_DUPLICATED
answer would turn one lost answer into a run of resends and strikes.

Posting pushes are hints (late, duplicated, out of order): the handler re-reads the posting
(``/v3/posting/fbs/get``) and applies the current state through ``service.apply_posting``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz import __version__
from zakaz.clock import utcnow
from zakaz.config import Settings, get_settings
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.marketplaces.base import EventKind, MappingError, MarketplaceNotFound, MarketplaceRejected
from zakaz.marketplaces.connections import (
    AdapterFactory,
    connection_for_seller,
    load_connection,
    open_adapter,
)
from zakaz.marketplaces.mappings import load_lookups
from zakaz.marketplaces.models import MarketplacePush
from zakaz.marketplaces.ozon import mapping
from zakaz.marketplaces.service import apply_posting, intake_config
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.marketplaces.syncstate import record_error
from zakaz.outbox import add_messages, outbox_row
from zakaz.worker.sql import insert_ignore

log = logging.getLogger(__name__)

PUSH_TOPIC = "marketplace.push_received"
ERROR_UNKNOWN = "ERROR_UNKNOWN"
ERROR_PARAMETER_VALUE_MISSED = "ERROR_PARAMETER_VALUE_MISSED"
#: issue #7: chat pushes are stored like the others and handed to the support inbox (``zakaz.support.sync``)
CHAT_PUSH_TOPIC = "marketplace.chat_push_received"  # issue #7
CHAT_PUSH_TYPES = frozenset(  # issue #7
    {"TYPE_NEW_MESSAGE", "TYPE_UPDATE_MESSAGE", "TYPE_MESSAGE_READ", "TYPE_CHAT_CLOSED"}
)

#: Pushes about one posting: stored and processed (the posting is re-read and applied).
POSTING_KINDS = frozenset(
    {
        EventKind.new_order,
        EventKind.cancelled,
        EventKind.state_changed,
        EventKind.ship_by_changed,
        EventKind.delivery_date_changed,
    }
)


@dataclass(frozen=True)
class PushAnswer:
    status: int
    body: dict[str, Any]


def error_answer(status: int, code: str, message: str) -> PushAnswer:
    return PushAnswer(status, {"error": {"code": code, "message": message, "details": None}})


def ping_answer(settings: MarketplaceSettings, now: datetime) -> PushAnswer:
    time = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return PushAnswer(200, {"version": __version__, "name": settings.app_name, "time": time})


def source_allowed(client_ip: str | None, networks: Sequence[str]) -> bool:
    if not networks:
        return True
    if not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


def dedupe_key(body: Mapping[str, Any], message_type: str, kind: EventKind, event_key: str | None) -> str:
    """Posting pushes: the mapping's (type|posting|state|date) key. Chat pushes: chat + message id.

    Anything else: a hash of the canonical body (an identical resend is a duplicate). Long keys are hashed.
    """
    if event_key and kind in POSTING_KINDS:
        key = event_key
    elif body.get("message_id") or body.get("chat_id"):
        parts = (
            body.get("chat_id"),
            body.get("message_id"),
            body.get("updated_at") or body.get("created_at"),
        )
        key = "|".join([message_type, *(str(p or "") for p in parts)])
    else:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        key = f"{message_type}|sha256:{hashlib.sha256(canonical).hexdigest()}"
    if len(key) > 255:
        key = f"{message_type[:60]}|sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def _parse(raw: bytes) -> dict[str, Any] | PushAnswer:
    try:
        body = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        return error_answer(400, ERROR_UNKNOWN, "the request body is not valid JSON")
    if not isinstance(body, dict):
        return error_answer(400, ERROR_UNKNOWN, "the request body must be a JSON object")
    message_type = body.get("message_type")
    if not isinstance(message_type, str) or not message_type.strip():
        return error_answer(400, ERROR_PARAMETER_VALUE_MISSED, "message_type is required")
    return body


def receive_push(
    engine: Engine,
    raw: bytes,
    *,
    client_ip: str | None,
    settings: MarketplaceSettings,
    now: datetime | None = None,
) -> PushAnswer:
    """Validate, store once, queue; returns the answer for Ozon. Never raises for a bad body."""
    now = now or utcnow()
    if not source_allowed(client_ip, settings.push_allowed_networks):
        return error_answer(403, ERROR_UNKNOWN, "source address not allowed")
    parsed = _parse(raw)
    if isinstance(parsed, PushAnswer):
        return parsed
    body = parsed
    message_type = str(body["message_type"]).strip()
    if message_type == "TYPE_PING":
        return ping_answer(settings, now)
    try:
        event = mapping.push_to_event(body)
    except MappingError as exc:
        return error_answer(400, ERROR_PARAMETER_VALUE_MISSED, f"invalid push: {exc}")
    if event.kind in POSTING_KINDS and not event.external_id:
        return error_answer(400, ERROR_PARAMETER_VALUE_MISSED, "posting_number is required")
    key = dedupe_key(body, message_type, event.kind, event.dedupe_key)
    process = event.kind in POSTING_KINDS
    chat = message_type in CHAT_PUSH_TYPES  # issue #7

    def store(session: Session) -> int | None:
        row = {
            "channel": "ozon",
            "connection_id": connection_for_seller(session, event.seller_id),
            "message_type": message_type[:64],
            "dedupe_key": key,
            "external_id": (event.external_id or "")[:64] or None,
            "body": body,
            "status": "pending" if process else "stored",
            "received_at": now,
        }
        push_id: int | None = insert_ignore(
            session,
            MarketplacePush.__table__,  # type: ignore[arg-type]
            row,
            returning=MarketplacePush.id,
        )
        if push_id is not None and process:
            add_messages(session, [outbox_row(PUSH_TOPIC, "marketplace_push", push_id, {"push_id": push_id})])
        if push_id is not None and chat:  # issue #7: the support inbox fetches that chat's new messages
            job = {"push_id": push_id}  # issue #7
            add_messages(session, [outbox_row(CHAT_PUSH_TOPIC, "marketplace_push", push_id, job)])  # issue #7
        return push_id

    run_in_transaction(engine, store)  # None for a duplicate: stored once, acknowledged every time
    return PushAnswer(200, {"result": True})


# ------------------------------------------------------------------------------------------- processing


def _settle(engine: Engine, push_id: int, status: str, error: str | None = None) -> None:
    def work(session: Session) -> None:
        push = session.get(MarketplacePush, push_id)
        if push is not None:
            push.status, push.error, push.processed_at = status, error, utcnow()

    run_in_transaction(engine, work)


def process_push(
    engine: Engine,
    push_id: int,
    *,
    factory: AdapterFactory,
    settings: MarketplaceSettings,
    app_settings: Settings | None = None,
) -> str:
    """Re-read the posting a push is about and apply it. Safe to repeat: a settled push is skipped.

    Transient marketplace errors propagate (the worker retries with backoff); a posting Ozon no longer
    knows, or one we cannot apply, marks the push ``failed`` and is recorded in the sync errors.
    """
    app_settings = app_settings or get_settings()
    with unit_of_work(engine, read_only=True) as session:
        push = session.scalar(select(MarketplacePush).where(MarketplacePush.id == push_id))
        if push is None or push.status != "pending":
            return "skipped"
        connection_id, number = push.connection_id, push.external_id
        if connection_id is not None and number is not None:
            connection = load_connection(session, connection_id, settings)
            lookups = load_lookups(session, connection_id)
    if connection_id is None or number is None:
        _settle(engine, push_id, "failed", "no Ozon connection (or no posting number) for this push")
        return "failed"
    with open_adapter(factory, connection) as adapter:
        try:
            posting = adapter.get(number)
        except (MarketplaceNotFound, MarketplaceRejected, MappingError) as exc:
            message = f"push {push_id} ({number}): {type(exc).__name__}: {exc}"
            run_in_transaction(
                engine,
                lambda s: record_error(
                    s, connection_id, "push", message, external_id=number, keep=settings.keep_errors
                ),
            )
            _settle(engine, push_id, "failed", message)
            return "failed"
    config = intake_config(app_settings)

    def work(session: Session) -> str:
        push = session.get(MarketplacePush, push_id, with_for_update=True)
        if push is None or push.status != "pending":
            return "skipped"
        applied = apply_posting(
            session,
            connection_id=connection_id,
            posting=posting,
            lookups=lookups,
            config=config,
            settings=settings,
            phone_region=app_settings.default_phone_region,
        )
        push.status, push.processed_at = "done", utcnow()
        return applied.outcome

    try:
        return run_in_transaction(engine, work)
    except Exception as exc:
        detail = getattr(exc, "detail", None) or str(exc)
        message = f"push {push_id} ({number}): {type(exc).__name__}: {detail}"
        log.warning("%s", message)
        run_in_transaction(
            engine,
            lambda s: record_error(
                s, connection_id, "push", message, external_id=number, keep=settings.keep_errors
            ),
        )
        _settle(engine, push_id, "failed", message)
        return "failed"
