from __future__ import annotations

import pytest

from zakaz.money import MoneyFormatError, to_minor
from zakaz.orders import rules
from zakaz.orders.rules import CustomerHistory, HoldPolicy, HoldReason, KnownProduct, Limits
from zakaz.orders.schemas import AddressIn, CustomerIn, LineIn

LIMITS = Limits(max_line_quantity=1000, max_lines=10)
CATALOG = {"A": KnownProduct(1, "A", "Thing", False)}


def codes(errors: list[rules.FieldError]) -> dict[str, str]:
    return {e.field: e.code for e in errors}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("8 (916) 123-45-67", "+79161234567"),
        ("+7 916 1234567", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_in_russian_and_international_formats(raw: str, expected: str) -> None:
    assert rules.normalise_phone(raw, "RU") == expected


@pytest.mark.parametrize("raw", ["12345", "+7 000", "phone", "+7 916 123-45-6789"])
def test_bad_phones_are_refused(raw: str) -> None:
    errors = rules.check_customer(CustomerIn(name="x", phone=raw), LIMITS)
    assert codes(errors) == {"customer.phone": "invalid_phone"}


def test_bad_email_and_missing_contact() -> None:
    assert codes(rules.check_customer(CustomerIn(name="x", email="not-an-email"), LIMITS)) == {
        "customer.email": "invalid_email"
    }
    assert codes(rules.check_customer(CustomerIn(name="x"), LIMITS)) == {"customer": "contact_required"}


def test_incomplete_address_names_each_field() -> None:
    errors = rules.check_address(AddressIn(postcode="12"), customer_name="")
    assert codes(errors) == {
        "shipping_address.line1": "required",
        "shipping_address.city": "required",
        "shipping_address.name": "required",
        "shipping_address.postcode": "invalid_postcode",
    }


def test_lines_unknown_sku_zero_absurd_and_negative() -> None:
    lines = [
        LineIn(sku="NOPE", quantity=1, unit_price_minor=1),
        LineIn(sku="A", quantity=0, unit_price_minor=1),
        LineIn(sku="A", quantity=1_000_000, unit_price_minor=1),
        LineIn(sku="A", quantity=1, unit_price_minor=-5),
    ]
    assert codes(rules.check_lines(lines, CATALOG, LIMITS)) == {
        "lines[0].sku": "unknown_sku",
        "lines[1].quantity": "not_positive",
        "lines[2].quantity": "absurd_quantity",
        "lines[3].unit_price_minor": "negative",
    }


def test_totals_must_add_up() -> None:
    lines = [LineIn(sku="A", quantity=2, unit_price_minor=150_00)]
    assert rules.check_totals(lines, 300_00, 50_00, 550_00, "RUB") == []
    mismatch = rules.check_totals(lines, 300_00, 50_00, 600_00, "RUB")
    assert codes(mismatch) == {"total_minor": "totals_mismatch"}
    assert "550" in mismatch[0].message.replace("55000", "550")
    assert codes(rules.check_totals(lines, 0, 400_00, None, "XXX")) == {
        "currency": "unsupported_currency",
        "discount_minor": "too_large",
    }


POLICY = HoldPolicy(first_order_hold_above_minor=50_000_00, history_multiplier=5, history_min_orders=3)


def test_first_order_above_limit_is_held() -> None:
    held = rules.value_holds(60_000_00, CustomerHistory(0, 0), POLICY)
    assert [h.code for h in held] == [HoldReason.first_order_high_value]
    assert rules.value_holds(40_000_00, CustomerHistory(0, 0), POLICY) == []


def test_order_far_above_customer_history_is_held_only_with_enough_history() -> None:
    assert [h.code for h in rules.value_holds(6_000_00, CustomerHistory(3, 3_000_00), POLICY)] == [
        HoldReason.value_above_history
    ]
    assert rules.value_holds(4_000_00, CustomerHistory(3, 3_000_00), POLICY) == []
    assert rules.value_holds(6_000_00, CustomerHistory(2, 2_000_00), POLICY) == []


@pytest.mark.parametrize(
    "raw, minor", [("1259", 125900), ("279.0000", 27900), ("1390.000000", 139000), ("0.5", 50)]
)
def test_money_strings_to_kopecks(raw: str, minor: int) -> None:
    assert to_minor(raw) == minor


@pytest.mark.parametrize("raw", ["1.005", "abc", "NaN", ""])
def test_money_refuses_fractions_of_a_kopeck_and_garbage(raw: str) -> None:
    with pytest.raises(MoneyFormatError):
        to_minor(raw)


def test_contact_normalisation_is_cached_bounded_and_gives_the_same_answers() -> None:
    rules._cached_email.cache_clear()
    rules._cached_phone.cache_clear()
    for _ in range(2):  # the second round is answered from the cache, the same way
        assert rules.normalise_email("Ivan@Example.RU") == "Ivan@example.ru"
        assert rules.normalise_phone("8 (916) 123-45-67", "RU") == "+79161234567"
        with pytest.raises(ValueError, match=r"An email address must have an @-sign\."):
            rules.normalise_email("not-an-email")
        with pytest.raises(ValueError, match="not a valid phone number"):
            rules.normalise_phone("+7 000", "RU")
    assert rules._cached_email.cache_info().hits == 2
    assert rules._cached_phone.cache_info().hits == 2
    with pytest.raises(ValueError):  # the region is part of the key
        rules.normalise_phone("8 916 123-45-67", "CN")
    for i in range(rules.CONTACT_CACHE_SIZE + 10):
        rules.normalise_email(f"buyer{i}@example.ru")
    assert rules._cached_email.cache_info().currsize == rules.CONTACT_CACHE_SIZE
    before = rules._cached_email.cache_info().currsize, rules._cached_email.cache_info().misses
    with pytest.raises(ValueError):
        rules.normalise_email("x" * 400 + "@example.ru")  # longer than the API accepts: not kept
    assert (rules._cached_email.cache_info().currsize, rules._cached_email.cache_info().misses) == before
