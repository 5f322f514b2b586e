"""The network side of the inbox (run by worker jobs): chat pushes, the periodic pull, replies, read marks.

No transaction is held across a network call. Transient marketplace errors propagate from the outbox
handlers (the worker retries with backoff). Ozon refusing chat access (HTTP 403: no Premium Plus, or a
key without the chat role) is recorded as the connection's ``chats`` sync status ``no_access`` and the
periodic pull then asks again only every ``no_access_retry_seconds``: a status, not a crash loop.

Sending is not idempotent on Ozon (no idempotency key). Each attempt is committed before the call; a
retry first reads the chat history, where an earlier attempt that did reach Ozon shows up as a seller
message with the same text (``service.record_messages`` then confirms the reply), and sends only if not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.clock import utcnow
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.marketplaces.base import (
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceRejected,
    MarketplaceUnavailable,
)
from zakaz.marketplaces.connections import AdapterFactory, Connection, load_connection, open_adapter
from zakaz.marketplaces.models import MarketplacePush
from zakaz.marketplaces.settings import MarketplaceSettings
from zakaz.marketplaces.syncstate import record_error, state_for
from zakaz.support import service
from zakaz.support.channel import ChatChannel, ChatMessage, ChatSummary
from zakaz.support.models import SupportMessage
from zakaz.support.ozon import CHANNEL, OzonChats, chat_push
from zakaz.support.rules import ConversationStatus, DeliveryStatus, message_order
from zakaz.support.settings import SupportSettings

log = logging.getLogger(__name__)

#: ``marketplace_sync_state.kind`` of the chat sync (shown with the other syncs of the connection).
CHATS = "chats"
NO_ACCESS = "no_access"


@contextmanager
def open_chats(factory: AdapterFactory, connection: Connection) -> Iterator[ChatChannel]:
    with open_adapter(factory, connection) as adapter:
        yield OzonChats(adapter.client)


# ------------------------------------------------------------------------------------ access status


def access_denied(engine: Engine, connection_id: int, exc: Exception, settings: MarketplaceSettings) -> str:
    """Record that Ozon refuses chat access; returns the message shown to people."""
    detail = getattr(exc, "message", None) or str(exc)
    message = f"Ozon refused access to chats: {detail}"

    def work(session: Session) -> None:
        state = state_for(session, connection_id, CHATS, lock=True)
        if state.status != NO_ACCESS:  # one error row per outage, not one per call
            record_error(session, connection_id, CHATS, message, keep=settings.keep_errors)
        state.status, state.last_error, state.last_finished_at = NO_ACCESS, message[:4000], utcnow()

    run_in_transaction(engine, work)
    log.warning("connection %s: %s", connection_id, message)
    return message


def _access_ok(session: Session, connection_id: int) -> None:
    state = state_for(session, connection_id, CHATS, lock=True)
    if state.status == NO_ACCESS:
        state.status, state.last_error = "ok", None


# ----------------------------------------------------------------------------------- history fetch


def fetch_new(
    engine: Engine, chats: ChatChannel, ref: service.ConversationRef, support: SupportSettings
) -> service.Recorded:
    """Read the chat's history from the last stored message on (or the newest pages, the first time)
    and store it page by page; each page is its own short transaction."""
    total = service.Recorded()

    def store(batch: tuple[ChatMessage, ...]) -> None:
        if not batch:
            return
        done = run_in_transaction(engine, lambda s: service.record_messages(s, ref.id, batch))
        total.inbound += done.inbound
        total.outbound += done.outbound
        total.confirmed += done.confirmed

    limit = max(2, support.history_page)  # from_message_id is inclusive: a page of 1 would not advance
    if ref.last_external_message_id is None:
        newest: list[ChatMessage] = []
        cursor: str | None = None
        for _ in range(support.first_history_pages):
            page = chats.history(ref.external_id, from_message_id=cursor, forward=False, limit=limit)
            newest.extend(page.messages)
            oldest = min((m.external_id for m in page.messages), key=message_order, default=None)
            if not page.has_next or oldest is None or oldest == cursor:
                break
            cursor = oldest
        store(tuple(newest))
        return total
    cursor = ref.last_external_message_id
    for _ in range(support.history_max_pages):
        page = chats.history(ref.external_id, from_message_id=cursor, forward=True, limit=limit)
        store(page.messages)
        newest_id = max((m.external_id for m in page.messages), key=message_order, default=None)
        if not page.has_next or newest_id is None or newest_id == cursor:
            break
        cursor = newest_id
    return total


def _ref(engine: Engine, conversation_id: int) -> service.ConversationRef:
    with unit_of_work(engine, read_only=True) as session:
        return service.ref_of(service.load_conversation(session, conversation_id))


# ----------------------------------------------------------------------------------------- pushes


def _settle_push(engine: Engine, push_id: int, status: str, error: str | None = None) -> None:
    def work(session: Session) -> None:
        push = session.get(MarketplacePush, push_id)
        if push is not None:
            push.status, push.error, push.processed_at = status, error, utcnow()

    run_in_transaction(engine, work)


def process_chat_push(
    engine: Engine,
    push_id: int,
    *,
    factory: AdapterFactory,
    settings: MarketplaceSettings,
    support: SupportSettings,
) -> str:
    """A chat push from the inbox table. New message: fetch that chat's history from the last message
    we know (the push body is only a hint). Update: re-read that message. Read: mark messages read.
    Closed: close the conversation. Repeating it is harmless (settled pushes are skipped)."""
    with unit_of_work(engine, read_only=True) as session:
        push = session.get(MarketplacePush, push_id)
        if push is None or push.status in ("done", "failed"):
            return "skipped"
        body, connection_id = dict(push.body), push.connection_id
        connection = load_connection(session, connection_id, settings) if connection_id else None
    hint = chat_push(body)
    if connection is None or connection_id is None or hint.chat_id is None:
        _settle_push(engine, push_id, "failed", "no Ozon connection or no chat_id for this chat push")
        return "failed"
    chat_id = hint.chat_id
    if hint.chat_type and hint.chat_type not in support.chat_types:
        _settle_push(engine, push_id, "done", f"chat type {hint.chat_type} is not kept in the inbox")
        return "ignored"

    def conversation(session: Session) -> service.ConversationRef:
        closed = hint.message_type == "TYPE_CHAT_CLOSED"
        conv = service.ensure_conversation(
            session,
            channel=CHANNEL,
            connection_id=connection_id,
            external_id=chat_id,
            chat_type=hint.chat_type,
            status=ConversationStatus.closed if closed else None,
        )
        if hint.message_type == "TYPE_MESSAGE_READ":
            service.marketplace_read(session, conv.id, upto=hint.last_read_message_id, by=hint.user_type)
        return service.ref_of(conv)

    ref = run_in_transaction(engine, conversation)
    outcome = "done"
    if hint.message_type in ("TYPE_NEW_MESSAGE", "TYPE_UPDATE_MESSAGE"):
        try:
            with open_chats(factory, connection) as chats:
                if hint.message_type == "TYPE_UPDATE_MESSAGE" and hint.message_id:
                    changed = chats.messages(chat_id, [hint.message_id])
                    run_in_transaction(
                        engine, lambda s: service.record_messages(s, ref.id, changed, update_existing=True)
                    )
                else:
                    got = fetch_new(engine, chats, ref, support)
                    outcome = f"{got.inbound} new, {got.outbound + got.confirmed} from the seller"
            run_in_transaction(engine, lambda s: _access_ok(s, connection_id))
        except MarketplaceAuthError as exc:
            _settle_push(engine, push_id, "failed", access_denied(engine, connection_id, exc, settings))
            return "no access"
        except MarketplaceRejected as exc:
            message = f"chat push {push_id} ({chat_id}): {type(exc).__name__}: {exc}"
            run_in_transaction(
                engine,
                lambda s: record_error(s, connection_id, CHATS, message, external_id=chat_id[:64]),
            )
            _settle_push(engine, push_id, "failed", message)
            return "failed"
    _settle_push(engine, push_id, "done")
    return outcome


# ------------------------------------------------------------------------------------ periodic pull


@dataclass
class PullReport:
    connection_id: int
    chats: int = 0
    fetched: int = 0
    new: int = 0
    skipped: str | None = None
    failed: str | None = None

    def line(self) -> str:
        if self.skipped:
            return f"skipped: {self.skipped}"
        tail = f"; failed: {self.failed}" if self.failed else ""
        return f"{self.chats} chats listed, {self.fetched} read, {self.new} new messages{tail}"


def _upsert(engine: Engine, connection_id: int, summary: ChatSummary) -> service.ConversationRef:
    def work(session: Session) -> service.ConversationRef:
        conv = service.ensure_conversation(
            session,
            channel=CHANNEL,
            connection_id=connection_id,
            external_id=summary.external_id,
            chat_type=summary.chat_type,
            status=summary.status,
            created_at=summary.created_at,
        )
        return service.ref_of(conv)

    return run_in_transaction(engine, work)


def pull_chats(
    engine: Engine,
    connection_id: int,
    *,
    factory: AdapterFactory,
    settings: MarketplaceSettings,
    support: SupportSettings,
    now: datetime | None = None,
) -> PullReport:
    """List chats with unread messages (every open chat on the first run) and read their new history.

    Catches what pushes missed (Ozon drops pushes after repeated failures). Idempotent by message id.
    """
    now = now or utcnow()
    report = PullReport(connection_id)
    with unit_of_work(engine) as session:
        state = state_for(session, connection_id, CHATS)
        retry_at = (state.last_finished_at or now) + timedelta(seconds=support.no_access_retry_seconds)
        if state.status == NO_ACCESS and now < retry_at:
            report.skipped = (
                f"Ozon refused chat access; next try after {retry_at.isoformat(timespec='seconds')}"
            )
            return report
        first = state.last_success_at is None
        state.last_started_at = now
        connection = load_connection(session, connection_id, settings)
    denied: MarketplaceAuthError | None = None
    try:
        with open_chats(factory, connection) as chats:
            for summary in chats.list_chats(unread_only=not first):
                report.chats += 1
                if summary.chat_type not in support.chat_types:
                    continue

                ref = _upsert(engine, connection_id, summary)
                if summary.last_message_id is not None and message_order(
                    summary.last_message_id
                ) <= message_order(ref.last_external_message_id):
                    continue  # nothing newer than what we have
                report.fetched += 1
                report.new += fetch_new(engine, chats, ref, support).inbound
    except MarketplaceAuthError as exc:
        denied = exc
        report.failed = access_denied(engine, connection_id, exc, settings)
    except MarketplaceError as exc:
        report.failed = f"{type(exc).__name__}: {exc}"

    def finish(session: Session) -> None:
        state = state_for(session, connection_id, CHATS, lock=True)
        state.last_finished_at = utcnow()
        state.summary = {"chats": report.chats, "read": report.fetched, "new": report.new}
        if denied is not None:
            return  # access_denied() set the status
        if report.failed:
            state.status, state.last_error = "failed", report.failed[:4000]
            record_error(session, connection_id, CHATS, report.failed, keep=settings.keep_errors)
        else:
            state.status, state.last_error = "ok", None
            state.cursor_at, state.last_success_at = now, state.last_finished_at

    run_in_transaction(engine, finish)
    return report


# ------------------------------------------------------------------------------------------- replies


@dataclass(frozen=True)
class _Outgoing:
    id: int
    text: str
    status: str
    attempts: int
    attempted: bool
    conversation: service.ConversationRef


def _outgoing(engine: Engine, message_id: int) -> _Outgoing | None:
    with unit_of_work(engine, read_only=True) as session:
        row = session.get(SupportMessage, message_id)
        if row is None:
            return None
        conv = service.load_conversation(session, row.conversation_id)
        return _Outgoing(
            row.id,
            row.text,
            row.delivery_status or "",
            row.attempts,
            row.send_attempted_at is not None,
            service.ref_of(conv),
        )


def _fail(engine: Engine, message_id: int, error: str) -> str:
    def work(session: Session) -> None:
        row = session.get(SupportMessage, message_id, with_for_update=True)
        if row is not None and row.delivery_status == DeliveryStatus.queued.value:
            row.delivery_status, row.error = DeliveryStatus.failed.value, error[:2000]

    run_in_transaction(engine, work)
    return f"failed: {error}"


def send_reply(
    engine: Engine,
    message_id: int,
    *,
    factory: AdapterFactory,
    settings: MarketplaceSettings,
    support: SupportSettings,
) -> str:
    """Send a queued reply once. Safe to repeat (see the module docstring)."""
    out = _outgoing(engine, message_id)
    if out is None or out.status != DeliveryStatus.queued.value:
        return "nothing to do"
    conv = out.conversation
    if conv.connection_id is None:
        return _fail(engine, out.id, "this conversation has no marketplace connection")
    connection_id = conv.connection_id
    with unit_of_work(engine, read_only=True) as session:
        connection = load_connection(session, connection_id, settings)
    try:
        with open_chats(factory, connection) as chats:
            if out.attempted:
                fetch_new(engine, chats, conv, support)  # an earlier attempt may have reached Ozon
                again = _outgoing(engine, out.id)
                if again is None or again.status != DeliveryStatus.queued.value:
                    return "already sent (found in the chat history)"
                if again.attempts >= support.reply_max_attempts:
                    return _fail(engine, out.id, f"not delivered after {again.attempts} attempts")

            def attempt(session: Session) -> str | None:
                row = session.get(SupportMessage, out.id, with_for_update=True)
                if row is None or row.delivery_status != DeliveryStatus.queued.value:
                    return "gone"
                check = service.can_reply(session, service.load_conversation(session, row.conversation_id))
                if not check.allowed:
                    return f"no longer allowed: {check.reason}"
                row.attempts += 1
                row.send_attempted_at = utcnow()
                return None

            blocked = run_in_transaction(engine, attempt)
            if blocked == "gone":
                return "nothing to do"
            if blocked is not None:
                return _fail(engine, out.id, blocked)
            try:
                chats.send(conv.external_id, out.text)
            except MarketplaceUnavailable as exc:  # outcome unknown: the retry reads the history first
                note = f"{type(exc).__name__}: {exc}"
                run_in_transaction(engine, lambda s: _note(s, out.id, note))
                raise
            run_in_transaction(engine, lambda s: _sent(s, out.id))
            try:
                fetch_new(engine, chats, _ref(engine, conv.id), support)  # learn the message id now
            except MarketplaceError as exc:
                log.info("reply %s sent; its id will be read later: %s", out.id, exc)
    except MarketplaceAuthError as exc:
        return _fail(engine, out.id, access_denied(engine, connection_id, exc, settings))
    except MarketplaceRejected as exc:
        detail = getattr(exc, "message", None) or str(exc)
        return _fail(engine, out.id, f"Ozon refused the message: {detail}")
    return "sent"


def _note(session: Session, message_id: int, error: str) -> None:
    row = session.get(SupportMessage, message_id)
    if row is not None:
        row.error = error[:2000]


def _sent(session: Session, message_id: int) -> None:
    row = session.get(SupportMessage, message_id, with_for_update=True)
    if row is not None and row.delivery_status != DeliveryStatus.sent.value:
        row.delivery_status, row.sent_at, row.error = DeliveryStatus.sent.value, utcnow(), None


# ---------------------------------------------------------------------------------------- read marks


def send_read(
    engine: Engine, conversation_id: int, *, factory: AdapterFactory, settings: MarketplaceSettings
) -> str:
    """Tell the marketplace the conversation was read here (up to the newest incoming message)."""
    with unit_of_work(engine, read_only=True) as session:
        conv = service.load_conversation(session, conversation_id)
        upto = service.last_inbound_id(session, conversation_id)
        chat_id, connection_id = conv.external_id, conv.connection_id
        connection = load_connection(session, connection_id, settings) if connection_id else None
    if connection is None or connection_id is None or upto is None:
        return "nothing to do"
    try:
        with open_chats(factory, connection) as chats:
            chats.mark_read(chat_id, upto)
    except MarketplaceAuthError as exc:
        return f"no access: {access_denied(engine, connection_id, exc, settings)}"
    except MarketplaceRejected as exc:
        log.info("Ozon did not take the read mark of %s: %s", chat_id, exc)
        return f"refused: {exc}"
    return "marked read on Ozon"
