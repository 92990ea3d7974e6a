"""The edge box on disk: its data directory, device key, identity and local rules.

Layout of the data directory (mode 0700):
``edge.db`` (SQLite), ``device_key.pem`` (Ed25519, mode 0600), ``config.json`` (peripherals).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from peewee import DatabaseError

from shared.rules import DEFAULT_DOCUMENT, Problem, parse_rules
from shared.times import format_time
from sync.entry import generate_private_key, load_private_key, public_key_raw_b64, write_private_key_file
from sync.bodies import RulesInstalled
from sync.kinds import DeviceInitialised

from . import storage
from .changelog import ChangeLog
from .db import database, write_transaction
from .migrations import open_database
from .models import RulesVersion, Setting

DEFAULT_DATA_DIR = "./var/edge"
KEY_FILE = "device_key.pem"
DB_FILE = "edge.db"
STORE_CODE_MAX = 16


class BoxError(Exception):
    """A problem a technician must fix; the message is one clear line."""


class RulesInvalid(BoxError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        listed = "; ".join(f"{p.path}: {p.message}" for p in problems)
        super().__init__(f"invalid rules document: {listed}")


def data_dir_from(arg: str | None) -> Path:
    """``--data-dir``, else ``FIDELIS_DATA_DIR``, else ``./var/edge``."""
    return Path(arg or os.environ.get("FIDELIS_DATA_DIR") or DEFAULT_DATA_DIR)


@dataclass
class EdgeBox:
    """A loaded, initialised edge: identity, signing key and change log."""

    data_dir: Path
    store_code: str
    device_id: str
    private_key: Ed25519PrivateKey
    changelog: ChangeLog

    @property
    def public_key_b64(self) -> str:
        return public_key_raw_b64(self.private_key)

    def config(self) -> dict[str, Any]:
        path = self.data_dir / "config.json"
        return json.loads(path.read_text()) if path.exists() else {}


def _setting(key: str) -> str | None:
    row = Setting.get_or_none(Setting.key == key)
    return row.value if row else None


def prepare_identity(data_dir: Path) -> tuple[Ed25519PrivateKey, str]:
    """The device key (made once, mode 0600) and device id (a UUID, made once) of this box."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path = data_dir / KEY_FILE
    if not key_path.exists():
        write_private_key_file(key_path, generate_private_key())
    open_database(str(data_dir / DB_FILE))
    device_id = _setting("device_id")
    if device_id is None:
        device_id = str(uuid.uuid4())
        with write_transaction():
            Setting.replace(key="device_id", value=device_id).execute()
    return load_private_key(key_path.read_bytes()), device_id


def initialise(
    data_dir: Path, store_code: str, rules_document: Any | None = None, *, local_rules: bool = True
) -> tuple[EdgeBox, bool]:
    """Prepare a standalone edge; safe to run again. Returns the box and whether it was new.

    Never replaces an existing key, store or local rules: a second run with a different
    store or different rules is refused rather than silently rewriting history.
    ``local_rules=False`` (provisioning) installs none: the rules come from central.
    """
    if not store_code or len(store_code) > STORE_CODE_MAX or not store_code.replace("-", "").isalnum():
        raise BoxError(f"store code must be 1-{STORE_CODE_MAX} letters, digits or dashes, e.g. S001")
    document = DEFAULT_DOCUMENT if rules_document is None else rules_document
    _, problems = parse_rules(document)
    if problems:
        raise RulesInvalid(problems)

    _, device_id = prepare_identity(data_dir)
    existing_store = _setting("store_code")
    if existing_store and existing_store != store_code:
        raise BoxError(f"this box is already initialised for store {existing_store}")
    local = RulesVersion.get_or_none(RulesVersion.version == 0)
    if local and rules_document is not None and json.loads(local.document) != rules_document:
        raise BoxError("this box already has local rules; publish new rules from central instead")
    if existing_store:
        return load(data_dir), False

    now = format_time(datetime.now(timezone.utc))
    with write_transaction():
        Setting.replace(key="device_id", value=device_id).execute()
        Setting.replace(key="store_code", value=store_code).execute()
        box = load(data_dir)
        box.changelog.write(DeviceInitialised(store=store_code, public_key=box.public_key_b64))
        if local is None and local_rules:
            RulesVersion.create(version=0, effective_from=None, document=json.dumps(document), installed_at=now)
            box.changelog.write(RulesInstalled(version=0, effective_from=None, document=document))
    return box, True


def load(data_dir: Path) -> EdgeBox:
    """Open an initialised box; ``BoxError`` when ``fidelis-edge init`` has not been run."""
    key_path = data_dir / KEY_FILE
    db_path = data_dir / DB_FILE
    if not key_path.exists() or not db_path.exists():
        raise BoxError(f"no edge in {data_dir}: run 'fidelis-edge init --store CODE' first")
    if key_path.stat().st_mode & 0o077:
        raise BoxError(f"{key_path} is readable by others; run 'chmod 600 {key_path}'")
    storage.load_mark(data_dir)
    try:
        if database.database != str(db_path) or database.is_closed():
            open_database(str(db_path))
        device_id, store_code = _setting("device_id"), _setting("store_code")
        if not device_id or not store_code:
            raise BoxError(f"the edge in {data_dir} is half-initialised: run 'fidelis-edge init' again")
        key = load_private_key(key_path.read_bytes())
        return EdgeBox(data_dir, store_code, device_id, key, ChangeLog(device_id, key))
    except DatabaseError as exc:
        kind = storage.classify(exc)
        if kind == storage.DATABASE_CORRUPT:
            storage.mark_corrupt(data_dir, f"SQLite: {exc}")
            raise BoxError(f"the database {db_path} is corrupt ({exc}): restore the last good backup "
                           "(fidelis-edge doctor names it)") from None
        if kind == storage.STORAGE_FULL:
            raise BoxError(f"cannot open {db_path} ({exc}): is the disk full or read-only?") from None
        raise
