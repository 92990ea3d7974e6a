"""Per-request access to the box, the clock and the JSON body."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, request

from ..box import EdgeBox
from ..validation import parse_body


def box() -> EdgeBox:
    return current_app.extensions["fidelis_edge"]


def now() -> datetime:
    return current_app.config["CLOCK"]()


def body() -> Any:
    return parse_body(request.get_data())
