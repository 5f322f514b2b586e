"""Issue #7 back office: the support inbox (Ozon buyer chats), one conversation with the reply form.

Reading needs ``support:read`` (admin, operator, support, readonly); replying and marking read need
``support:reply`` (admin, operator, support). The reply form is disabled with the reason when the chat
does not take a reply (closed, 48-hour window, not a buyer chat) or the role may not reply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from zakaz.auth.roles import Permission, allows
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import DomainError, ValidationFailed
from zakaz.support import service, views
from zakaz.support.rules import TEXT_MAX, ConversationStatus
from zakaz.users.service import SessionUser
from zakaz.web import flash
from zakaz.web.deps import Forbidden, Poster, engine_of, require
from zakaz.web.i18n import N_
from zakaz.web.templating import render

router = APIRouter()
SupportReader = Annotated[SessionUser, Depends(require(Permission.support_read))]

STATUS = {"open": N_("Open"), "closed": N_("Closed")}
AUTHOR = {
    "customer": N_("Buyer"),
    "seller": N_("Seller"),
    "support": N_("Ozon support"),
    "system": N_("Ozon"),
}
DELIVERY = {"queued": N_("Sending…"), "sent": N_("Sent"), "failed": N_("Not sent")}
REFUSAL = {
    "closed": N_("The chat is closed: Ozon does not take replies in it."),
    "window_expired": N_(
        "More than 48 hours have passed since the buyer's last message and the order is finished: "
        "Ozon no longer takes a reply. The buyer can write again."
    ),
    "not_supported": N_("This is not a chat with a buyer; it cannot be answered here."),
    "role": N_("Your role may read conversations but not reply."),
}
TEXT_ERRORS = {
    "empty": N_("Write a message first."),
    "too_long": N_("A message has at most 1000 characters."),
}


def _dates(item: dict[str, Any]) -> dict[str, Any]:
    """The views give ISO strings (for the API); pages format datetimes in the user's language."""
    out = dict(item)
    for key, value in item.items():
        if key.endswith("_at") and isinstance(value, str):
            out[key] = datetime.fromisoformat(value)
    return out


def may_reply(user: SessionUser) -> bool:
    return allows(user.role, Permission.support_reply)


def order_conversations(session: Session, order_id: int, user: SessionUser) -> list[dict[str, Any]]:
    """For the order page: its conversations (empty for roles that may not read them)."""
    if not allows(user.role, Permission.support_read):
        return []
    return [_dates(c) for c in views.conversations_for_order(session, order_id)]


@router.get("/support", name="support")
def inbox(request: Request, user: SupportReader, status: str = "open", unread: str = "") -> Response:
    chosen = ConversationStatus(status) if status in STATUS else None
    with unit_of_work(engine_of(request), read_only=True) as session:
        items = views.list_conversations(
            session, status=chosen, unread=True if unread == "1" else None, limit=200
        )
        access = views.chat_access(session)
    context = {
        "nav": "support",
        "items": [_dates(i) for i in items],
        "status": status if chosen else "",
        "unread": unread == "1",
        "statuses": STATUS,
        "access": access,
    }
    return render(request, "support/inbox.html", context, user=user)


def _conversation_context(request: Request, conversation_id: int, user: SessionUser) -> dict[str, Any]:
    with unit_of_work(engine_of(request), read_only=True) as session:
        detail = views.conversation_detail(session, conversation_id)
        access = views.chat_access(session)
    reply = detail["reply"]
    reason = reply["reason"] if not reply["allowed"] else ("role" if not may_reply(user) else None)
    return {
        "nav": "support",
        "c": _dates(detail),
        "messages": [_dates(m) for m in detail["messages"]],
        "window_ends_at": _dates(reply)["window_ends_at"],
        "reason": reason,
        "may_reply": may_reply(user),
        "statuses": STATUS,
        "authors": AUTHOR,
        "delivery": DELIVERY,
        "refusals": REFUSAL,
        "text_max": TEXT_MAX,
        "access": access,
    }


@router.get("/support/{conversation_id}", name="support_conversation")
def conversation_page(conversation_id: int, request: Request, user: SupportReader) -> Response:
    context = _conversation_context(request, conversation_id, user)
    return render(request, "support/conversation.html", context, user=user)


@router.get("/support/{conversation_id}/messages", name="support_messages")
def messages_fragment(conversation_id: int, request: Request, user: SupportReader) -> Response:
    """The message list alone: the page polls it with HTMX to show new messages and delivery states."""
    context = _conversation_context(request, conversation_id, user)
    return render(request, "support/_messages.html", context, user=user)


def _back(conversation_id: int) -> RedirectResponse:
    return RedirectResponse(f"/support/{conversation_id}", status_code=303)


def _replier(user: SessionUser) -> None:
    if not may_reply(user):
        raise Forbidden(Permission.support_reply.value)


@router.post("/support/{conversation_id}/reply")
def reply(
    conversation_id: int,
    request: Request,
    user: Poster,
    text: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    _replier(user)
    try:
        run_in_transaction(
            engine_of(request), lambda s: service.queue_reply(s, conversation_id, text, actor=user.actor)
        )
    except ValidationFailed as exc:
        code = exc.errors[0].code if exc.errors else "empty"
        flash.flash(request, user, "error", TEXT_ERRORS.get(code, TEXT_ERRORS["empty"]))
        return _back(conversation_id)
    except DomainError as exc:
        reason = str(exc.extra.get("reason") or "")
        if reason in REFUSAL:
            flash.flash(request, user, "error", REFUSAL[reason])
        else:
            flash.flash(request, user, "error", N_("Not sent: %(detail)s"), detail=exc.detail)
        return _back(conversation_id)
    flash.flash(request, user, "success", N_("Reply queued: it is sent to Ozon in a moment."))
    return _back(conversation_id)


@router.post("/support/{conversation_id}/read")
def mark_read(conversation_id: int, request: Request, user: Poster) -> Response:
    _replier(user)
    run_in_transaction(engine_of(request), lambda s: service.mark_read(s, conversation_id))
    return _back(conversation_id)
