"""/api/v1/support (issue #7): the support inbox. Conversations (Ozon buyer chats) with their messages;
replies are queued here and sent by the worker; marking read is also passed on to Ozon by the worker.

Roles: admin, operator and support read and reply; readonly reads; warehouse neither.
Errors: 422 for an empty or too long text (field ``text``), 409 ``reply-not-allowed`` with a ``reason``
(``closed``, ``window_expired``, ``not_supported``) when the chat does not take a reply now.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from zakaz.api import problems
from zakaz.api.context import Ctx, IdemKey, json_response, mutate, require
from zakaz.auth.roles import Permission
from zakaz.auth.service import Principal
from zakaz.db import unit_of_work
from zakaz.orders.views import find_order_id
from zakaz.support import service, views
from zakaz.support.rules import ConversationStatus

problems.PROBLEM_TYPES.setdefault(
    "reply-not-allowed",
    (
        409,
        "This conversation does not take a reply now",
        "See reason: the chat is closed, the 48-hour window after the buyer's last message has passed, "
        "or it is not a chat with a buyer.",
    ),
)

router = APIRouter(prefix="/api/v1/support", tags=["support"])
Reader = Annotated[Principal, Depends(require(Permission.support_read))]
Replier = Annotated[Principal, Depends(require(Permission.support_reply))]


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # 1..1000 characters after trimming (checked by the rules, 422 naming ``text``); the cap here only
    # bounds the request.
    text: str = Field(max_length=20_000, description="plain text, 1..1000 characters")


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


@router.get("/conversations", summary="Conversations: unread first, then the most recent")
def list_conversations(
    ctx: Ctx,
    who: Reader,
    status: Literal["open", "closed"] | None = None,
    unread: bool | None = None,
    order: Annotated[str | None, Query(max_length=64, description="order number or id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        order_id = find_order_id(session, order) if order else None
        items = views.list_conversations(
            session,
            status=ConversationStatus(status) if status else None,
            unread=unread,
            order_id=order_id,
            limit=limit,
            offset=offset,
        )
    next_offset = offset + len(items) if len(items) == limit else None
    return json_response({"items": items, "next_offset": next_offset})


@router.get("/conversations/{conversation_id}", summary="One conversation with its messages")
def get_conversation(conversation_id: int, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(views.conversation_detail(session, conversation_id))


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=201,
    summary="Reply (queued; the worker sends it to the marketplace once)",
)
def reply(
    conversation_id: int, body: ReplyIn, ctx: Ctx, who: Replier, idempotency_key: IdemKey = None
) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        message = service.queue_reply(session, conversation_id, body.text, actor=who.actor)
        session.flush()
        return 201, views.message_view(message)

    path = f"/support/conversations/{conversation_id}/messages"
    return mutate(ctx, who, idempotency_key, ("POST", path, body.model_dump()), work)


@router.post("/conversations/{conversation_id}/read", summary="Mark everything in the conversation read")
def mark_read(
    conversation_id: int, ctx: Ctx, who: Replier, body: ReadIn | None = None, idempotency_key: IdemKey = None
) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        service.mark_read(session, conversation_id)
        session.flush()
        return 200, views.conversation_detail(session, conversation_id)

    path = f"/support/conversations/{conversation_id}/read"
    return mutate(ctx, who, idempotency_key, ("POST", path, {}), work)
