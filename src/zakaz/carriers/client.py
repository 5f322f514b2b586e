"""HTTP client for the carrier booking/tracking contract (docs/carrier-fake-contract.md) and webhook signing.

One small client speaks the contract; each carrier module points it at its own base URL (the local fake in
tests). Every transport or HTTP failure becomes a ``CarrierError`` carrying the status and the carrier's
message, so callers never handle httpx exceptions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import httpx

from zakaz.carriers.base import CarrierError

SIGNATURE_HEADER = "X-Carrier-Signature"
TIMESTAMP_HEADER = "X-Carrier-Timestamp"
WEBHOOK_TOLERANCE_S = 300


class InvalidWebhookSignature(CarrierError):
    kind = "carrier-webhook-signature"


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``; the timestamp stops replays."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_webhook(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float,
    tolerance_s: int = WEBHOOK_TOLERANCE_S,
) -> dict[str, Any]:
    """Check signature and freshness of a webhook and return its decoded JSON body."""
    lowered = {k.lower(): v for k, v in headers.items()}
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    try:
        timestamp = int(lowered.get(TIMESTAMP_HEADER.lower(), ""))
    except ValueError as exc:
        raise InvalidWebhookSignature("webhook has no valid timestamp") from exc
    if abs(now - timestamp) > tolerance_s:
        raise InvalidWebhookSignature(f"webhook timestamp {timestamp} is outside the {tolerance_s}s window")
    if not hmac.compare_digest(signature, sign_webhook(secret, timestamp, body)):
        raise InvalidWebhookSignature("webhook signature does not match")
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise CarrierError("webhook body is not a JSON object")
    return payload


class CarrierApiClient:
    """Synchronous client for the contract: create booking, get tracking events, cancel booking."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CarrierApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CarrierError(f"{method} {path} failed: {exc}", path=path) from exc
        if response.is_error:
            try:
                message = str(response.json().get("detail", response.text))
            except ValueError:
                message = response.text
            raise CarrierError(
                f"{method} {path} -> HTTP {response.status_code}: {message}",
                status=response.status_code,
                path=path,
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise CarrierError(f"{method} {path} returned non-JSON", path=path) from exc
        if not isinstance(data, dict):
            raise CarrierError(
                f"{method} {path} returned {type(data).__name__}, expected an object", path=path
            )
        return data

    def create_booking(self, payload: Mapping[str, Any], *, idempotency_key: str = "") -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._request("POST", "/v1/bookings", json=dict(payload), headers=headers)

    def tracking(self, tracking_number: str) -> list[dict[str, Any]]:
        data = self._request("GET", f"/v1/tracking/{tracking_number}")
        events = data.get("events")
        if not isinstance(events, list):
            raise CarrierError("tracking answer has no events list")
        return [e for e in events if isinstance(e, dict)]

    def cancel_booking(self, booking_id: str) -> dict[str, Any]:
        return self._request("POST", f"/v1/bookings/{booking_id}/cancel")
