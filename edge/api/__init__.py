"""The till API (docs/contract.md "Till API"), prefix ``/api/v1``."""

from __future__ import annotations

from flask import jsonify

from ..errors import ApiError

from .blueprint import PUBLIC_ENDPOINTS, api  # noqa: F401  (the app registers it)
from . import customers, devices, giftcards, meta, sales, wallet  # noqa: F401  (routes register on import)


def error_response(error: ApiError):
    response = jsonify(error.body())
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fidelis-edge"'
    return response
