"""Money is integer minor units (kopecks, fen) everywhere; conversions live here."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CURRENCIES = {"RUB": 2, "CNY": 2, "USD": 2, "EUR": 2, "KZT": 2, "BYN": 2}


class MoneyFormatError(ValueError):
    pass


def to_minor(amount: str | int | Decimal, *, exponent: int = 2) -> int:
    """Parse a decimal amount ("1259", "279.0000") into minor units, refusing fractions of a kopeck."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise MoneyFormatError(f"not a decimal amount: {amount!r}") from exc
    if not value.is_finite():
        raise MoneyFormatError(f"not a finite amount: {amount!r}")
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyFormatError(f"more than {exponent} decimal places: {amount!r}")
    return int(scaled)


def from_minor(minor: int, *, exponent: int = 2) -> Decimal:
    return (Decimal(minor).scaleb(-exponent)).quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)
