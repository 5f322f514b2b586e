"""Tracking-number formats: published S10 examples, generated numbers, typo detection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zakaz.carriers.tracking_numbers import (
    generate_cdek_number,
    generate_courier_number,
    generate_s10,
    is_valid_cdek_number,
    is_valid_courier_number,
    is_valid_s10,
    make_courier_number,
    make_s10,
    s10_check_digit,
)

# Published (serial, check digit) pairs, each re-verified by hand against the rule:
#   47312482 -> 9: the worked example in Wikipedia "S10 (UPU standard)" (S = 200, 200 mod 11 = 2, 11 - 2 = 9).
#   00071758 -> 1, 96633102 -> 0 (the 10 -> 0 case), 76129403 -> 8: tests of the npm package "s10" 1.0.0.
#   00000000 -> 5: S = 0, 11 - 0 = 11 -> 5 (the 11 -> 5 case, by the rule itself).
PUBLISHED_CHECK_DIGITS = [("47312482", 9), ("00071758", 1), ("96633102", 0), ("76129403", 8), ("00000000", 5)]

# Published full identifiers:
#   RR123456785RU: the example in the project's dependency notes (S = 204, 204 mod 11 = 6, 11 - 6 = 5).
#   EE471108151FR and RR473124829GB: the BWIPP "UPU S10" encoder wiki (github.com/bwipp/postscriptbarcode).
#   EB000717618HK, EB000717595HK: README and tests of the npm package "s10" 1.0.0.
PUBLISHED_VALID = ["RR123456785RU", "EE471108151FR", "RR473124829GB", "EB000717618HK", "EB000717595HK"]
#   EB000717594HK (wrong check digit), EB900717618HK (changed serial): same npm package, invalid there.
PUBLISHED_INVALID = ["EB000717594HK", "EB900717618HK"]


@pytest.mark.parametrize(("serial", "check"), PUBLISHED_CHECK_DIGITS)
def test_s10_check_digit_matches_published_examples(serial: str, check: int) -> None:
    assert s10_check_digit(serial) == check


@pytest.mark.parametrize("number", PUBLISHED_VALID)
def test_published_s10_numbers_are_accepted(number: str) -> None:
    assert is_valid_s10(number)


@pytest.mark.parametrize("number", PUBLISHED_INVALID)
def test_published_bad_s10_numbers_are_rejected(number: str) -> None:
    assert not is_valid_s10(number)


@pytest.mark.parametrize(
    "number",
    [
        "RR12345678RU",
        "RR1234567851RU",
        "1R123456785RU",
        "RR123456785R1",
        "RR12345678ARU",
        "",
        "RR123456785РУ",
    ],
)
def test_malformed_s10_numbers_are_rejected(number: str) -> None:
    assert not is_valid_s10(number)


def test_s10_accepts_numbers_typed_with_spaces_dashes_and_lower_case() -> None:
    assert is_valid_s10(" rr 1234 5678-5 ru ")


def test_make_s10_builds_the_published_example() -> None:
    assert make_s10("RR", 12345678, "RU") == "RR123456785RU"
    assert make_s10("RR", "47312482", "GB") == "RR473124829GB"


@pytest.mark.parametrize(
    ("service", "serial", "country"), [("rr", 1, "RU"), ("RR", 10**8, "RU"), ("RR", 1, "R")]
)
def test_make_s10_refuses_bad_parts(service: str, serial: int, country: str) -> None:
    with pytest.raises(ValueError):
        make_s10(service, serial, country)


@given(st.integers(0, 10**8 - 1), st.sampled_from(["RA", "EE", "CP", "RR"]))
def test_generated_s10_numbers_validate(serial: int, service: str) -> None:
    number = make_s10(service, serial)
    assert is_valid_s10(number) and number.startswith(service) and number.endswith("RU")


def _weighted_residue(serial: str) -> int:
    return sum(int(d) * w for d, w in zip(serial, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11


@given(st.integers(0, 10**8 - 1), st.integers(0, 8), st.integers(1, 9))
def test_single_digit_changes_are_caught_except_the_11_to_5_collision(
    serial: int, position: int, shift: int
) -> None:
    number = make_s10("RA", serial)
    digits = number[2:11]
    changed_digit = str((int(digits[position]) + shift) % 10)
    typo = f"RA{digits[:position]}{changed_digit}{digits[position + 1 :]}RU"
    if position == 8:  # the check digit itself: always caught
        assert not is_valid_s10(typo)
        return
    # The standard maps residue 0 (11 -> 5) and residue 6 (11 - 6 = 5) to the same check digit, so a typo
    # moving the weighted sum between those two residues is invisible; every other single-digit typo is
    # caught.
    residues = {_weighted_residue(digits[:8]), _weighted_residue(typo[2:10])}
    assert is_valid_s10(typo) == (residues == {0, 6})


def test_known_blind_spot_of_s10_is_documented_by_example() -> None:
    # 00000000 and 90000000 differ in one digit yet share check digit 5: S10 cannot catch this typo.
    assert is_valid_s10("RA000000005RU") and is_valid_s10("RA900000005RU")


def test_random_s10_generator_produces_valid_numbers() -> None:
    numbers = {generate_s10() for _ in range(200)}
    assert all(is_valid_s10(n) for n in numbers) and len(numbers) > 190


@pytest.mark.parametrize("number", ["1100285492", "1106478587", " 1105661402 "])
def test_cdek_numbers_from_api_examples_are_accepted(number: str) -> None:
    # Numbers from CDEK API v2 webhook / order examples quoted in public integrations.
    assert is_valid_cdek_number(number)


@pytest.mark.parametrize("number", ["110028549", "11002854921", "11002854A2", "RA123456785RU", ""])
def test_non_cdek_numbers_are_rejected(number: str) -> None:
    assert not is_valid_cdek_number(number)


def test_cdek_generator_produces_ten_digit_numbers() -> None:
    assert all(is_valid_cdek_number(generate_cdek_number()) for _ in range(100))


def test_courier_number_format_is_prefix_serial_and_luhn_digit() -> None:
    assert make_courier_number(1) == "ZK0000000018"
    assert is_valid_courier_number("zk-000000001-8")
    assert not is_valid_courier_number("ZK0000000017")
    assert not is_valid_courier_number("RA123456785RU")


@given(st.integers(0, 10**9 - 1), st.integers(0, 9), st.integers(1, 9))
def test_courier_numbers_catch_every_single_digit_typo(serial: int, position: int, shift: int) -> None:
    number = make_courier_number(serial)
    digits = number[2:]
    typo = f"ZK{digits[:position]}{(int(digits[position]) + shift) % 10}{digits[position + 1 :]}"
    assert is_valid_courier_number(number) and not is_valid_courier_number(typo)


def test_courier_generator_produces_valid_numbers() -> None:
    assert all(is_valid_courier_number(generate_courier_number()) for _ in range(100))
