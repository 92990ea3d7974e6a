"""The one error type central's services raise: a refusal with a status and a stable code.

It is the refusal both apps share (``sync.refusal.Refusal``): the JSON and sync APIs answer it
as ``{"error": {"code", "message", "details"}}`` (``sync.web``); the command line prints its
message as one line on stderr.
"""

from __future__ import annotations

from typing import Any

from sync.refusal import Refusal

CentralError = Refusal
"""A refusal: HTTP ``status``, snake_case ``code``, a one-line ``message`` and ``details``."""


def not_found(code: str, message: str) -> CentralError:
    return CentralError(404, code, message)


def invalid(code: str, message: str, **details: Any) -> CentralError:
    return CentralError(422, code, message, details)


def conflict(code: str, message: str, **details: Any) -> CentralError:
    return CentralError(409, code, message, details)
