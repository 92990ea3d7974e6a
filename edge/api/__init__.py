"""The till API (docs/contract.md "Till API"), prefix ``/api/v1``."""

from __future__ import annotations

from sync.web import error_response  # noqa: F401  (the app and the device routes answer with it)

from .blueprint import PUBLIC_ENDPOINTS, api  # noqa: F401  (the app registers it)
from . import customers, devices, giftcards, meta, sales, wallet  # noqa: F401  (routes register on import)

