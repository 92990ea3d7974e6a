"""Central's Flask application factory: the JSON API and the sync API over one database."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import peewee
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from sync import web
from sync.entry import public_key_raw_b64

from . import db, keys, settings, ui
from .migrations import open_checked
from .web import CentralState, CustomerIdConverter

log = logging.getLogger("fidelis.central")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build central. ``config`` may set ``DATABASE_URL``, ``KEY_FILE`` and ``CLOCK``."""
    app = Flask(__name__)
    app.config.update(
        DATABASE_URL=db.url_from(None),
        KEY_FILE=str(keys.key_file_from(None)),
        CLOCK=lambda: datetime.now(timezone.utc),
        MAX_CONTENT_LENGTH=settings.MAX_BODY_BYTES,
    )
    app.config.update(config or {})
    open_checked(app.config["DATABASE_URL"])
    key = keys.load_key(Path(app.config["KEY_FILE"]))
    app.extensions["fidelis_central"] = CentralState(key, public_key_raw_b64(key))

    app.url_map.converters["customer_id"] = CustomerIdConverter

    from .api import api
    from .syncapi import sync

    # A 401 of the JSON API names its Bearer realm; the sync API signs requests instead.
    web.init_app(app, name="central", realm="fidelis-central", log=log,
                 challenged=lambda: request.blueprint == "api", page=_error_page)
    app.register_blueprint(api)
    app.register_blueprint(sync)
    ui.init_app(app)

    @app.before_request
    def _connect():
        # SQLite connections stay open per thread (waitress reuses its threads); pooled
        # PostgreSQL connections go back to the pool after each request.
        db.database.connect(reuse_if_open=True)

    @app.teardown_request
    def _release(_exc):
        if db.is_pooled() and not db.database.is_closed():
            db.database.close()

    @app.errorhandler(peewee.OperationalError)
    @app.errorhandler(peewee.InterfaceError)
    def _database_down(error: Exception):
        log.warning("database unavailable: %s", type(error).__name__)
        response = jsonify({"error": {"code": "database_unavailable", "message": "the database is unavailable; retry",
                                      "details": {}}})
        response.status_code = 503
        return response

    return app


def _error_page(error: HTTPException):
    """The web UI answers its HTTP errors as a page; the JSON and sync APIs as JSON (None here)."""
    if not ui.is_page_request():
        return None
    return ui.error_page(error.code or 500, (error.name or "error").lower().replace(" ", "_"), error.description or "")
