"""Files only their owner may read: databases holding password hashes, keys and customers' data.

SQLite creates a database file with the process's umask (0644 by default) and gives its ``-wal``
and ``-shm`` the database's own mode. Creating the file empty, mode 0600, before SQLite first
opens it makes all three private wherever the command is run from (the systemd units also set
``UMask=0077``). An empty file is an empty SQLite database.
"""

from __future__ import annotations

import os


def create_private_file(path: str | os.PathLike[str], *, exist_ok: bool = True) -> None:
    """Create ``path`` empty with mode 0600. An existing file is left as it is, or, without
    ``exist_ok``, is ``FileExistsError`` (a copy must never land on one)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        if exist_ok:
            return
        raise
    try:
        os.fchmod(fd, 0o600)  # the umask may have removed bits; make the mode exact
    finally:
        os.close(fd)
