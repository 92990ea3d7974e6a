"""Customer pole display: two lines of twenty characters on a serial port.

Speaks the Epson DM-D command set that most VFD pole displays emulate. Every screen is sent
whole (clear, home, line 1, jump to line 2, line 2), so a display that was power-cycled or
re-plugged shows the right thing on the next update, and the current screen is re-sent as
soon as the port reopens.

A sale never waits on or fails because of the display: methods return False instead of
raising and the problem is in ``last_error``.
"""

from __future__ import annotations

import logging
import threading

from .link import LinkedDevice, SerialLink
from .text import center, columns, fit, fold, format_money
from .url import SERIAL_KINDS, PeripheralURL, parse_url

__all__ = ["Display", "render"]

log = logging.getLogger(__name__)

ESC = b"\x1b"
US = b"\x1f"
DISPLAY_INIT = ESC + b"@"       # reset to power-on state (overwrite mode, table 0)
DISPLAY_CLEAR = b"\x0c"         # clear both lines
CURSOR_HOME = b"\x0b"           # cursor to line 1, column 1
CURSOR_MOVE = US + b"$"         # US $ x y: cursor to column x, line y (1-based)
LINE_2 = CURSOR_MOVE + bytes([1, 2])

COLUMNS = 20
WRITE_TIMEOUT = 0.5  # seconds a blocked display may hold up the caller


def render(line1: str, line2: str, *, columns: int = COLUMNS, encoding: str = "cp437") -> bytes:
    """The bytes that show exactly ``line1`` over ``line2``, each cut/padded to ``columns``.

    Characters the display's ``encoding`` lacks become a near equivalent (``ł`` -> ``l``,
    ``€`` -> ``EUR``) or ``?``.
    """
    def encodable(char: str) -> bool:
        try:
            char.encode(encoding)
        except UnicodeEncodeError:
            return False
        return True

    def line(text: str) -> bytes:
        safe = fold(text.replace("\n", " "), encodable)
        return fit(safe, columns).encode(encoding)

    return DISPLAY_CLEAR + CURSOR_HOME + line(line1) + LINE_2 + line(line2)


class Display(LinkedDevice):
    """A two-line customer display that reconnects by itself and never raises.

    ``welcome``, ``show_total``, ``show_points`` and ``show`` return True when the screen
    reached the port, False when it did not (it will be shown once the display is back).
    """

    def __init__(self, url: str | PeripheralURL, *, columns: int = COLUMNS, encoding: str = "cp437",
                 retry_initial: float = 0.5, retry_max: float = 10.0):
        self.url = url if isinstance(url, PeripheralURL) else parse_url(url, SERIAL_KINDS)
        self.columns = columns
        self.encoding = encoding
        self.screen: tuple[str, str] = ("", "")
        self._screen_lock = threading.Lock()
        self._link = SerialLink(self.url, name="display", on_connect=self._reinitialise,
                                retry_initial=retry_initial, retry_max=retry_max,
                                port_options={"write_timeout": WRITE_TIMEOUT})



    # --- screens ---------------------------------------------------------------------------

    def show(self, line1: str, line2: str = "") -> bool:
        """Show two lines as given (cut/padded to the width)."""
        try:
            data = render(line1, line2, columns=self.columns, encoding=self.encoding)
        except Exception as exc:  # a bad encoding name must not break a sale either
            log.exception("display: cannot render %r / %r", line1, line2)
            self._link.last_error = f"render failed: {exc}"
            return False
        with self._screen_lock:
            self.screen = (line1, line2)
            return self._link.write(data)

    def welcome(self, text: str) -> bool:
        """Centre a greeting; a newline in ``text`` splits it over the two lines."""
        first, _, second = text.partition("\n")
        return self.show(center(first, self.columns), center(second, self.columns))

    def show_total(self, label: str, amount_minor: int, currency: str, minor_digits: int = 2) -> bool:
        """``label`` on line 1, the amount right-aligned on line 2 (``EUR 12.50``)."""
        try:
            amount = format_money(amount_minor, minor_digits, currency=currency)
        except (TypeError, ValueError) as exc:
            log.error("display: bad amount %r: %s", amount_minor, exc)
            self._link.last_error = f"bad amount: {exc}"
            return False
        return self.show(label, amount.rjust(self.columns))

    def show_points(self, earned: int, balance: int, *, earned_label: str = "Points earned",
                    balance_label: str = "Balance") -> bool:
        """Points earned on this sale and the new balance, labels left, numbers right."""
        return self.show(columns(earned_label, f"+{earned}" if earned > 0 else str(earned), self.columns),
                         columns(balance_label, str(balance), self.columns))

    def clear(self) -> bool:
        """Blank both lines."""
        return self.show("", "")

    def _reinitialise(self) -> None:
        # Runs on every (re)connect: the display may have been power-cycled and shows
        # garbage or nothing, so reset it and put the current screen back.
        with self._screen_lock:
            line1, line2 = self.screen
            data = render(line1, line2, columns=self.columns, encoding=self.encoding)
            self._link.write(DISPLAY_INIT + data)
