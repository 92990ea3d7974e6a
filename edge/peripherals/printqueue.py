"""The receipt print queue: jobs in the database, one worker thread, each job on paper once.

A request for a receipt adds a ``PrintJob`` row and wakes the worker, which prints the
oldest queued job first. When the printer is off, unreachable or out of paper the job stays
queued and the worker tries again after a jittered wait whose ceiling starts at 1 s and
doubles up to a minute (``sync.backoff``; a new request makes it try at once). A sale is never touched by any of this.

At most once: just before the bytes go out the job is *claimed* (``claimed_at``, committed);
right after the printer took them it is marked ``printed``. If the printer could not be
reached the claim is dropped and the job retried. If the process dies between the claim and
the mark, nobody knows whether the receipt came out, so at the next start the job is marked
``failed`` ("interrupted") and never printed again on its own: a missing receipt is
reprinted by hand (``POST /sales/{id}/receipt``), a doubled one cannot be taken back.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from peewee import fn

from devices import DeviceUnavailable
from shared.times import format_time, parse_time
from sync.backoff import Backoff

from .. import saleviews
from ..box import EdgeBox
from ..db import database, write_transaction
from ..errors import ApiError
from ..models import PrintJob
from .receipts import (  # noqa: F401  (re-exported for the CLI)
    NO_STATUS_REPLY,
    RECEIPT,
    REPRINT,
    build_receipt,
    check_printer,
    one_line,
    open_configured_printer,
)

__all__ = ["JobOutcome", "PrintQueue", "build_receipt", "check_printer", "open_configured_printer"]

log = logging.getLogger("fidelis.edge.printqueue")

QUEUED, PRINTED, FAILED = "queued", "printed", "failed"
IDLE_POLL = 30.0  # seconds between looks at the queue when nobody wakes the worker
# A cash drawer popping open minutes after the sale, when the printer comes back, is a
# drawer left open with nobody at the till: late receipts print without the kick.
DRAWER_WINDOW = 60.0
INTERRUPTED = ("interrupted while printing (the edge stopped after sending it to the printer and before "
               "recording it): not printed again automatically; reprint it if the receipt is missing")


@dataclass(frozen=True)
class JobOutcome:
    """What a receipt request came to: ``status`` is printed, queued, unavailable or failed."""

    job: dict[str, Any]
    status: str
    error: str | None = None
    replayed: bool = False


def job_view(job: PrintJob) -> dict[str, Any]:
    return {
        "job_id": job.id, "sale_id": job.sale_id, "kind": job.kind, "status": job.status,
        "attempts": job.attempts, "last_error": job.last_error, "created_at": job.created_at,
        "printed_at": job.printed_at,
    }


class PrintQueue:
    """The print jobs of one edge and the worker thread that prints them."""

    def __init__(self, box: EdgeBox, settings, *, clock: Callable[[], datetime]):
        self.box = box
        self.settings = settings
        self.clock = clock
        self.retry_initial = settings.print_retry_initial
        self.retry_max = max(settings.print_retry_max, settings.print_retry_initial)
        self.printer = None
        self.open_error: str | None = None
        try:
            self.printer = open_configured_printer(settings)  # connects on the first job only
        except DeviceUnavailable as exc:  # e.g. usb:// without pyusb: jobs wait, sales go on
            self.open_error = str(exc)
            log.error("printer %s cannot be used: %s", settings.printer.url, exc)
        self.printer_ok: bool | None = None  # None until the first attempt
        self.last_error: str | None = self.open_error
        self.paper: str | None = None
        self.backoff = Backoff(self.retry_initial, self.retry_max)  # the worker's; for diagnostics
        self._status_replies = True  # False once the printer proved it prints without answering
        self._cond = threading.Condition()
        self._attempts = 0
        self._last_failure = 0
        self._finished: dict[str, str] = {}  # job id -> printed|failed, for waiting requests
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "PrintQueue":
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fidelis-printer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def wake(self) -> None:
        """Look at the queue now instead of at the end of the current wait."""
        self._wake.set()

    def recover(self) -> int:
        """Fail the jobs a previous run claimed but never marked printed (see the module doc)."""
        with write_transaction():
            return (PrintJob.update(status=FAILED, last_error=INTERRUPTED)
                    .where((PrintJob.status == QUEUED) & PrintJob.claimed_at.is_null(False)).execute())

    # --- requests ----------------------------------------------------------------------------

    def submit(self, sale_id: str, till_id: str | None = None, idempotency_key: str | None = None,
               wait: float | None = None) -> JobOutcome:
        """Queue the sale's receipt (or reuse its job still waiting) and wait briefly for it.

        ``printed``: on paper. ``queued``: the worker is busy and the printer was fine at
        last look. ``unavailable``: the printer failed since this request came in (or is
        known down); the job stays queued. ``failed``: the receipt cannot be laid out.
        """
        saleviews.get(sale_id)  # 404 sale_not_found before anything is written
        stamp = format_time(self.clock())
        replayed = False
        with write_transaction():
            job = None
            if idempotency_key is not None:
                job = PrintJob.get_or_none((PrintJob.till == till_id) & (PrintJob.idempotency_key == idempotency_key))
                if job is not None:
                    if job.sale_id != sale_id:
                        raise ApiError(409, "idempotency_conflict",
                                       "this Idempotency-Key was used with a different request")
                    replayed = True
            if job is None:
                # A receipt still waiting for the printer is not queued twice: pressing
                # "print" again while the printer is off must not give two receipts later.
                job = (PrintJob.select().where((PrintJob.sale == sale_id) & (PrintJob.status == QUEUED))
                       .order_by(PrintJob.created_at).first())
            if job is None:
                earlier = PrintJob.select().where(PrintJob.sale == sale_id).exists()
                job = PrintJob.create(id=str(uuid.uuid4()), sale=sale_id, kind=REPRINT if earlier else RECEIPT,
                                      status=QUEUED, attempts=0, created_at=stamp, till=till_id,
                                      idempotency_key=idempotency_key)
        if job.status != QUEUED:
            return JobOutcome(job_view(job), job.status, job.last_error, replayed)
        with self._cond:
            start = self._attempts
        self._wake.set()
        deadline = time.monotonic() + (self.settings.receipt_wait if wait is None else wait)
        with self._cond:
            while True:
                finished = self._finished.get(job.id)
                if finished is not None or self._last_failure > start:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            known_down = self.printer_ok is False
            failed_since = self._last_failure > start
        job = PrintJob.get_by_id(job.id)
        if job.status == PRINTED:
            return JobOutcome(job_view(job), PRINTED, None, replayed)
        if job.status == FAILED:
            return JobOutcome(job_view(job), FAILED, job.last_error, replayed)
        if failed_since or known_down:
            return JobOutcome(job_view(job), "unavailable", self.last_error or "printer not reachable", replayed)
        return JobOutcome(job_view(job), QUEUED, None, replayed)

    def status(self) -> dict[str, Any]:
        """Counts and the last known state, from this process (no printer I/O)."""
        counts = dict(PrintJob.select(PrintJob.status, fn.COUNT(PrintJob.id))
                      .group_by(PrintJob.status).tuples())
        return {"reachable": self.printer_ok, "paper": self.paper, "last_error": self.last_error,
                "queued": counts.get(QUEUED, 0), "failed": counts.get(FAILED, 0),
                "printed": counts.get(PRINTED, 0)}

    # --- the worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.backoff = Backoff(self.retry_initial, self.retry_max)
        try:
            while not self._stop.is_set():
                try:
                    job = (PrintJob.select().where((PrintJob.status == QUEUED) & PrintJob.claimed_at.is_null())
                           .order_by(PrintJob.created_at, PrintJob.id).first())
                    if job is None:
                        self._pause(IDLE_POLL)
                        continue
                    done = self._attempt(job)
                except Exception:  # the database, most likely: keep the thread alive and retry
                    log.exception("print queue: unexpected failure")
                    done = False
                if done:
                    backoff.succeeded()
                else:
                    self._pause(backoff.failed())
        finally:
            database.close()

    def _pause(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _attempt(self, job: PrintJob) -> bool:
        """Try one job; False when the printer is unavailable (back off), else True."""
        now = self.clock()
        try:
            waited = (now - parse_time(job.created_at)).total_seconds()
            receipt = build_receipt(job.sale_id, self.settings, self.box.store_code, job.kind, now,
                                    drawer=waited <= DRAWER_WINDOW)
        except Exception as exc:  # a receipt that cannot be built will never print: say so
            log.exception("print job %s: cannot build the receipt", job.id)
            self._finish(job, FAILED, f"cannot build the receipt: {exc}")
            return True
        state = None
        try:
            if self.printer is None:
                raise DeviceUnavailable(self.open_error or "printer cannot be opened")
            if self._status_replies and self.settings.printer_status_check:
                state = check_printer(self.printer)
                self.paper = "low" if state == "low" else (None if state == NO_STATUS_REPLY else "ok")
        except DeviceUnavailable as exc:
            self._unavailable(job, one_line(exc), claimed=False)
            return False
        if not self._claim(job):
            return True  # no longer queued: nothing to do
        from devices.printer import print_receipt

        try:
            print_receipt(self.printer, receipt)
        except DeviceUnavailable as exc:
            # Nothing (or a torn half) reached the paper: drop the claim and retry later.
            self._unavailable(job, one_line(exc), claimed=True)
            return False
        except Exception as exc:  # a layout error sends nothing
            log.exception("print job %s: receipt layout failed", job.id)
            self._finish(job, FAILED, f"receipt layout failed: {exc}")
            return True
        if state == NO_STATUS_REPLY:
            self._status_replies = False
            log.info("printer %s prints but does not answer status queries; not asking again",
                     self.settings.printer.url)
        self._finish(job, PRINTED, None)
        return True

    def _claim(self, job: PrintJob) -> bool:
        with write_transaction():
            claimed = (PrintJob.update(attempts=PrintJob.attempts + 1, claimed_at=format_time(self.clock()))
                       .where((PrintJob.id == job.id) & (PrintJob.status == QUEUED) & PrintJob.claimed_at.is_null())
                       .execute())
        return bool(claimed)

    def _unavailable(self, job: PrintJob, error: str, claimed: bool) -> None:
        log.log(logging.WARNING if self.printer_ok is not False else logging.DEBUG,
                "printer %s unavailable: %s", self.settings.printer.url, error)
        try:
            with write_transaction():
                # Every try counts; the claim already counted the ones that got that far.
                (PrintJob.update(claimed_at=None, last_error=error, attempts=PrintJob.attempts + (0 if claimed else 1))
                 .where(PrintJob.id == job.id).execute())
        except Exception:
            log.exception("print job %s: cannot record the failure", job.id)
        if error == "printer is out of paper":
            self.paper = "out"
        with self._cond:
            self._attempts += 1
            self._last_failure = self._attempts
            self.printer_ok = False
            self.last_error = error
            self._cond.notify_all()

    def _finish(self, job: PrintJob, status: str, error: str | None) -> None:
        values: dict[str, Any] = {"status": status, "last_error": error}
        if status == PRINTED:
            values["printed_at"] = format_time(self.clock())
        try:
            with write_transaction():
                PrintJob.update(**values).where(PrintJob.id == job.id).execute()
        except Exception:
            # Printed but not recorded: the claim stays, so it is never printed again.
            log.exception("print job %s: %s but not recorded", job.id, status)
        with self._cond:
            self._attempts += 1
            if status == PRINTED:
                self.printer_ok = True
                self.last_error = None
            self._finished[job.id] = status
            if len(self._finished) > 1000:
                self._finished.pop(next(iter(self._finished)))
            self._cond.notify_all()
