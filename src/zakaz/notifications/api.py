"""HTTP entry points: /api/v1/messages (the sent-messages log), /api/v1/webhooks, customer
notification preferences, and the public /unsubscribe/{token} link. The only FastAPI module here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from zakaz.api.context import Ctx, IdemKey, json_response, mutate, require
from zakaz.auth.roles import Permission
from zakaz.auth.service import Principal
from zakaz.customers.models import Customer
from zakaz.db import unit_of_work
from zakaz.notifications import links, service
from zakaz.notifications.render import template_env
from zakaz.notifications.rules import pick_locale
from zakaz.notifications.settings import get_notify_settings

router = APIRouter(tags=["notifications"])
public = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(require(Permission.read))]
Writer = Annotated[Principal, Depends(require(Permission.orders_write))]
Admin = Annotated[Principal, Depends(require(Permission.admin))]


@router.get("/api/v1/messages", summary="Messages sent (or recorded) to shoppers and webhooks, newest first")
def list_messages(
    ctx: Ctx,
    who: Reader,
    order_id: int | None = None,
    channel: str | None = None,
    status: str | None = None,
    before: Annotated[int | None, Query(description="id of the last message seen (next page)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        rows = service.list_deliveries(
            session, order_id=order_id, channel=channel, status=status, before_id=before, limit=limit
        )
        items = [service.delivery_view(d) for d in rows]
    next_before = items[-1]["id"] if len(items) == limit else None
    return json_response({"items": items, "next_before": next_before})


@router.get("/api/v1/messages/{message_id}", summary="One message with its rendered body")
def get_message(message_id: int, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(service.delivery_view(service.get_delivery(session, message_id), full=True))


@router.post("/api/v1/messages/{message_id}/resend", summary="Send a message again (webhook replay)")
def resend_message(message_id: int, ctx: Ctx, who: Writer, idempotency_key: IdemKey = None) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        return 202, service.delivery_view(service.resend(session, message_id))

    return mutate(ctx, who, idempotency_key, ("POST", f"/messages/{message_id}/resend", {}), work)


class EndpointIn(BaseModel):
    url: str = Field(max_length=500)
    events: list[str] = Field(default_factory=list, description="topics; empty = every order event")
    description: str = Field(default="", max_length=255)


@router.post("/api/v1/webhooks", status_code=201, summary="Register a webhook endpoint (secret shown once)")
def create_webhook(data: EndpointIn, ctx: Ctx, who: Admin, idempotency_key: IdemKey = None) -> Response:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        endpoint = service.create_endpoint(
            session,
            url=data.url,
            events=data.events,
            description=data.description,
            allow_private=get_notify_settings().allow_private_destinations,
        )
        return 201, service.endpoint_view(endpoint, with_secret=True)

    return mutate(ctx, who, idempotency_key, ("POST", "/webhooks", data.model_dump()), work)


@router.get("/api/v1/webhooks", summary="Registered webhook endpoints")
def list_webhooks(ctx: Ctx, who: Admin) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response({"items": [service.endpoint_view(e) for e in service.list_endpoints(session)]})


@router.delete("/api/v1/webhooks/{endpoint_id}", status_code=204, summary="Stop sending to an endpoint")
def delete_webhook(endpoint_id: int, ctx: Ctx, who: Admin) -> Response:
    with unit_of_work(ctx.engine) as session:
        service.disable_endpoint(session, endpoint_id)
    return Response(status_code=204)


class PreferenceIn(BaseModel):
    email: bool | None = None
    sms: bool | None = None
    push: bool | None = None


@router.get("/api/v1/customers/{customer_id}/notification-preferences", summary="Channels a customer gets")
def get_preferences(customer_id: int, ctx: Ctx, who: Reader) -> Response:
    with unit_of_work(ctx.engine, read_only=True) as session:
        return json_response(service.preferences_of(session, customer_id))


@router.put("/api/v1/customers/{customer_id}/notification-preferences", summary="Turn channels on or off")
def put_preferences(customer_id: int, data: PreferenceIn, ctx: Ctx, who: Writer) -> Response:
    with unit_of_work(ctx.engine) as session:
        if session.get(Customer, customer_id) is None:
            from zakaz.errors import NotFound

            raise NotFound(f"customer {customer_id} not found")
        for channel, enabled in data.model_dump(exclude_none=True).items():
            service.set_preference(session, customer_id=customer_id, channel=channel, enabled=enabled)
        prefs = service.preferences_of(session, customer_id)
    return json_response(prefs)


_UNSUBSCRIBED = {
    "ru": ("Вы отписаны", "Мы больше не будем присылать вам такие сообщения ({channel})."),
    "en": ("You are unsubscribed", "We will not send you these messages ({channel}) any more."),
    "zh": ("退订成功", "我们将不再向您发送此类消息（{channel}）。"),
}
_INVALID = {
    "ru": ("Ссылка недействительна", "Проверьте, что ссылка скопирована полностью."),
    "en": ("This link is not valid", "Please check that the whole link was copied."),
    "zh": ("链接无效", "请检查链接是否完整。"),
}


def _unsubscribe(ctx: Ctx, token: str) -> HTMLResponse:
    settings = get_notify_settings()
    found = links.read_unsubscribe_token(token, links.secret_of(settings))
    locale = settings.default_locale
    if found is not None:
        customer_id, channel = found
        with unit_of_work(ctx.engine) as session:
            customer = session.get(Customer, customer_id)
            if customer is not None:
                locale = pick_locale(customer.locale, settings.default_locale)
                service.set_preference(session, customer_id=customer_id, channel=channel, enabled=False)
            else:
                found = None
    locale = pick_locale(locale)
    title, text = (_UNSUBSCRIBED if found else _INVALID)[locale]
    channel_name = found[1] if found else ""
    page = (
        template_env()
        .get_template("_unsubscribed.html")
        .render(locale=locale, title=title, text=text.format(channel=channel_name))
    )
    return HTMLResponse(page, status_code=200 if found else 404)


_CONFIRM = {
    "ru": ("Отписаться?", "Мы перестанем присылать вам такие сообщения ({channel}).", "Отписаться"),
    "en": ("Unsubscribe?", "We will stop sending you these messages ({channel}).", "Unsubscribe"),
    "zh": ("退订？", "我们将不再向您发送此类消息（{channel}）。", "退订"),
}


@public.get("/unsubscribe/{token}")
def unsubscribe_page(token: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """The link in a message asks first: mail scanners open links, and a GET must not change anything.
    The button (like a mail client's RFC 8058 one-click) POSTs to the same address."""
    settings = get_notify_settings()
    found = links.read_unsubscribe_token(token, links.secret_of(settings))
    locale = settings.default_locale
    if found is not None:
        with unit_of_work(ctx.engine, read_only=True) as session:
            customer = session.get(Customer, found[0])
            locale = pick_locale(customer.locale if customer else None, settings.default_locale)
    locale = pick_locale(locale)
    if found is None:
        title, text = _INVALID[locale]
        page = template_env().get_template("_unsubscribed.html").render(locale=locale, title=title, text=text)
        return HTMLResponse(page, status_code=404)
    title, text, button = _CONFIRM[locale]
    page = (
        template_env()
        .get_template("_unsubscribe_confirm.html")
        .render(
            locale=locale,
            title=title,
            text=text.format(channel=found[1]),
            button=button,
            action=request.url.path,
        )
    )
    return HTMLResponse(page)


@public.post("/unsubscribe/{token}")
def unsubscribe_one_click(token: str, ctx: Ctx) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (mail clients POST to the List-Unsubscribe URL)."""
    return _unsubscribe(ctx, token)
