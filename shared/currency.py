"""Sales in another currency: the code and rate a till gives, and the conversion to the brand's.

A sale in a foreign currency carries ``"currency": "EUR", "rate": "4.9750"``: how many units
of the brand currency one unit of the sale's currency is worth, as a decimal string. Its
lines are priced in the sale currency's minor units; points are earned on the eligible amount
converted to the brand currency, rounded down:

    converted = floor(amount_in_sale_minor_units × rate)

Both currencies are taken to have two decimal places (minor units are hundredths), so the
rate applies to minor units unchanged. The rate is parsed with ``Decimal`` from its text and
kept as an exact ``Fraction``; a float never touches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .money import Money, floor_div

CODE = re.compile(r"^[A-Z]{3}$")
RATE = re.compile(r"^(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?$")
RATE_DECIMALS = 6


@dataclass(frozen=True)
class Conversion:
    """A sale's currency and its rate to the brand currency (``text`` as the till sent it)."""

    currency: str
    text: str
    rate: Fraction

    def to_brand(self, amount: Money) -> Money:
        """``amount`` in the sale currency's minor units, in the brand's, rounded down."""
        return to_brand(amount, self.rate)


def to_brand(amount: Money, rate: Fraction | None) -> Money:
    """``floor(amount × rate)``; no rate (a sale in the brand currency) leaves it as it is."""
    if rate is None:
        return amount
    return floor_div(amount * rate)


def code_problem(code: object) -> str | None:
    """Why ``code`` is not a currency code (ISO 4217-like: three capital letters), or None."""
    if not isinstance(code, str) or not CODE.match(code):
        return "must be a currency code of three capital letters, such as EUR"
    return None


def rate_problem(text: object) -> str | None:
    """Why ``text`` is not an exchange rate (a positive decimal string, at most 6 decimals), or None."""
    if not isinstance(text, str) or not RATE.match(text):
        return f'must be a positive decimal string with at most {RATE_DECIMALS} decimals, such as "4.9750"'
    try:
        value = Decimal(text)
    except InvalidOperation:  # the pattern admits only decimals; kept for safety
        return "must be a decimal string"
    if value <= 0:
        return "must be more than 0"
    return None


def parse_conversion(currency: object, rate: object) -> tuple[Conversion | None, list[tuple[str, str]]]:
    """Read a sale's ``currency`` and ``rate``: ``(None, [])`` when both are absent, else the
    conversion or every problem as ``(field, message)``."""
    if currency is None and rate is None:
        return None, []
    problems: list[tuple[str, str]] = []
    if currency is None or rate is None:
        missing = "rate" if rate is None else "currency"
        problems.append((missing, "required with " + ("currency" if missing == "rate" else "rate")))
    else:
        for name, problem in (("currency", code_problem(currency)), ("rate", rate_problem(rate))):
            if problem:
                problems.append((name, problem))
    if problems:
        return None, problems
    return Conversion(currency, rate, Fraction(Decimal(rate))), []
