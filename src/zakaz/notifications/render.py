"""Render one event for one locale: subject, plain text, HTML and SMS text from Jinja2 templates.

``templates/<locale>/<event>.j2`` holds the words (blocks ``subject``, ``body``, ``sms``);
``templates/_email.txt`` and ``_email.html`` wrap the body for e-mail (HTML is autoescaped).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"

#: Words shared by every event, per locale.
COMMON: dict[str, dict[str, str]] = {
    "ru": {
        "greeting": "Здравствуйте",
        "track": "Где мой заказ",
        "unsubscribe": "Отписаться от этих писем",
        "tracking_number": "Трек-номер",
    },
    "en": {
        "greeting": "Hello",
        "track": "Track your order",
        "unsubscribe": "Unsubscribe from these e-mails",
        "tracking_number": "Tracking number",
    },
    "zh": {
        "greeting": "您好",
        "track": "查看订单状态",
        "unsubscribe": "退订此类邮件",
        "tracking_number": "运单号",
    },
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str
    body: str  # the event's paragraph alone (push notifications)


@cache
def template_env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _block(template: Template, name: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(context))).strip()


def render(event: str, locale: str, context: dict[str, Any]) -> Rendered:
    """``context``: shop, name, number, tracking_url, unsubscribe_url and the event's extras
    (carrier, tracking_number, carrier_url, ship_by); missing extras render as absent."""
    env = template_env()
    ctx = {"carrier": None, "tracking_number": None, "carrier_url": None, "ship_by": None, **context}
    ctx.setdefault("rma", None)  # issue #6: return events
    ctx.setdefault("note", None)
    ctx.setdefault("unsubscribe_url", None)
    template = env.get_template(f"{locale}/{event}.j2")
    subject = _block(template, "subject", ctx)
    body = _block(template, "body", ctx)
    sms = " ".join(_block(template, "sms", ctx).split())
    wrap = {**ctx, "t": COMMON[locale], "locale": locale, "subject": subject, "body": body}
    text = env.get_template("_email.txt").render(wrap)
    html = env.get_template("_email.html").render(wrap)
    return Rendered(subject=subject, text=text, html=html, sms=sms, body=body)
