"""SMS through SMS.ru's HTTP API (https://sms.ru/api/send).

``POST {base}/sms/send`` with ``api_id``, ``to``, ``msg``, ``json=1`` (and ``from`` for an approved sender,
``test=1`` for a dry run). The JSON answer has a request-level ``status``/``status_code`` and, per number,
``sms[<number>]`` with ``status``, ``status_code`` and ``sms_id`` (or ``status_text`` on error).
"""

from __future__ import annotations

from typing import Any

import httpx

from zakaz.notifications.channels.base import ChannelError, Outgoing, SendResult
from zakaz.notifications.rules import sms_encoding, sms_segments
from zakaz.notifications.settings import NotifySettings

#: SMS.ru codes that no retry can fix for this number: wrong number, no route, stop list, bad text.
PERMANENT_CODES = frozenset({202, 203, 205, 207, 209})


def normalise_msisdn(phone: str) -> str:
    """SMS.ru wants digits only, country code first: ``+7 916 123-45-67`` -> ``79161234567``."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits


def parse_send_response(body: dict[str, Any], to: str) -> str:
    """The ``sms_id`` for ``to``, or ChannelError carrying SMS.ru's code and text."""
    if body.get("status") != "OK":
        code = int(body.get("status_code", 0) or 0)
        raise ChannelError(
            f"SMS.ru {code}: {body.get('status_text', '')}", retryable=code not in PERMANENT_CODES
        )
    entry = (body.get("sms") or {}).get(to)
    if not isinstance(entry, dict):
        raise ChannelError(f"SMS.ru answer has no entry for {to}")
    if entry.get("status") != "OK":
        code = int(entry.get("status_code", 0) or 0)
        raise ChannelError(
            f"SMS.ru {code}: {entry.get('status_text', '')}", retryable=code not in PERMANENT_CODES
        )
    return str(entry.get("sms_id", ""))


class SmsRu:
    name = "sms"

    def __init__(self, settings: NotifySettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0))

    def send(self, message: Outgoing) -> SendResult:
        s = self.settings
        to = normalise_msisdn(message.recipient)
        form = {"api_id": s.smsru_api_id, "to": to, "msg": message.text, "json": "1"}
        if s.smsru_sender:
            form["from"] = s.smsru_sender
        if s.smsru_test:
            form["test"] = "1"
        try:
            response = self.client.post(f"{s.smsru_base_url.rstrip('/')}/sms/send", data=form)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ChannelError(f"SMS.ru unreachable or bad answer: {exc}") from exc
        sms_id = parse_send_response(body, to)
        detail = {"segments": sms_segments(message.text), "encoding": sms_encoding(message.text)}
        if "balance" in body:
            detail["balance"] = body["balance"]
        return SendResult(status="sent", provider_id=sms_id, detail=detail)
