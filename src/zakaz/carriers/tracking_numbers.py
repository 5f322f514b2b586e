"""Tracking-number formats: UPU S10 (Russian Post), CDEK order numbers and our own courier numbers.

* **S10** (UPU standard S10, e.g. ``RR123456785RU``): two-letter service indicator, eight-digit serial, one
  check digit, two-letter ISO 3166 country code. Check digit: weights 8 6 4 2 3 5 9 7 over the serial,
  ``c = 11 - (sum mod 11)``, then 10 -> 0 and 11 -> 5.
* **CDEK**: the ``cdek_number`` CDEK assigns to an order is numeric, 10 digits in every published API example
  (e.g. ``1100285492``). CDEK publishes no check digit, so validation is format-only and cannot catch typos.
* **Courier** (our own delivery, format defined here): ``ZK`` + 9-digit serial + 1 Luhn check digit, 12
  characters, e.g. ``ZK0000000018``. Luhn catches every single-digit error and most adjacent swaps; the
  prefix keeps it distinct from S10 (13 characters) and CDEK (digits only).
"""

from __future__ import annotations

import re
import secrets

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_S10_RE = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_CDEK_RE = re.compile(r"^\d{10}$")
COURIER_PREFIX = "ZK"
_COURIER_RE = re.compile(rf"^{COURIER_PREFIX}(\d{{9}})(\d)$")


def normalise(number: str) -> str:
    """Upper-case and drop spaces and dashes, as people type numbers from receipts."""
    return re.sub(r"[\s-]", "", number).upper()


def s10_check_digit(serial: str) -> int:
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError(f"S10 serial must be 8 digits, got {serial!r}")
    total = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def is_valid_s10(number: str) -> bool:
    """True for a well-formed S10 identifier whose check digit matches (input is normalised first)."""
    match = _S10_RE.match(normalise(number))
    if match is None:
        return False
    _service, serial, check, _country = match.groups()
    return s10_check_digit(serial) == int(check)


def make_s10(service_indicator: str, serial: int | str, country: str = "RU") -> str:
    """Build an S10 identifier from its parts, computing the check digit."""
    serial_text = f"{int(serial):08d}"
    if len(serial_text) != 8 or int(serial) < 0:
        raise ValueError(f"S10 serial must be in 0..99999999, got {serial}")
    if not re.fullmatch(r"[A-Z]{2}", service_indicator) or not re.fullmatch(r"[A-Z]{2}", country):
        raise ValueError("service indicator and country must be two upper-case Latin letters")
    return f"{service_indicator}{serial_text}{s10_check_digit(serial_text)}{country}"


def generate_s10(service_indicator: str = "RA", country: str = "RU") -> str:
    """A random S10 identifier; real ones come from a range the postal operator allocates to the shipper."""
    return make_s10(service_indicator, secrets.randbelow(10**8), country)


def is_valid_cdek_number(number: str) -> bool:
    return _CDEK_RE.match(normalise(number)) is not None


def generate_cdek_number() -> str:
    """A random CDEK-shaped number (for the fake server): 10 digits, starting with 1 like live numbers."""
    return f"1{secrets.randbelow(10**9):09d}"


def luhn_check_digit(digits: str) -> int:
    total = 0
    # Double every second digit counting from the right of the payload (the check digit goes after it).
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def make_courier_number(serial: int) -> str:
    if not 0 <= serial < 10**9:
        raise ValueError(f"courier serial must be in 0..999999999, got {serial}")
    payload = f"{serial:09d}"
    return f"{COURIER_PREFIX}{payload}{luhn_check_digit(payload)}"


def generate_courier_number() -> str:
    return make_courier_number(secrets.randbelow(10**9))


def is_valid_courier_number(number: str) -> bool:
    match = _COURIER_RE.match(normalise(number))
    return match is not None and luhn_check_digit(match.group(1)) == int(match.group(2))
