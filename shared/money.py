"""Money in integer minor units, and exact decimal rates.

Fidelis never uses floats for money or points: amounts are ``int`` minor units of the brand
currency (``1250`` is 12.50) and rates are exact fractions parsed from decimal strings.
"""

from __future__ import annotations

import re
from fractions import Fraction

Money = int
"""An amount in minor units of the brand currency."""

Points = int
"""A whole number of loyalty points."""

_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,9})?$")


def parse_rate(text: str) -> Fraction:
    """Parse a non-negative decimal string such as ``"0.1"`` into an exact fraction.

    Raises ``ValueError`` for anything else (floats, signs, exponents, empty strings).
    """
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise ValueError(f"not a non-negative decimal string: {text!r}")
    return Fraction(text)


def floor_div(numerator: int | Fraction, denominator: int | Fraction = 1) -> int:
    """Round ``numerator / denominator`` down to a whole number, exactly."""
    return int((Fraction(numerator) / Fraction(denominator)).__floor__())


def format_minor(amount: Money, digits: int = 2) -> str:
    """Render minor units as a decimal string: ``format_minor(-1250) == "-12.50"``."""
    if digits == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}"
