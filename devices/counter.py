"""People counters (door beams) on a serial port.

Line protocol, one event per line (CR, LF or CRLF; case and surrounding blanks ignored):

    IN     one visitor entered          -> 1 visit
    OUT    one visitor left             -> nothing (visits count entries only)
    N      a decimal number N >= 0      -> N visits (a batch since the last line, not a total)

Anything else is logged and ignored. ``on_visits(count, at)`` is called for every event that
adds visits, with ``at`` from ``clock`` (UTC now by default).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timezone, tzinfo
from typing import Callable, Iterable

from .link import LinkedDevice, SerialLink
from .url import SERIAL_KINDS, PeripheralURL, parse_url

__all__ = ["PeopleCounter", "bucket_visits", "parse_count"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
VisitsCallback = Callable[[int, datetime], None]


def parse_count(line: str) -> int | None:
    """Visits a counter line stands for: ``"IN"`` -> 1, ``"OUT"`` -> 0, ``"3"`` -> 3, junk -> None."""
    word = line.strip().upper()
    if word == "IN":
        return 1
    if word == "OUT":
        return 0
    if word.isascii() and word.isdigit():
        return int(word)
    return None


def bucket_visits(events: Iterable[tuple[datetime, int]], tz: tzinfo | None = None) -> dict[tuple[date, int], int]:
    """Sum ``(at, count)`` events into ``{(day, hour): visits}``.

    With ``tz`` the times are converted first (pass the shop's zone so hours are local);
    without it each datetime's own date and hour are used. Hours without visits are absent.
    """
    buckets: Counter[tuple[date, int]] = Counter()
    for at, count in events:
        if tz is not None:
            at = at.astimezone(tz)
        buckets[(at.date(), at.hour)] += count
    return dict(buckets)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class PeopleCounter(LinkedDevice):
    """A serial people counter that reconnects by itself and reports visits."""

    def __init__(self, url: str | PeripheralURL, on_visits: VisitsCallback | None = None, *,
                 clock: Clock = _utc_now, retry_initial: float = 0.5, retry_max: float = 10.0):
        self.url = url if isinstance(url, PeripheralURL) else parse_url(url, SERIAL_KINDS)
        self.on_visits = on_visits
        self.clock = clock
        self.total = 0      # visits seen since start, for status pages
        self.rejected = 0   # lines that were not IN, OUT or a number
        self._link = SerialLink(self.url, name="counter", on_line=self._received,
                                retry_initial=retry_initial, retry_max=retry_max)



    def _received(self, line: str) -> None:
        count = parse_count(line)
        if count is None:
            self.rejected += 1
            log.warning("people counter sent %r; expected IN, OUT or a number", line)
            return
        if count == 0:
            return
        self.total += count
        if self.on_visits is not None:
            self.on_visits(count, self.clock())
