"""What every central model shares: the late-bound database, the id width, the schema's version."""

from __future__ import annotations

from peewee import CharField, IntegerField, Model

from ..db import database

ID = 64  # a UUID, a store code or an entry-derived id such as "<sale id>:earn"


class BaseModel(Model):
    class Meta:
        database = database


class SchemaVersion(BaseModel):
    """One row per applied migration (``central.migrations``)."""

    version = IntegerField(primary_key=True)
    applied_at = CharField()

    class Meta:
        table_name = "schema_version"
