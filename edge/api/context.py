"""Per-request access to the box, the clock and the JSON body."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from sync.web import json_body

from ..box import EdgeBox


def box() -> EdgeBox:
    return current_app.extensions["fidelis_edge"]


def now() -> datetime:
    return current_app.config["CLOCK"]()


def body() -> Any:
    return json_body()
