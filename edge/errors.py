"""Errors the till API answers with: ``{"error": {"code", "message", "details"}}``.

``ApiError`` is the refusal both apps share (``sync.refusal.Refusal``), answered by the shared
web layer (``sync.web``).
"""

from __future__ import annotations

from typing import Any

from sync.refusal import Refusal

ApiError = Refusal
"""A refusal with an HTTP status and a stable snake_case ``code``."""


def not_found(code: str, message: str) -> ApiError:
    return ApiError(404, code, message)


def unprocessable(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(422, code, message, details)
