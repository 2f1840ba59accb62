"""Money on the wire: "89.00" <-> integer minor units, never a float."""
from __future__ import annotations

import pytest

from chalicelib.core.money import Money, format_grouped, format_minor, parse_amount


@pytest.mark.parametrize(("text", "minor"), [
    ("89.00", 8900),
    ("0.00", 0),
    ("0.01", 1),
    ("0.99", 99),
    ("1.10", 110),
    ("249.00", 24900),
    ("1000000.99", 100000099),
    ("9999999999.99", 999999999999),
])
def test_parse_amount_reads_two_decimal_strings_as_minor_units(text: str, minor: int) -> None:
    assert parse_amount(text) == minor
    assert type(parse_amount(text)) is int


@pytest.mark.parametrize("text", [
    "89", "89.0", "89.000", "89.", ".89", "-1.00", "+1.00", "1e2", "1E2", " 89.00", "89.00 ",
    "08.00", "00.00", "", "89,00", "1,000.00", "89.0O", "８９.００", "10000000000.00", "NaN", "inf",
    "0x10.00", "89 .00", "89.00USD",
])
def test_parse_amount_rejects_anything_but_digits_dot_two_digits(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


def test_parse_amount_rejects_a_trailing_newline() -> None:
    with pytest.raises(ValueError):
        parse_amount("89.00\n")


@pytest.mark.parametrize("value", [89.0, 89, None, b"89.00"])
def test_parse_amount_rejects_non_strings(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        parse_amount(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("minor", "text"), [
    (0, "0.00"), (1, "0.01"), (10, "0.10"), (99, "0.99"), (100, "1.00"), (8900, "89.00"),
    (100000099, "1000000.99"), (-1, "-0.01"), (-8900, "-89.00"),
])
def test_format_minor_writes_exactly_two_decimals(minor: int, text: str) -> None:
    assert format_minor(minor) == text


def test_round_trip_from_minor_units_over_a_range() -> None:
    # Stand-in for a property test: every amount from 0.00 to 200.00, plus large ones.
    samples = list(range(0, 20001)) + [10**k + d for k in range(3, 12) for d in (-1, 0, 1)]
    for minor in samples:
        text = format_minor(minor)
        assert parse_amount(text) == minor, text


@pytest.mark.parametrize("text", ["0.00", "0.05", "89.00", "1000000.99", "120.50"])
def test_round_trip_from_text(text: str) -> None:
    assert format_minor(parse_amount(text)) == text


def test_money_prints_amount_and_currency() -> None:
    assert str(Money(8900, "USD")) == "89.00 USD"


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (0, None, "0.00"), (1, None, "0.01"), (8900, "USD", "USD 89.00"), (99999, None, "999.99"),
    (100000, None, "1,000.00"), (2496450, "PKR", "PKR 24,964.50"),
    (123456789012, "PKR", "PKR 1,234,567,890.12"), (-150, "USD", "USD -1.50"),
])
def test_format_grouped_shows_thousands_separators_from_minor_units(
        minor: int, currency: str | None, text: str) -> None:
    assert format_grouped(minor, currency) == text
