"""Money in minor units and exact decimal rates (docs/contract.md "Conventions", "Rules document")."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.money import floor_div, format_minor, parse_rate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1", Fraction(1, 10)),
        ("1", Fraction(1)),
        ("0.05", Fraction(1, 20)),
        ("0", Fraction(0)),
        ("2.5", Fraction(5, 2)),
        ("0.333", Fraction(333, 1000)),
    ],
)
def test_parse_rate_is_exact(text, expected) -> None:
    assert parse_rate(text) == expected
    assert isinstance(parse_rate(text), Fraction)


@pytest.mark.parametrize(
    "bad",
    [0.1, 1, None, -0.1, "-0.1", "+1", "1e3", "1E3", "", " 1", "1 ", ".5", "1.", "01", "0x10", "1,5", "NaN", "inf"],
)
def test_parse_rate_refuses_anything_but_a_plain_decimal_string(bad) -> None:
    with pytest.raises(ValueError):
        parse_rate(bad)


@pytest.mark.parametrize("bad", ["1\n", "0.1\n"])
def test_parse_rate_refuses_a_trailing_newline(bad) -> None:
    with pytest.raises(ValueError):
        parse_rate(bad)


@given(whole=st.integers(0, 10**6), frac=st.integers(0, 999))
@settings(max_examples=150, deadline=None)
def test_parse_rate_matches_the_decimal_it_reads(whole, frac) -> None:
    text = f"{whole}.{frac:03d}"
    assert parse_rate(text) == Fraction(whole * 1000 + frac, 1000)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (2500 * Fraction(1, 10), 100, 2),  # 25.00 at 0.1 per 1.00 -> 2.5 -> 2
        (1000 * Fraction(1, 10), 100, 1),
        (999 * Fraction(1, 10), 100, 0),
        (10, 5, 2),
        (0, 7, 0),
        (-1, 10, -1),  # floor, not truncation
        (7, 1, 7),
    ],
)
def test_floor_div_rounds_down_exactly(numerator, denominator, expected) -> None:
    assert floor_div(numerator, denominator) == expected


def test_floor_div_has_no_float_error() -> None:
    # 0.1 * 3 is 0.30000000000000004 in floats; exact arithmetic keeps it at 0.3.
    assert floor_div(Fraction(3, 10) * 10, 3) == 1
    assert floor_div(10**30 + 1, 10**30) == 1
    assert floor_div(10**30 - 1, 10**30) == 0


@given(n=st.integers(-(10**12), 10**12), d=st.integers(1, 10**6))
@settings(max_examples=150, deadline=None)
def test_floor_div_agrees_with_integer_floor_division(n, d) -> None:
    assert floor_div(n, d) == n // d


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(0, "0.00"), (5, "0.05"), (1250, "12.50"), (-1250, "-12.50"), (100000, "1000.00"), (-5, "-0.05")],
)
def test_format_minor(amount, expected) -> None:
    assert format_minor(amount) == expected


def test_format_minor_with_other_digit_counts() -> None:
    assert format_minor(1250, digits=0) == "1250"
    assert format_minor(1250, digits=3) == "1.250"


@given(st.integers(-(10**9), 10**9))
@settings(max_examples=150, deadline=None)
def test_format_minor_round_trips(amount) -> None:
    text = format_minor(amount)
    assert Fraction(text) * 100 == amount
