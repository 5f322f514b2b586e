"""Web Push (RFC 8030/8291/8292) with pywebpush and a VAPID key.

``vapid_private_key`` in pywebpush takes a ``Vapid02`` object, a PEM *file path* or base64url DER/raw,
not a PEM string; :func:`load_vapid` accepts all four forms and always hands pywebpush the object.
A 404/410 answer means the browser dropped the subscription: the delivery is skipped and the row removed.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
import requests
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from zakaz.notifications.channels.base import ChannelError, Outgoing, RecipientGone, SendResult
from zakaz.notifications.netguard import destination_problem
from zakaz.notifications.settings import NotifySettings


def load_vapid(value: str) -> Vapid02:
    value = value.strip()
    if value.startswith("-----BEGIN"):
        return Vapid02.from_pem(value.encode())
    if os.path.isfile(value):
        return Vapid02.from_file(value)
    return Vapid02.from_string(value)


class WebPush:
    name = "push"

    def __init__(self, settings: NotifySettings) -> None:
        self.vapid = load_vapid(settings.vapid_private_key)
        self.subject = settings.vapid_subject
        self.allow_private = settings.allow_private_destinations
        # pywebpush posts with requests, which follows redirects: a push service never redirects, and an
        # endpoint that does could bounce the server to an internal address
        self.session = requests.Session()
        self.session.max_redirects = 0

    def send(self, message: Outgoing) -> SendResult:
        subscription: dict[str, Any] = {
            "endpoint": message.data["endpoint"],
            "keys": {"p256dh": message.data["p256dh"], "auth": message.data["auth"]},
        }
        payload = orjson.dumps(
            {"title": message.subject, "body": message.text, "url": message.data.get("url", "")}
        ).decode()
        endpoint = str(message.data["endpoint"])
        if not self.allow_private and (problem := destination_problem(endpoint)) is not None:
            raise ChannelError(f"push endpoint refused: {problem}")
        try:
            response = webpush(
                subscription,
                data=payload,
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.subject},
                ttl=24 * 3600,
                timeout=10,
                requests_session=self.session,
            )
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                raise RecipientGone(f"push subscription gone ({status})") from exc
            raise ChannelError(f"push service: {exc}".splitlines()[0]) from exc
        except requests.TooManyRedirects as exc:
            raise ChannelError("push endpoint answered with a redirect (not followed)") from exc
        except OSError as exc:
            raise ChannelError(f"push service unreachable: {exc}") from exc
        return SendResult(status="sent", provider_id=response.headers.get("Location"))
