"""Health, status and the OpenAPI document."""

from __future__ import annotations

from flask import jsonify

from .. import storage
from ..openapi import document
from ..status import status
from .blueprint import api
from .context import box


@api.get("/health")
def health():
    database = storage.state()
    if database["read_only"]:
        return jsonify({"status": "read_only", "reason": database["reason"]})
    return jsonify({"status": "ok"})


@api.get("/status")
def get_status():
    return jsonify(status(box()))


@api.get("/openapi.json")
def openapi():
    return jsonify(document())
