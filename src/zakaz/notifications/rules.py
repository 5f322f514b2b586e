"""Pure rules: which event a topic is, who hears about it, quiet hours, SMS segments. No database here."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

LOCALES = ("ru", "en", "zh")

#: Outbox topic -> shopper event (the template name). Topics not listed notify nobody but webhooks.
SHOPPER_EVENTS: dict[str, str] = {
    "order.received": "received",
    "order.confirmed": "confirmed",
    "order.partially_shipped": "partially_shipped",  # part of a split order left; the rest follows
    "order.shipped": "shipped",
    "order.out_for_delivery": "out_for_delivery",
    "shipment.out_for_delivery": "out_for_delivery",
    "order.delivered": "delivered",
    "order.delayed": "delayed",
    "order.cancelled": "cancelled",
    # issue #6: after-sales (payload carries order_id and rma)
    "return.requested": "return_requested",
    "return.approved": "return_approved",
    "return.rejected": "return_rejected",
    "return.received": "return_received",
    "return.refunded": "return_refunded",
    # issue #6: every step the shopper waits for; "return.inspected" is left out on purpose: the
    # refund, exchange or closing that follows inspection tells the outcome, and "received" already
    # said the items would be checked
    "return.in_transit": "return_in_transit",
    "return.exchanged": "return_exchanged",
    "return.closed": "return_closed",
}

#: A confirmation this soon after the order was received is the intake's automatic one: the
#: "received" message already told the shopper, so a second e-mail a second later is noise.
AUTO_CONFIRM_WINDOW = timedelta(seconds=60)


def pick_locale(preferred: str | None, default: str = "ru") -> str:
    code = (preferred or "").strip().lower()[:2]
    return code if code in LOCALES else (default if default in LOCALES else "ru")


def is_auto_confirmation(event: str, *, at: datetime, order_created_at: datetime) -> bool:
    return event == "confirmed" and at - order_created_at < AUTO_CONFIRM_WINDOW


def quiet_until(now: datetime, *, tz: str, start_hour: int, end_hour: int) -> datetime | None:
    """When quiet hours are on at ``now`` (local time in ``tz``), the UTC moment they end; else None.

    ``start_hour`` 21 and ``end_hour`` 9 mean 21:00-09:00 local; equal hours disable quiet hours.
    """
    if start_hour == end_hour:
        return None
    local = now.astimezone(ZoneInfo(tz))
    hour = local.hour
    quiet = (
        (hour >= start_hour or hour < end_hour) if start_hour > end_hour else start_hour <= hour < end_hour
    )
    if not quiet:
        return None
    end = local.replace(hour=end_hour, minute=0, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


# -- SMS length ------------------------------------------------------------------------------------

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def sms_encoding(text: str) -> str:
    """``gsm7`` when every character is in the GSM 03.38 alphabet, else ``ucs2`` (Cyrillic, Chinese)."""
    return "gsm7" if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text) else "ucs2"


def sms_units(text: str) -> int:
    """Length in the encoding's units: septets (extension characters take two) or UTF-16 code units."""
    if sms_encoding(text) == "gsm7":
        return sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def sms_segments(text: str) -> int:
    """GSM-7: 160 in one SMS, 153 per part when split; UCS-2: 70 in one, 67 per part."""
    single, part = (160, 153) if sms_encoding(text) == "gsm7" else (70, 67)
    units = sms_units(text)
    if units <= single:
        return 1
    return -(-units // part)


def fit_sms(text: str, max_segments: int) -> str:
    """Shorten ``text`` (ending with an ellipsis) so that it takes at most ``max_segments`` SMS."""
    if sms_segments(text) <= max_segments:
        return text
    ellipsis = "..." if sms_encoding(text) == "gsm7" else "…"
    cut = text
    while cut and sms_segments(cut + ellipsis) > max_segments:
        cut = cut[:-1]
    return cut.rstrip() + ellipsis
