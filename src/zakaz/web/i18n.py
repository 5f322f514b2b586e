"""Languages of the back office: gettext catalogues (Babel) and locale-aware dates, numbers and money.

The catalogue in use is a context variable set by :func:`use_locale` just before a template renders, so
one Jinja environment serves every language. Strings in Python code are marked with ``N_`` (extracted,
translated later at render time) or translated at once with ``gettext``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from zakaz.money import CURRENCIES, from_minor
from zakaz.users.service import DEFAULT_LOCALE, LOCALES

LOCALE_DIR = Path(str(files("zakaz") / "locale"))
_current: ContextVar[str] = ContextVar("zakaz_web_locale", default=DEFAULT_LOCALE)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@cache
def translations(locale: str) -> NullTranslations:
    found = Translations.load(str(LOCALE_DIR), [locale], domain="messages")
    return found if isinstance(found, Translations) else NullTranslations()


@cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(current_locale()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ungettext(singular, plural, n)


def language_name(locale: str) -> str:
    """The language's own name ("中文 (简体)", "English"): from CLDR, not from our catalogues."""
    return str(babel_locale(locale).display_name)


def html_lang(locale: str) -> str:
    return locale.replace("_", "-")


def negotiate(accept_language: str | None) -> str:
    """Pick a supported locale from an Accept-Language header."""
    weighted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weighted.append((float(q) if q else 1.0, tag.strip().lower()))
        except ValueError:
            continue
    for _, tag in sorted(weighted, key=lambda item: -item[0]):
        if tag.startswith("zh"):
            return "zh_Hans"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


# --- formatting -------------------------------------------------------------------------------------

_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")


def fmt_money(minor: int | None, currency: str = "RUB") -> str:
    """Integer minor units in the currency's format for the current locale ("RUB 1,250.00", "¥1,250.00")."""
    if minor is None:
        return ""
    exponent = CURRENCIES.get(currency, 2)
    amount = from_minor(minor, exponent=exponent)
    text = format_currency(amount, currency, locale=babel_locale(current_locale()))
    # CLDR currency spacing: a space between an alphabetic symbol (RUB) and the digits.
    return _LETTER_DIGIT.sub("\u00a0", text)


def fmt_number(value: int | float | None) -> str:
    return "" if value is None else format_decimal(value, locale=babel_locale(current_locale()))


def fmt_datetime(value: datetime | None, tz: str, width: str = "short") -> str:
    if value is None:
        return ""
    return format_datetime(value, width, tzinfo=ZoneInfo(tz), locale=babel_locale(current_locale()))


def fmt_date(value: datetime | None, tz: str, width: str = "medium") -> str:
    if value is None:
        return ""
    return format_date(value.astimezone(ZoneInfo(tz)).date(), width, locale=babel_locale(current_locale()))


def fmt_delta(value: timedelta) -> str:
    """ "3 hours ago" / "in 2 days" in the current language."""
    return format_timedelta(value, add_direction=True, locale=babel_locale(current_locale()))
