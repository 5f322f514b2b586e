"""Pure intake rules: structural validation (reject) and business concerns (hold with typed reasons)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from zakaz.errors import FieldError
from zakaz.money import CURRENCIES, from_minor
from zakaz.orders.schemas import AddressIn, CustomerIn, LineIn


class HoldReason(StrEnum):
    address_unlocatable = "address_unlocatable"
    value_above_history = "value_above_history"
    first_order_high_value = "first_order_high_value"
    insufficient_stock = "insufficient_stock"
    unknown_sku = "unknown_sku"
    unknown_warehouse = "unknown_warehouse"
    payment_failed = "payment_failed"
    manual = "manual"


@dataclass(frozen=True)
class Hold:
    """A typed reason to hold an order.

    ``detail`` is the English sentence (API consumers and older rows rely on it); ``params`` holds the
    values it was built from (JSON-ready: amounts in minor units with their currency, SKUs, places), so
    the back office can say the same thing in the reader's language (``zakaz.web.reasons``).
    """

    code: HoldReason
    detail: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "detail": self.detail, "params": dict(self.params)}


def unlocatable_hold(city: str | None, region: str | None, *, where: str | None = None) -> Hold:
    """No coordinates and a city/region the bundled table does not know (``where`` overrides the text)."""
    if where is None:
        where = ", ".join(x for x in (city, region) if x)
    return Hold(
        HoldReason.address_unlocatable,
        f"no coordinates and unknown city/region: {where}",
        {"city": city or "", "region": region or ""},
    )


def short_stock_hold(short: Iterable[tuple[str, int]]) -> Hold:
    """Units no warehouse has and the product may not backorder: ``(sku, quantity)`` pairs."""
    items = [{"sku": sku, "quantity": quantity} for sku, quantity in short]
    text = ", ".join(f"{i['sku']} x{i['quantity']}" for i in items)
    return Hold(HoldReason.insufficient_stock, f"not enough stock for {text}", {"items": items})


def unknown_sku_hold(skus: list[str]) -> Hold:
    return Hold(HoldReason.unknown_sku, f"SKUs not in the catalog: {', '.join(skus)}", {"skus": list(skus)})


def payment_failed_hold() -> Hold:
    return Hold(HoldReason.payment_failed, "the payment failed", {})


def manual_hold(reason: str) -> Hold:
    """An operator's hold: the reason is their own words, shown as typed."""
    return Hold(HoldReason.manual, reason, {})


@dataclass(frozen=True)
class Limits:
    max_line_quantity: int
    max_lines: int
    phone_region: str = "RU"


@dataclass(frozen=True)
class KnownProduct:
    id: int
    sku: str
    name: str
    allow_backorder: bool
    active: bool = True


_POSTCODE_RU = re.compile(r"^\d{6}$")


# Normalising a contact costs 25-30 us (email-validator, phonenumbers) and the same customers order again
# and again, so the outcomes (value or error text) for recent raw strings are kept: pure functions of their
# arguments; bounded per process (about 2.5 MB each when full); strings over 320 characters are not kept.
CONTACT_CACHE_SIZE = 8192
_CACHED_LENGTH = 320


# ``+7`` and ten digits (the first not 0), spaced as people write them: what phonenumbers.parse makes of it
# (country code 7, the ten digits as the national number, whatever the default region) without its parse.
_PLUS7 = re.compile(r"\+7[ -]?\(?([1-9]\d\d)\)?[ -]?(\d\d\d)[ -]?(\d\d)[ -]?(\d\d)", re.ASCII)


def _phone_outcome(raw: str, region: str) -> tuple[str | None, str | None]:
    """(E.164 number, None) or (None, why not)."""
    plus7 = _PLUS7.fullmatch(raw)
    if plus7 is not None:
        digits = "".join(plus7.groups())
        number = phonenumbers.PhoneNumber(country_code=7, national_number=int(digits))
        if not phonenumbers.is_valid_number(number):
            return None, "not a valid phone number"
        return "+7" + digits, None
    return _phone_parsed(raw, region)


def _phone_parsed(raw: str, region: str) -> tuple[str | None, str | None]:
    """:func:`_phone_outcome` through ``phonenumbers.parse`` (any number; the shortcut must agree with it)."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        return None, str(exc)
    if not phonenumbers.is_valid_number(parsed):
        return None, "not a valid phone number"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


# A plain ASCII dot-atom local part and a domain of ASCII labels: email-validator keeps such a local part
# as given (but the RFC 2142 mailbox names, lower-cased) and its answer for the domain does not depend on
# the local part, so the domain's is kept (few domains, many addresses) and anything else takes the full path.
_PLAIN_EMAIL = re.compile(
    r"([A-Za-z0-9]+(?:[._+-][A-Za-z0-9]+)*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)", re.ASCII
)


_LOWERED_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


@functools.lru_cache(maxsize=1024)
def _email_domain(domain: str) -> str | None:
    """The normalised domain when it is a plain ASCII one email-validator accepts (lower-cased), else None."""
    try:
        normalised = validate_email("a@" + domain, check_deliverability=False).domain
    except EmailNotValidError:
        return None
    return normalised if normalised == domain.lower() else None


def _email_outcome(raw: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, why not)."""
    plain = _PLAIN_EMAIL.fullmatch(raw)
    if plain is not None and len(raw) <= 200:
        local, domain = plain.groups()
        if len(local) <= 64 and local.lower() not in _LOWERED_MAILBOXES and len(domain) <= 128:
            normalised = _email_domain(domain)
            if normalised is not None:
                return local + "@" + normalised, None
    return _email_validated(raw)


def _email_validated(raw: str) -> tuple[str | None, str | None]:
    """:func:`_email_outcome` through email-validator (any address; the shortcut must agree with it)."""
    try:
        return validate_email(raw, check_deliverability=False).normalized, None
    except EmailNotValidError as exc:
        return None, str(exc)


_cached_phone = functools.lru_cache(maxsize=CONTACT_CACHE_SIZE)(_phone_outcome)
_cached_email = functools.lru_cache(maxsize=CONTACT_CACHE_SIZE)(_email_outcome)


def _value(outcome: tuple[str | None, str | None]) -> str:
    value, error = outcome
    if value is None:
        raise ValueError(error)
    return value


def normalise_phone(raw: str, region: str) -> str:
    """E.164 (``+79161234567``) or ValueError. Accepts 8 (916) 123-45-67, +7..., and international numbers."""
    if len(raw) > _CACHED_LENGTH:
        return _value(_phone_outcome(raw, region))
    return _value(_cached_phone(raw, region))


def normalise_email(raw: str) -> str:
    if len(raw) > _CACHED_LENGTH:
        return _value(_email_outcome(raw))
    return _value(_cached_email(raw))


def check_customer(customer: CustomerIn, limits: Limits, prefix: str = "customer") -> list[FieldError]:
    return normalise_customer(customer, limits, prefix)[2]


def normalise_customer(
    customer: CustomerIn, limits: Limits, prefix: str = "customer"
) -> tuple[str | None, str | None, list[FieldError]]:
    """The normalised e-mail and phone (None when absent or invalid), and :func:`check_customer`'s errors."""
    errors: list[FieldError] = []
    email = phone = None
    if customer.email:
        try:
            email = normalise_email(customer.email)
        except ValueError as exc:
            errors.append(FieldError(f"{prefix}.email", "invalid_email", str(exc)))
    if customer.phone:
        try:
            phone = normalise_phone(customer.phone, limits.phone_region)
        except ValueError as exc:
            errors.append(FieldError(f"{prefix}.phone", "invalid_phone", str(exc)))
    if not customer.email and not customer.phone:
        errors.append(FieldError(f"{prefix}", "contact_required", "give an e-mail or a phone number"))
    return email, phone, errors


def check_address(
    address: AddressIn, customer_name: str, prefix: str = "shipping_address"
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not address.line1:
        errors.append(FieldError(f"{prefix}.line1", "required", "street and house are required"))
    if not address.city:
        errors.append(FieldError(f"{prefix}.city", "required", "city is required"))
    if not (address.name or customer_name):
        errors.append(FieldError(f"{prefix}.name", "required", "recipient name is required"))
    if not address.country.isalpha() or not address.country.isupper():
        errors.append(
            FieldError(f"{prefix}.country", "invalid_country", "use an ISO 3166 alpha-2 code, e.g. RU")
        )
    if address.country == "RU" and address.postcode and not _POSTCODE_RU.match(address.postcode):
        errors.append(FieldError(f"{prefix}.postcode", "invalid_postcode", "a Russian postcode has 6 digits"))
    if (address.latitude is None) != (address.longitude is None):
        errors.append(
            FieldError(f"{prefix}.latitude", "incomplete_coordinates", "give both latitude and longitude")
        )
    if address.latitude is not None and not -90 <= address.latitude <= 90:
        errors.append(FieldError(f"{prefix}.latitude", "out_of_range", "latitude must be within -90..90"))
    if address.longitude is not None and not -180 <= address.longitude <= 180:
        errors.append(FieldError(f"{prefix}.longitude", "out_of_range", "longitude must be within -180..180"))
    return errors


def check_lines(
    lines: list[LineIn],
    catalog: Mapping[str, KnownProduct],
    limits: Limits,
    *,
    unknown_sku_is_error: bool = True,
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not lines:
        errors.append(FieldError("lines", "required", "an order needs at least one line"))
    if len(lines) > limits.max_lines:
        errors.append(FieldError("lines", "too_many", f"at most {limits.max_lines} lines per order"))
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        if line.quantity <= 0:
            errors.append(FieldError(f"{where}.quantity", "not_positive", "quantity must be at least 1"))
        elif line.quantity > limits.max_line_quantity:
            errors.append(
                FieldError(
                    f"{where}.quantity",
                    "absurd_quantity",
                    f"quantity above {limits.max_line_quantity} is refused",
                )
            )
        if line.unit_price_minor < 0:
            errors.append(FieldError(f"{where}.unit_price_minor", "negative", "price cannot be negative"))
        product = catalog.get(line.sku)
        if unknown_sku_is_error and (product is None or not product.active):
            errors.append(
                FieldError(f"{where}.sku", "unknown_sku", f"no active product with SKU {line.sku!r}")
            )
    return errors


# Money in minor units: one amount up to 10 billion roubles, an order up to 10 trillion (BIGINT columns;
# below 2**53, so JavaScript clients read every total exactly).
MAX_AMOUNT_MINOR = 10**12
MAX_ORDER_MINOR = 10**15


def amount_errors(
    lines: list[LineIn], shipping_minor: int, discount_minor: int, total_minor: int | None
) -> list[FieldError]:
    """Amounts too large to be real (checked before any of them reaches the database)."""
    errors: list[FieldError] = []
    too_large = f"at most {MAX_AMOUNT_MINOR} minor units"
    for i, line in enumerate(lines):
        if line.unit_price_minor > MAX_AMOUNT_MINOR:
            errors.append(FieldError(f"lines[{i}].unit_price_minor", "too_large", too_large))
    for name, value in (
        ("shipping_minor", shipping_minor),
        ("discount_minor", discount_minor),
        ("total_minor", total_minor),
    ):
        if value is not None and abs(value) > (
            MAX_ORDER_MINOR if name == "total_minor" else MAX_AMOUNT_MINOR
        ):
            errors.append(FieldError(name, "too_large", too_large))
    if not errors and subtotal(lines) > MAX_ORDER_MINOR:
        errors.append(
            FieldError("lines", "total_too_large", f"order value above {MAX_ORDER_MINOR} minor units")
        )
    return errors


def subtotal(lines: list[LineIn]) -> int:
    return sum(line.quantity * line.unit_price_minor for line in lines)


def check_totals(
    lines: list[LineIn], shipping_minor: int, discount_minor: int, total_minor: int | None, currency: str
) -> list[FieldError]:
    errors = amount_errors(lines, shipping_minor, discount_minor, total_minor)
    if errors:
        return errors  # the arithmetic below is meaningless with such amounts
    if currency not in CURRENCIES:
        errors.append(
            FieldError("currency", "unsupported_currency", f"supported: {', '.join(sorted(CURRENCIES))}")
        )
    if shipping_minor < 0:
        errors.append(FieldError("shipping_minor", "negative", "shipping cannot be negative"))
    if discount_minor < 0:
        errors.append(FieldError("discount_minor", "negative", "discount cannot be negative"))
    expected = subtotal(lines) + shipping_minor - discount_minor
    if expected < 0:
        errors.append(FieldError("discount_minor", "too_large", "discount exceeds the order value"))
    if total_minor is not None and total_minor != expected:
        errors.append(
            FieldError(
                "total_minor",
                "totals_mismatch",
                f"total {total_minor} does not add up: lines + shipping - discount = {expected}",
            )
        )
    return errors


@dataclass(frozen=True)
class CustomerHistory:
    order_count: int
    total_spent_minor: int


@dataclass(frozen=True)
class HoldPolicy:
    first_order_hold_above_minor: int
    history_multiplier: int
    history_min_orders: int


def value_holds(
    total_minor: int, history: CustomerHistory, policy: HoldPolicy, *, currency: str = "RUB"
) -> list[Hold]:
    """Order value against what this customer usually spends (``currency``: the order's, for params)."""
    if history.order_count == 0:
        if total_minor > policy.first_order_hold_above_minor:
            return [
                Hold(
                    HoldReason.first_order_high_value,
                    f"first order worth {from_minor(total_minor)} is above the review limit "
                    f"{from_minor(policy.first_order_hold_above_minor)}",
                    {
                        "total_minor": total_minor,
                        "limit_minor": policy.first_order_hold_above_minor,
                        "currency": currency,
                    },
                )
            ]
        return []
    if history.order_count >= policy.history_min_orders:
        average = history.total_spent_minor // history.order_count
        if average > 0 and total_minor > average * policy.history_multiplier:
            return [
                Hold(
                    HoldReason.value_above_history,
                    f"order worth {from_minor(total_minor)} is over {policy.history_multiplier}x "
                    f"this customer's average of {from_minor(average)}",
                    {
                        "total_minor": total_minor,
                        "average_minor": average,
                        "multiplier": policy.history_multiplier,
                        "currency": currency,
                    },
                )
            ]
    return []
