"""Import python-escpos with a shared capabilities cache.

python-escpos parses its printer database (a large JSON file, read with YAML) on import and
pickles the result into ``ESCPOS_CAPABILITIES_PICKLE_DIR``; unset, it makes a new temporary
directory per process and never cleans it up. We point it at one cache directory:
``$FIDELIS_DATA_DIR/cache/escpos`` when set, else ``$XDG_CACHE_HOME/fidelis/escpos``
(``~/.cache/fidelis/escpos``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["PICKLE_DIR_ENV", "cache_dir", "import_escpos"]

PICKLE_DIR_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def cache_dir() -> Path:
    """Where the capabilities pickle should live (not created here)."""
    data_dir = os.environ.get("FIDELIS_DATA_DIR")
    if data_dir:
        return Path(data_dir) / "cache" / "escpos"
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "fidelis" / "escpos"


def import_escpos() -> None:
    """Set the pickle directory (unless already set), create it, and import escpos once."""
    if "escpos.capabilities" in sys.modules:
        return  # imported elsewhere first; its cache choice is already made
    if PICKLE_DIR_ENV not in os.environ:
        os.environ[PICKLE_DIR_ENV] = str(_usable_dir(cache_dir()))
    path = Path(os.environ[PICKLE_DIR_ENV])
    path.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handlers_before = list(root.handlers)
    with _exclusive(path):
        import escpos.capabilities  # noqa: F401  (the import is the point)
    # escpos.capabilities calls logging.basicConfig() at import time; left alone it would make
    # the host application's own basicConfig() a silent no-op.
    for handler in root.handlers[:]:
        if handler not in handlers_before:
            root.removeHandler(handler)


def _usable_dir(preferred: Path) -> Path:
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.W_OK):
            return preferred
    except OSError:
        pass
    # A read-only home (systemd DynamicUser, containers): fall back to a per-user temp dir.
    return Path(tempfile.gettempdir()) / f"fidelis-escpos-{os.getuid() if hasattr(os, 'getuid') else 0}"


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    # python-escpos opens the pickle for writing *before* parsing the database, so a second
    # process starting in that window (parallel test workers, edge + CLI) finds an empty
    # pickle and fails to import. A lock file serialises the first import.
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, accept the small race
        yield
        return
    with open(path / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
