"""The one refusal both apps raise: an HTTP status, a stable code, a message and details.

Edge and central answer it the same way (``sync.web``): ``{"error": {"code", "message",
"details"}}`` with the status; their command lines print its message as one line on stderr.
It lives apart from ``sync.web`` so that services and command lines need no web framework.
"""

from __future__ import annotations

from typing import Any

from .untrusted import MalformedJson, parse_json


class Refusal(Exception):
    """A refusal: HTTP ``status``, snake_case ``code``, a one-line ``message`` and ``details``."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        """The contract's error shape."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def invalid_body(problems: list[dict[str, str]]) -> Refusal:
    """``422 validation_error`` listing every problem (``{"path", "message"}``)."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Refusal(422, "validation_error", f"{first['path']}: {first['message']}{more}", {"problems": problems})


def parse_body(raw: bytes | str, what: str = "the request body") -> Any:
    """``raw`` parsed strictly; ``400 malformed_json`` naming ``what`` when it is not one JSON document."""
    if not raw:
        raise Refusal(400, "malformed_json", f"{what} must be a JSON document")
    try:
        return parse_json(raw)
    except MalformedJson as exc:
        raise Refusal(400, "malformed_json", f"{what} is not valid JSON: {exc}") from None
