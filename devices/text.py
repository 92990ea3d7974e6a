"""Money and fixed-width text for receipts and two-line displays.

Amounts are integers in minor units (cents) everywhere; they are split with ``divmod`` and
never pass through a float.
"""

from __future__ import annotations

import textwrap
import unicodedata
from typing import Callable

__all__ = ["format_money", "fit", "center", "columns", "wrap", "fold"]

# Characters the usual DOS/Windows code pages lack, with the substitute shops expect to see.
# Consulted only when the character itself cannot be encoded.
NEAR_EQUIVALENTS = {
    # Romanian comma-below letters are in no ESC/POS code page; the cedilla forms are the
    # customary stand-in (they are in CP852).
    "ș": "ş", "Ș": "Ş", "ț": "ţ", "Ț": "Ţ",
    # Ukrainian letters missing from CP866 look the same as these.
    "і": "i", "І": "I", "ґ": "г", "Ґ": "Г",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ı": "i",
    "œ": "oe", "Œ": "OE", "€": "EUR",
    "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"',
    "–": "-", "—": "-", "−": "-", "…": "...", "\u00a0": " ", "\u202f": " ",
}


def format_money(amount_minor: int, minor_digits: int = 2, *, currency: str | None = None,
                 decimal_point: str = ".") -> str:
    """Format an integer amount of minor units: ``format_money(1250) == "12.50"``.

    ``minor_digits`` is the currency's exponent (2 for EUR, 0 for HUF/JPY, 3 for KWD);
    ``currency`` is prefixed when given (``"EUR 12.50"``). Floats are refused.
    """
    if type(amount_minor) is not int:  # bool is an int subclass and a float is a bug here
        raise TypeError(f"amount must be an int of minor units, got {type(amount_minor).__name__}")
    if type(minor_digits) is not int or minor_digits < 0:
        raise ValueError(f"minor_digits must be a non-negative int, got {minor_digits!r}")
    sign = "-" if amount_minor < 0 else ""
    if minor_digits == 0:
        body = str(abs(amount_minor))
    else:
        major, minor = divmod(abs(amount_minor), 10 ** minor_digits)
        body = f"{major}{decimal_point}{minor:0{minor_digits}d}"
    return f"{currency} {sign}{body}" if currency else f"{sign}{body}"


def fit(text: str, width: int) -> str:
    """Cut or pad ``text`` to exactly ``width`` characters (left-aligned)."""
    return text[:width].ljust(width)


def center(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` and centre it in exactly ``width`` characters."""
    return text[:width].center(width)


def columns(left: str, right: str, width: int) -> str:
    """Left text and right-aligned text on one line of exactly ``width`` characters.

    The right part (usually an amount) is never cut unless it alone exceeds the width; the
    left part is cut to leave one space between them.
    """
    right = right[-width:] if len(right) > width else right
    room = width - len(right)
    if not right:
        return fit(left, width)
    if room <= 1:
        return right.rjust(width)
    return fit(left, room - 1) + " " + right


def wrap(text: str, width: int) -> list[str]:
    """Wrap ``text`` into lines of at most ``width`` characters (at least one line)."""
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def fold(text: str, can_encode: Callable[[str], bool], replacement: str = "?") -> str:
    """Replace characters ``can_encode`` rejects by a near equivalent, or ``replacement``.

    Tries the character itself, then :data:`NEAR_EQUIVALENTS`, then the character without
    its accents (``é`` -> ``e``), so the result is always encodable by the caller's device.
    """
    out = []
    for char in text:
        for candidate in (char, NEAR_EQUIVALENTS.get(char), _strip_accents(char)):
            if candidate and all(can_encode(c) for c in candidate):
                out.append(candidate)
                break
        else:
            out.append(replacement)
    return "".join(out)


def _strip_accents(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
