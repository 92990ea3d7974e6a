"""Request validation that lists every problem at once.

JSON bodies are parsed strictly (``sync.untrusted.parse_json``: no duplicate keys, NaN,
lone surrogates or runaway nesting) so that a float becomes a ``FloatValue`` marker instead
of failing the parse: a float is a wrong type (money is integer minor units), reported with
its path like any other, rather than a malformed document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sync.bodies import BIRTH_DATE_MAX, CARD_MAX, EMAIL_MAX, PHONE_MAX, text_problem
from sync.untrusted import MalformedJson, parse_json

from .errors import ApiError

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE_CHARS = re.compile(r"[\s().-]")
PHONE = re.compile(r"^\+?[0-9]{6,15}$")
CARD = re.compile(r"^[A-Za-z0-9]{4,32}$")
MAX_MONEY = 10**11  # one billion in major units: far beyond any till, well inside int64


@dataclass(frozen=True)
class FloatValue:
    text: str


def parse_body(raw: bytes) -> Any:
    """Parse a request body; ``400 malformed_json`` when it is not JSON at all."""
    if not raw:
        raise ApiError(400, "malformed_json", "the request body must be a JSON document")
    try:
        return parse_json(raw, parse_float=FloatValue)
    except MalformedJson as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {exc}") from None


class Checker:
    """Reads fields out of untrusted objects, collecting ``{"path", "message"}`` problems."""

    def __init__(self) -> None:
        self.problems: list[dict[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append({"path": path, "message": message})

    def raise_if_failed(self) -> None:
        if self.problems:
            first = self.problems[0]
            raise ApiError(
                422,
                "validation_error",
                f"{first['path']}: {first['message']}"
                + (f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""),
                {"problems": self.problems},
            )

    def obj(self, value: Any, path: str, allowed: set[str]) -> dict:
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
            return {}
        for extra in sorted(set(value) - allowed):
            self.fail(f"{path}.{extra}" if path != "$" else extra, "unknown field")
        return value

    def integer(self, value: Any, path: str, low: int = 0, high: int = MAX_MONEY) -> int | None:
        if isinstance(value, FloatValue):
            self.fail(path, "must be an integer (amounts are in minor units, no decimals)")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be an integer")
            return None
        if not low <= value <= high:
            self.fail(path, f"must be between {low} and {high}")
            return None
        return value

    def text(self, value: Any, path: str, max_length: int, *, required: bool = True) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str):
            self.fail(path, "must be a string" + ("" if required else " or null"))
            return None
        # Checked before trimming: a control character anywhere means the till sent something
        # other than the text a person typed or scanned.
        problem = text_problem(value)
        if problem:
            self.fail(path, problem)
            return None
        value = value.strip()
        if required and not value:
            self.fail(path, "must not be empty")
            return None
        if len(value) > max_length:
            self.fail(path, f"must be at most {max_length} characters")
            return None
        return value or None

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
            return False
        return value

    def email(self, value: Any, path: str) -> str | None:
        text = self.text(value, path, EMAIL_MAX, required=False)
        if text is not None and not EMAIL.match(text):
            self.fail(path, "must be an email address like name@example.com")
            return None
        if text and len(text.lower()) > EMAIL_MAX:  # lower() can lengthen: "İ" becomes two characters
            self.fail(path, f"must be at most {EMAIL_MAX} characters")
            return None
        return text.lower() if text else None

    def phone(self, value: Any, path: str) -> str | None:
        text = self.text(value, path, PHONE_MAX, required=False)
        if text is None:
            return None
        normalized = normalize_phone(text)
        if not PHONE.match(normalized):
            self.fail(path, "must be a phone number of 6 to 15 digits, optionally starting with +")
            return None
        return normalized

    def birth_date(self, value: Any, path: str, today: date) -> str | None:
        text = self.text(value, path, BIRTH_DATE_MAX, required=False)
        if text is None:
            return None
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is None or len(text) != 10:
            self.fail(path, "must be a date as YYYY-MM-DD")
            return None
        if parsed > today or parsed.year < 1900:
            self.fail(path, "must be a date between 1900-01-01 and today")
            return None
        return text

    def card(self, value: Any, path: str, *, required: bool = False) -> str | None:
        text = self.text(value, path, CARD_MAX, required=required)
        if text is not None and not CARD.match(text):
            self.fail(path, "must be 4 to 32 letters or digits")
            return None
        return text


def normalize_phone(text: str) -> str:
    """Phone numbers compare without spaces, dots, dashes and brackets."""
    return PHONE_CHARS.sub("", text)
