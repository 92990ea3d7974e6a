"""The one error type central's services raise: a refusal with a status and a stable code.

The JSON and sync APIs answer it as ``{"error": {"code", "message", "details"}}``; the
command line prints its message as one line on stderr.
"""

from __future__ import annotations

from typing import Any


class CentralError(Exception):
    """A refusal: HTTP ``status``, snake_case ``code``, a one-line ``message`` and ``details``."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def not_found(code: str, message: str) -> CentralError:
    return CentralError(404, code, message)


def invalid(code: str, message: str, **details: Any) -> CentralError:
    return CentralError(422, code, message, details)


def conflict(code: str, message: str, **details: Any) -> CentralError:
    return CentralError(409, code, message, details)
