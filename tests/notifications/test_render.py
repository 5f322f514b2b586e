"""Every event renders in every locale; the rate limiter refills (pure, no database)."""

from __future__ import annotations

import pytest

from zakaz.notifications.render import render
from zakaz.notifications.rules import LOCALES, SHOPPER_EVENTS, pick_locale
from zakaz.tracking.ratelimit import TokenBucket

CONTEXT = {"shop": "Zakaz", "name": "Иван", "number": "ZK-1", "tracking_url": "https://shop/track/t"}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", sorted(set(SHOPPER_EVENTS.values())))
def test_every_event_renders_in_every_locale(event: str, locale: str) -> None:
    r = render(event, locale, {**CONTEXT, "unsubscribe_url": "https://shop/unsubscribe/u"})
    assert "ZK-1" in r.subject and "ZK-1" in r.text and "ZK-1" in r.sms
    assert "https://shop/unsubscribe/u" in r.text and 'href="https://shop/unsubscribe/u"' in r.html
    assert "{{" not in r.text + r.html + r.sms


def test_shipped_mentions_carrier_and_tracking_only_when_known() -> None:
    bare = render("shipped", "ru", CONTEXT)
    assert "Трек-номер" not in bare.text
    full = render(
        "shipped",
        "ru",
        {**CONTEXT, "carrier": "Почта России", "tracking_number": "RA1RU", "carrier_url": "https://p/RA1RU"},
    )
    assert "Почта России" in full.text and "RA1RU" in full.sms and "https://p/RA1RU" in full.sms


def test_html_escapes_shopper_names() -> None:
    r = render("received", "en", {**CONTEXT, "name": "<script>x</script>"})
    assert "<script>x" not in r.html and "&lt;script&gt;" in r.html


def test_locale_fallback() -> None:
    assert (pick_locale("en-GB"), pick_locale("ZH"), pick_locale("de"), pick_locale(None)) == (
        "en",
        "zh",
        "ru",
        "ru",
    )


def test_token_bucket_refills() -> None:
    now = [0.0]
    bucket = TokenBucket(capacity=2, refill_per_second=1, clock=lambda: now[0])
    assert [bucket.allow("a"), bucket.allow("a"), bucket.allow("a"), bucket.allow("b")] == [
        True,
        True,
        False,
        True,
    ]
    now[0] = 1.0
    assert bucket.allow("a") and not bucket.allow("a")
