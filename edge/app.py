"""The edge's Flask application factory."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from . import box as boxes
from . import rulebook
from .db import database
from .errors import ApiError
from .peripherals import init_peripherals

log = logging.getLogger("fidelis.edge")


def create_app(data_dir: str | Path, config: dict[str, Any] | None = None) -> Flask:
    """Build the till API for the initialised edge in ``data_dir``."""
    app = Flask(__name__)
    app.config.update(CLOCK=lambda: datetime.now(timezone.utc), MAX_CONTENT_LENGTH=1 << 20)
    app.config.update(config or {})
    app.extensions["fidelis_edge"] = boxes.load(Path(data_dir))

    from .api import api, error_response

    app.register_blueprint(api)
    init_peripherals(app, app.extensions["fidelis_edge"])

    @app.before_request
    def _connect():
        # Connections are per thread and kept open: waitress reuses a fixed pool of threads.
        database.connect(reuse_if_open=True)

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(error)

    @app.errorhandler(rulebook.NoRules)
    def _no_rules(error: rulebook.NoRules):
        return error_response(ApiError(503, "no_rules_in_force", str(error)))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        response = jsonify({"error": {"code": code, "message": error.description, "details": {}}})
        response.status_code = error.code or 500
        # werkzeug's own headers belong to the answer: a 405 must say what is Allowed.
        for header, value in error.get_headers():
            if header.lower() != "content-type":
                response.headers[header] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error")
        response = jsonify({"error": {"code": "internal_error", "message": "unexpected error; see the edge log", "details": {}}})
        response.status_code = 500
        return response

    return app
