"""Probing the configured peripherals for ``doctor`` and ``devices status``: never raises."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from .. import box as boxes
from .settings import DEVICES, PeripheralSettings, load_settings, prepare_escpos_cache


def probe_devices(target) -> list[dict[str, Any]]:
    """One entry per device kind (see ``edge.peripherals.device_report``); never raises."""
    data_dir = Path(getattr(target, "data_dir", target))
    try:
        settings = load_settings(data_dir, strict=False)
    except boxes.BoxError as exc:  # config.json unreadable: no device can be trusted
        return [_entry(name, None, error=str(exc)) for name in DEVICES]
    report = []
    for name in DEVICES:
        url = getattr(settings, name)
        if url is None:
            report.append(_entry(name, None, error=settings.errors.get(name)))
            continue
        try:
            if name == "printer":
                report.append(_probe_printer(settings, target))
            else:
                reachable, error = _probe_serial(url)
                report.append(_entry(name, url.url, reachable=reachable, error=error))
        except Exception as exc:  # a report must come out whatever the device does
            report.append(_entry(name, url.url, reachable=False, error=f"probe failed: {exc}"))
    for key, message in settings.errors.items():
        if key not in DEVICES:
            report.append(_entry("config", None, error=message))
    return report


def _entry(name: str, url: str | None, *, reachable: bool | None = None, ok: bool | None = None,
           error: str | None = None, **extra: Any) -> dict[str, Any]:
    """A report entry: not configured (no url, no error), misconfigured (no url, an error),
    or probed (url, reachable); ``detail`` is its one line, ``summary`` the same after the
    device name."""
    configured = url is not None or error is not None
    if url is None:
        ok, reachable = not configured, None
        text = f"misconfigured: {error}" if error else "not configured"
    else:
        ok = bool(reachable) if ok is None else ok
        details = ["reachable" if reachable else "NOT reachable"]
        if extra.get("paper") not in (None, "unknown"):
            details.append(f"paper {extra['paper']}")
        if "queued" in extra:
            details.append(f"{extra['queued']} queued, {extra['failed']} failed print jobs")
        if error:
            details.append(error)
        text = f"{url}: {', '.join(details)}"
    return {"device": name, "configured": configured, "url": url, "reachable": reachable, "ok": ok,
            "error": error, **extra, "detail": text, "summary": f"{name:<8} {text}"}


def _probe_printer(settings: PeripheralSettings, target) -> dict[str, Any]:
    prepare_escpos_cache(Path(getattr(target, "data_dir", target)))
    from devices import DeviceUnavailable
    from devices.printer import printer_status

    from .printqueue import NO_STATUS_REPLY, open_configured_printer

    url = settings.printer.url
    extra = _queue_counts(target)
    try:
        printer = open_configured_printer(settings)
    except DeviceUnavailable as exc:
        return _entry("printer", url, reachable=False, error=str(exc), paper="unknown", **extra)
    except boxes.BoxError as exc:  # bad profile or width
        return _entry("printer", None, error=str(exc))
    status = printer_status(printer)
    error = " ".join(status["error"].split()) if status["error"] else None
    if error == NO_STATUS_REPLY:  # connected, but this printer does not report its state
        return _entry("printer", url, reachable=True, error="no reply to status queries", paper="unknown", **extra)
    if status["paper"] == "out":
        error = "out of paper"
    ok = status["reachable"] and status["paper"] != "out" and not error
    return _entry("printer", url, reachable=status["reachable"], ok=ok, error=error, paper=status["paper"], **extra)


def _queue_counts(target) -> dict[str, Any]:
    """Queued and failed print jobs and the last printer error the edge recorded."""
    try:
        if not isinstance(target, boxes.EdgeBox):
            boxes.load(Path(target))  # opens the database
        from ..models import PrintJob

        queued = PrintJob.select().where(PrintJob.status == "queued").count()
        failed = PrintJob.select().where(PrintJob.status == "failed").count()
        last = (PrintJob.select(PrintJob.last_error).where(PrintJob.last_error.is_null(False))
                .order_by(PrintJob.created_at.desc()).first())
    except Exception:  # not initialised yet: there is no queue to report
        return {}
    return {"queued": queued, "failed": failed, "last_job_error": last.last_error if last else None}


def _probe_serial(url) -> tuple[bool, str | None]:
    """Can the port be opened? A port held by the running edge counts as present."""
    if url.kind == "loop":
        return True, None
    import serial

    path = url.path
    if not os.path.exists(path):
        return False, f"no such device {path} (unplugged? list ports with: python -m serial.tools.list_ports)"
    _, options = url.serial_args()
    try:
        port = serial.serial_for_url(path, exclusive=True, **options)
    except serial.SerialException as exc:
        text = str(exc)
        if "exclusively lock" in text:
            return True, "in use by another process (fidelis-edge serve?)"
        if getattr(exc, "errno", None) == errno.EACCES or "Permission denied" in text:
            return False, f"permission denied on {path}: add the edge's user to the dialout group"
        return False, text
    port.close()
    return True, None


