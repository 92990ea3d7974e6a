"""Central's own Ed25519 key: it signs rule versions and is handed to devices at enrolment.

The key lives in a PEM file (``--key-file``, ``FIDELIS_CENTRAL_KEY``, default
``./var/central_key.pem``) made once by ``fidelis-central init`` with mode 0600 and never
replaced: replacing it would orphan every signature the edges hold.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.entry import generate_private_key, load_private_key, write_private_key_file

from . import settings
from .errors import CentralError


def key_file_from(arg: str | os.PathLike[str] | None) -> Path:
    """``--key-file``, else ``FIDELIS_CENTRAL_KEY``, else ``./var/central_key.pem``."""
    return Path(arg or os.environ.get(settings.KEY_ENV) or settings.DEFAULT_KEY_FILE)


def ensure_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """Load the key at ``path``, creating it (mode 0600) if there is none; return it and whether it is new."""
    if path.exists():
        return load_key(path), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = generate_private_key()
    try:
        write_private_key_file(path, key)
    except FileExistsError:  # another init won the race: use its key
        return load_key(path), False
    return key, True


def load_key(path: Path) -> Ed25519PrivateKey:
    """Load central's key; a missing, unreadable or world-readable file is a clear error."""
    try:
        if path.stat().st_mode & 0o077:
            raise CentralError(500, "key_unsafe", f"{path} is readable by others; run 'chmod 600 {path}'")
        return load_private_key(path.read_bytes())
    except FileNotFoundError:
        raise CentralError(500, "key_missing", f"no central key at {path}: run 'fidelis-central init' first") from None
    except (OSError, ValueError) as exc:
        raise CentralError(500, "key_unreadable", f"cannot read the central key {path}: {exc}") from None
