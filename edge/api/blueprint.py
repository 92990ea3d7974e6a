"""The till API's blueprint and its gate: every endpoint but ``/health`` needs a till key.

A leaf module: the route modules register on ``api``, and the package imports them.
"""

from __future__ import annotations

from flask import Blueprint, g, request

from sync.web import require_bearer

from ..tills import authenticate

api = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.health"}


@api.before_request
def require_till_key():
    """Every endpoint but /health needs ``Authorization: Bearer <till key>``."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    g.till = require_bearer(authenticate, "a valid till key is required: Authorization: Bearer <key>")
    return None
