"""Checking a pushed batch: shape, device, chain links and every Ed25519 signature.

An Ed25519 check costs ~150 µs and holds the GIL, so for a big batch it is the largest
single cost of a push. With helper processes (``FIDELIS_VERIFY_WORKERS``, by default one
fewer than the CPUs, at most 3) a batch of ``POOL_THRESHOLD`` entries or more is checked by
them while the request thread applies it inside the still-open transaction; nothing commits
before the check has passed. Smaller batches, or no helpers, are checked in-line.

A helper is ``python -m central.verify``: a fresh interpreter that reads pickled jobs on
stdin and answers on stdout (never a fork of a threaded server, and never a re-run of the
caller's ``__main__``). Pickle is safe here because both ends are this module.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

from sync.entry import (
    GENESIS_PREV,
    EntryError,
    entry_hash,
    load_public_key_b64,
    verify_chain,
)

log = logging.getLogger("fidelis.central.sync")
POOL_THRESHOLD = 64
CHUNK = 50
"""Entries per job: the helpers take jobs from the front, the waiting request thread from the back."""
HELPER_TIMEOUT = 60
WORKERS_ENV = "FIDELIS_VERIFY_WORKERS"
_FRAME = struct.Struct(">Q")


# --- the check itself (runs in a helper or in-line) -------------------------------------------


def check_part(public_key: str, device_id: str, entries: list[dict]) -> tuple[Any, ...]:
    """Verify a run of consecutive entries: ``("ok", last_hash, lines)`` or ``("bad", code, message, index)``."""
    first = entries[0]
    try:
        seq, prev = (first.get("seq"), first.get("prev")) if isinstance(first, dict) else (None, None)
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1 or not isinstance(prev, str):
            raise EntryError("malformed_entry", "seq must be an integer >= 1 and prev a hash", index=0)
        if seq == 1 and prev != GENESIS_PREV:
            raise EntryError("broken_chain", "seq 1 must follow the genesis hash", index=0)
        try:
            lines: list[bytes] = []
            last = verify_chain(entries, load_public_key_b64(public_key), after_seq=seq - 1, after_hash=prev,
                                device=device_id, lines=lines)
        except EntryError:
            raise
        except ValueError as exc:
            raise EntryError("malformed_entry", str(exc), index=0) from None
    except EntryError as exc:
        return ("bad", exc.code, exc.args[0], exc.index or 0)
    return ("ok", last, [line.decode("utf-8") for line in lines])


# --- helper processes ---------------------------------------------------------------------------


def _write_frame(stream: BinaryIO, payload: Any) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _read_frame(stream: BinaryIO) -> Any:
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        raise EOFError("helper closed its pipe")
    (size,) = _FRAME.unpack(header)
    return pickle.loads(stream.read(size))


class _Helper:
    """One ``python -m central.verify`` process; one job at a time."""

    def __init__(self) -> None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        self.proc = subprocess.Popen([sys.executable, "-m", "central.verify"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
                                     env={**os.environ, "PYTHONPATH": path})

    def call(self, job: tuple) -> tuple:
        _write_frame(self.proc.stdin, job)
        return _read_frame(self.proc.stdout)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class _Helpers:
    """A fixed set of helper processes, lent out to the threads that talk to them."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.idle: queue.Queue[_Helper] = queue.Queue()
        for _ in range(count):
            self.idle.put(_Helper())
        self.threads = ThreadPoolExecutor(max_workers=count, thread_name_prefix="fidelis-verify")

    def _run(self, job: tuple) -> tuple:
        helper = self.idle.get()
        try:
            answer = helper.call(job)
        except (OSError, EOFError, pickle.UnpicklingError):
            helper.close()
            helper = _Helper()  # replace the broken one; this job is checked in-line
            answer = check_part(*job)
        finally:
            self.idle.put(helper)
        return answer

    def submit(self, job: tuple) -> Future:
        return self.threads.submit(self._run, job)

    def close(self) -> None:
        self.threads.shutdown(wait=True)
        while not self.idle.empty():
            self.idle.get().close()


_helpers: _Helpers | None = None
_helpers_lock = threading.Lock()
_configured: int | None = None


def workers() -> int:
    """How many helper processes to use (0: check in the request thread)."""
    if _configured is not None:
        return _configured
    value = os.environ.get(WORKERS_ENV, "")
    return int(value) if value.isdigit() else max(0, min((os.cpu_count() or 1) - 1, 3))


def configure(count: int | None) -> None:
    """Set the number of helpers (None: from the environment); stops running ones."""
    global _configured, _helpers
    with _helpers_lock:
        _configured = count
        if _helpers is not None:
            _helpers.close()
            _helpers = None


def _get_helpers() -> _Helpers | None:
    global _helpers
    count = workers()
    if count <= 0:
        return None
    with _helpers_lock:
        if _helpers is None:
            try:
                _helpers = _Helpers(count)
            except OSError as exc:
                log.warning("cannot start verification helpers (%s); checking in-line", exc)
                return None
        return _helpers


def warm_up() -> None:
    """Start the helper processes now rather than on the first big push."""
    helpers = _get_helpers()
    if helpers is not None:
        for future in [helpers.submit(("", "", [{}])) for _ in range(helpers.count)]:
            future.result()


# --- one batch ----------------------------------------------------------------------------------


def _looks_consecutive(entries: list[Any]) -> bool:
    """The cheap structure the push relies on before the full check has answered."""
    first = entries[0].get("seq") if isinstance(entries[0], dict) else None
    if type(first) is not int:
        return False
    for offset, entry in enumerate(entries):
        if not (isinstance(entry, dict) and type(entry.get("seq")) is int and entry["seq"] == first + offset
                and isinstance(entry.get("prev"), str) and isinstance(entry.get("id"), str)
                and isinstance(entry.get("kind"), str) and isinstance(entry.get("at"), str)
                and isinstance(entry.get("body"), dict)):
            return False
    return True


class BatchCheck:
    """The check of one batch, running in helpers or already done in-line.

    ``hashes`` are known at once (each entry's hash is the next entry's ``prev``; the last one
    is computed here), so the push can sort entries before the signatures are confirmed;
    ``wait()`` returns the entries' stored lines or raises ``EntryError``.
    """

    def __init__(self, public_key: str, device_id: str, entries: list[dict]) -> None:
        self.entries = entries
        self._futures: list[tuple[int, Future]] = []
        self._lines: list[str] | None = None
        helpers = _get_helpers() if len(entries) >= POOL_THRESHOLD else None
        if helpers is not None and not _looks_consecutive(entries):
            helpers = None  # malformed: the in-line check names the problem at once
        self._job = (public_key, device_id)
        if helpers is None:
            self._lines = self._finish([(0, check_part(public_key, device_id, entries))])
        else:
            self._futures = [(start, helpers.submit((public_key, device_id, entries[start:start + CHUNK])))
                             for start in range(0, len(entries), CHUNK)]
        self.hashes = self._link_hashes()

    def _link_hashes(self) -> list[str]:
        entries = self.entries
        try:
            last = entry_hash(entries[-1])
        except EntryError as exc:
            self.wait()  # the full check names the problem
            raise EntryError(exc.code, exc.args[0], index=len(entries) - 1) from None
        return [entry["prev"] for entry in entries[1:]] + [last]

    def _finish(self, answers: list[tuple[int, tuple]]) -> list[str]:
        lines: list[str] = []
        for start, answer in answers:
            if answer[0] == "bad":
                _, code, message, index = answer
                raise EntryError(code, message, index=start + index)
            _, last, part_lines = answer
            end = start + len(part_lines)
            if end < len(self.entries):  # where two parts meet, the chain must hold too
                following, previous = self.entries[end], self.entries[end - 1]
                if following["seq"] != previous["seq"] + 1 or following["prev"] != last:
                    raise EntryError("broken_chain", f"entry {end} does not follow entry {end - 1}", index=end)
            lines.extend(part_lines)
        return lines

    def wait(self) -> list[str]:
        """The batch's canonical lines once every entry has verified; ``EntryError`` otherwise.

        Jobs no helper has started yet are taken back and checked here, last first, so the
        request thread helps instead of idling.
        """
        if self._lines is None:
            answers: dict[int, tuple] = {}
            for start, future in reversed(self._futures):
                if future.cancel():
                    answers[start] = check_part(*self._job, self.entries[start:start + CHUNK])
            for start, future in self._futures:
                if start not in answers:
                    try:
                        answers[start] = future.result(timeout=HELPER_TIMEOUT)
                    except TimeoutError:
                        log.warning("a verification helper did not answer in %d s; checking in-line", HELPER_TIMEOUT)
                        answers[start] = check_part(*self._job, self.entries[start:start + CHUNK])
            self._lines = self._finish(sorted(answers.items()))
        return self._lines


def _serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """A helper's loop: answer each job until the server closes the pipe."""
    while True:
        try:
            job = _read_frame(stdin)
        except EOFError:
            return
        public_key, device_id, entries = job
        answer = check_part(public_key, device_id, entries) if public_key else ("ok", "", [])
        _write_frame(stdout, answer)


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
