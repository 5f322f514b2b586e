"""The shortcuts of contact normalisation give exactly what email-validator and phonenumbers give."""

from __future__ import annotations

import random

import pytest

from zakaz.orders import rules


def test_plus7_phones_as_phonenumbers_parses_them() -> None:
    rng = random.Random(7)
    shortcut = 0
    for _ in range(3000):
        digits = rng.choice("0123456789") + "".join(rng.choice("0123456789") for _ in range(9))
        if rng.random() < 0.4:
            digits = rng.choice(["800", "812", "495", "916", "999", "700", "301", "111"]) + digits[3:]
        sep = [rng.choice(["", " ", "-"]) for _ in range(4)]
        code = f"({digits[:3]})" if rng.random() < 0.3 else digits[:3]
        raw = f"+7{sep[0]}{code}{sep[1]}{digits[3:6]}{sep[2]}{digits[6:8]}{sep[3]}{digits[8:]}"
        region = rng.choice(["RU", "KZ", "US"])
        shortcut += rules._PLUS7.fullmatch(raw) is not None
        assert rules._phone_outcome(raw, region) == rules._phone_parsed(raw, region), (raw, region)
    assert shortcut > 2000


@pytest.mark.parametrize(
    "local",
    ["buyer1", "Buyer.One", "a+b", "a-b_c", "x", "postmaster", "Abuse", "ab..c", ".a", "a" * 64, "a" * 65],
)
@pytest.mark.parametrize(
    "domain",
    [
        "example.ru",
        "Example.RU",
        "mail.example.co.uk",
        "localhost",
        "b.test",
        "b.123",
        "xn--d1acufc.xn--p1ai",
        "-a.ru",
        "a--b.ru",
        "b.local",
        "home.arpa",
        "a" * 64 + ".ru",
    ],
)
def test_plain_emails_as_email_validator_normalises_them(local: str, domain: str) -> None:
    raw = f"{local}@{domain}"
    assert rules._email_outcome(raw) == rules._email_validated(raw)
