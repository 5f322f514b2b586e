"""Back-office catalogues: complete, compiled, in step with the sources; templates hold no raw text."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from zakaz.web import i18n

LOCALE_DIR = i18n.LOCALE_DIR
WEB_DIR = Path(i18n.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalogue(locale: str) -> list[tuple[str | tuple[str, ...], str | tuple[str, ...]]]:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return [(m.id, m.string) for m in read_po(f) if m.id]


def extracted() -> set[str | tuple[str, ...]]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    options = {
        "templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    }
    found = extract_from_dir(
        str(WEB_DIR),
        method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
        options_map=options,
        keywords=keywords,
    )
    return {msg if isinstance(msg, str) else tuple(msg) for _f, _l, msg, _c, _ctx in found}


def test_catalogues_hold_every_string_in_the_sources() -> None:
    """Run the commands in docs/translations.md when this fails."""
    in_sources = extracted()
    with (LOCALE_DIR / "messages.pot").open("rb") as f:
        in_template = {m.id for m in read_po(f) if m.id}
    assert in_sources - in_template == set(), "re-extract messages.pot"
    for locale in ("zh_Hans", "en"):
        assert in_sources - {msgid for msgid, _ in catalogue(locale)} == set(), f"update {locale}"


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    for msgid, msgstr in catalogue(locale):
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = msgstr if isinstance(msgstr, tuple) else (msgstr,)
        assert all(strings), f"{locale}: untranslated {msgid!r}"
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == wanted, f"{locale}: placeholders differ in {msgid!r}"


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_compiled_catalogues_match_the_po_files(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for msgid, msgstr in catalogue(locale):
        if isinstance(msgid, tuple):
            assert isinstance(msgstr, tuple)
            assert compiled.ngettext(msgid[0], msgid[1], 1) == msgstr[0]
        else:
            assert compiled.gettext(msgid) == msgstr, f"recompile the {locale} catalogue"


ALLOWED_LITERALS = {"#", "·", "→", "—", "−", "×", "✓", "✗", "/", "+", ",", "(", ")", "|", ":", "…"}


def test_templates_have_no_untranslated_text() -> None:
    for template in (WEB_DIR / "templates").rglob("*.html"):
        source = template.read_text()
        text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", " ", source, flags=re.S)
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)
        words = [w for w in text.split() if w not in ALLOWED_LITERALS and not w.startswith("&")]
        assert words == [], f"{template.name}: hard-coded text {words[:5]}"


def test_money_numbers_and_dates_follow_the_locale() -> None:
    moment = datetime(2026, 11, 27, 7, 5, tzinfo=UTC)
    with i18n.use_locale("en"):
        assert i18n.fmt_money(123456, "RUB") == "RUB\u00a01,234.56"
        assert i18n.fmt_money(123456, "CNY") == "CN¥1,234.56"
        assert i18n.fmt_number(1234567) == "1,234,567"
        assert i18n.fmt_datetime(moment, "Europe/Moscow", "medium") == "Nov 27, 2026, 10:05:00\u202fAM"
        assert i18n.fmt_delta(timedelta(hours=-3)) == "3 hours ago"
        assert i18n.gettext("Dashboard") == "Dashboard"
    with i18n.use_locale("zh_Hans"):
        assert i18n.fmt_money(123456, "CNY") == "¥1,234.56"
        assert i18n.fmt_money(123456, "RUB") == "RUB\u00a01,234.56"
        assert i18n.fmt_datetime(moment, "Europe/Moscow", "medium") == "2026年11月27日 10:05:00"
        assert i18n.fmt_delta(timedelta(hours=-3)) == "3小时前"
        assert i18n.gettext("Dashboard") == "仪表板"
        assert i18n.ngettext("%(num)d order will be changed.", "%(num)d orders will be changed.", 2) == (
            "将更改 %(num)d 个订单。"
        )
    assert i18n.current_locale() == "en"  # reset after the block


def test_browser_language_negotiation() -> None:
    assert i18n.negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_Hans"
    assert i18n.negotiate("ru-RU,en;q=0.5,zh;q=0.3") == "en"
    assert i18n.negotiate("de-DE;q=0.9,zh-TW;q=0.95") == "zh_Hans"
    assert i18n.negotiate(None) == "en"
    assert i18n.negotiate("garbage;q=x") == "en"
