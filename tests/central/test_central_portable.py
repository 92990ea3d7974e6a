"""Central's SQL stays portable to PostgreSQL-wire distributed SQL (docs/operations.md):
row locks instead of advisory locks, and transactions rerun on serialization failures."""

from __future__ import annotations

import re
from pathlib import Path

import peewee
import psycopg2
import pytest

from central import db

CENTRAL = Path(__file__).resolve().parents[2] / "central"


def test_central_takes_no_advisory_lock_and_needs_no_extension():
    sql = re.compile(r"pg_advisory|pg_try_advisory|CREATE EXTENSION", re.IGNORECASE)
    found = [f"{path.name}:{number}" for path in CENTRAL.rglob("*.py")
             for number, line in enumerate(path.read_text().splitlines(), 1) if sql.search(line)]
    assert found == []


def test_a_serialization_failure_reruns_the_whole_transaction(central, edge, database_url):
    if not db.is_postgres():
        pytest.skip("SQLite has one writer: no serialization failures")
    parsed = db.parse_url(database_url)
    other = psycopg2.connect(parsed.target, options=f"-c search_path={parsed.schema}")
    other.autocommit = True
    attempts: list[int] = []

    def work() -> int:
        attempts.append(len(attempts) + 1)
        db.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        (seq,), = db.rows("SELECT reported_seq FROM device WHERE id = ?", (edge.device_id,))
        if len(attempts) == 1:  # another server commits a change of the same row meanwhile
            other.cursor().execute("UPDATE device SET reported_seq = 100 WHERE id = %s", (edge.device_id,))
        db.execute("UPDATE device SET reported_seq = ? WHERE id = ?", ((seq or 0) + 1, edge.device_id))
        return (seq or 0) + 1

    try:
        assert db.retrying(work) == 101
    finally:
        other.close()
    assert attempts == [1, 2]
    assert db.rows("SELECT reported_seq FROM device WHERE id = ?", (edge.device_id,)) == [(101,)]


def test_other_failures_are_not_retried_and_nothing_is_half_written(central, edge):
    attempts: list[int] = []

    def work() -> None:
        attempts.append(1)
        db.execute("UPDATE device SET reported_seq = 7 WHERE id = ?", (edge.device_id,))
        db.execute("INSERT INTO store (code, name, created_at) VALUES ('S001', 'again', 'now')")  # taken

    with pytest.raises(peewee.IntegrityError):
        db.retrying(work)
    assert attempts == [1]
    assert db.rows("SELECT reported_seq FROM device WHERE id = ?", (edge.device_id,)) == [(None,)]
