"""The edge's Flask application factory."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, request
from peewee import DatabaseError

from sync import web

from . import box as boxes
from . import rulebook, storage
from .db import database
from .errors import ApiError
from .peripherals import init_peripherals

log = logging.getLogger("fidelis.edge")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
READ_ONLY_POSTS = {"api.quote_basket"}
"""POST endpoints that write nothing, so a read-only (corrupt) box still answers them."""


def _corrupt_error(reason: str) -> ApiError:
    return ApiError(503, "database_corrupt", "the database failed its integrity check; this box serves "
                    "read-only until a backup is restored (fidelis-edge doctor)", {"reason": reason})


def create_app(data_dir: str | Path, config: dict[str, Any] | None = None) -> Flask:
    """Build the till API for the initialised edge in ``data_dir``."""
    app = Flask(__name__)
    app.config.update(CLOCK=lambda: datetime.now(timezone.utc), MAX_CONTENT_LENGTH=1 << 20)
    app.config.update(config or {})
    box = app.extensions["fidelis_edge"] = boxes.load(Path(data_dir))
    # Never sell into a corrupt database: check it before the first request, and serve
    # read-only (writes answer 503 database_corrupt) when the check fails.
    problem = storage.check_at_start(database, box.data_dir)
    if problem:
        log.error("the database failed its integrity check, serving read-only: %s", problem)

    from .api import api, error_response

    web.init_app(app, name="edge", realm="fidelis-edge", log=log)
    app.register_blueprint(api)
    if problem is None:
        try:
            init_peripherals(app, box)
        except DatabaseError as exc:
            if storage.classify(exc) is None:
                raise
            log.error("peripherals not started: %s", exc)  # started on first use once the disk recovers

    @app.before_request
    def _connect():
        # Connections are per thread and kept open: waitress reuses a fixed pool of threads.
        database.connect(reuse_if_open=True)
        if request.method in WRITE_METHODS and request.endpoint not in READ_ONLY_POSTS:
            reason = storage.corrupt_reason()
            if reason is not None:
                # Refused before anything else, even asking central to hold points for a sale.
                return error_response(_corrupt_error(reason))
        return None

    @app.errorhandler(storage.DatabaseCorrupt)
    def _database_corrupt(error: storage.DatabaseCorrupt):
        return error_response(_corrupt_error(storage.corrupt_reason() or str(error)))

    @app.errorhandler(DatabaseError)
    def _database_error(error: DatabaseError):
        kind = storage.classify(error)
        if kind == storage.STORAGE_FULL:
            log.error("write refused, the disk is full or read-only: %s", error)
            return error_response(ApiError(
                507, "storage_full", "the box cannot write to its disk (full or read-only); nothing was "
                "written. Try again once space is freed", {"sqlite": str(error)}))
        if kind == storage.DATABASE_CORRUPT:
            storage.mark_corrupt(box.data_dir, f"SQLite: {error}")
            return error_response(_corrupt_error(storage.corrupt_reason() or str(error)))
        return web.unexpected(error)

    @app.errorhandler(rulebook.NoRules)
    def _no_rules(error: rulebook.NoRules):
        return error_response(ApiError(503, "no_rules_in_force", str(error)))

    return app
