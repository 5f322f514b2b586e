"""Outgoing webhooks signed like Stripe's: ``Zakaz-Signature: t=<unix time>,v1=<hex HMAC-SHA256>``
over ``f"{t}.{raw body}"`` with the endpoint's secret. Receivers verify the signature, reject old
timestamps and dedupe by the event id (``Zakaz-Event-Id`` header and ``id`` in the body): a delivery may
arrive more than once. See docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import orjson

from zakaz.notifications.channels.base import ChannelError, Outgoing, SendResult
from zakaz.notifications.netguard import destination_problem

SIGNATURE_HEADER = "Zakaz-Signature"
EVENT_ID_HEADER = "Zakaz-Event-Id"
EVENT_TYPE_HEADER = "Zakaz-Event-Type"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """The receiver's check (also used by our tests): any v1 signature matches and t is recent."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)


class WebhookSender:
    name = "webhook"

    def __init__(
        self, timeout: float = 10.0, client: httpx.Client | None = None, *, allow_private: bool = False
    ) -> None:
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=5.0), follow_redirects=False
        )
        self.allow_private = allow_private

    def send(self, message: Outgoing) -> SendResult:
        event = message.data["event"]
        body = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Zakaz-Webhooks/1",
            EVENT_ID_HEADER: str(event["id"]),
            EVENT_TYPE_HEADER: str(event["type"]),
            SIGNATURE_HEADER: sign(message.data["secret"], int(time.time()), body),
        }
        if not self.allow_private and (problem := destination_problem(message.recipient)) is not None:
            raise ChannelError(f"webhook endpoint refused: {problem}")
        try:
            response = self.client.post(message.recipient, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"webhook endpoint unreachable: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise ChannelError(f"webhook endpoint answered HTTP {response.status_code}")
        return SendResult(status="sent", provider_id=f"HTTP {response.status_code}")
