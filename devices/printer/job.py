"""Print jobs: compose in memory, then send in one write.

Every layout is drawn on a python-escpos ``Dummy`` that shares the real printer's profile and
code pages, and the finished bytes go to the printer with a single ``_raw`` call (the
transport method python-escpos printers implement). So a layout error (a bad barcode, a
missing logo) never leaves half a receipt on the paper, and a network printer's only
connection is held for one write, then closed.
"""

from __future__ import annotations

import logging
from typing import Callable

from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from escpos.magicencode import MagicEncode
from escpos.printer import Dummy

from ..errors import DeviceUnavailable
from ..text import columns, fold, wrap
from .base import DEFAULT_WIDTH

__all__ = ["Job", "send"]

log = logging.getLogger(__name__)

DRAWER_PIN = 2        # drawer kick connector pin 2: where single-drawer tills are wired
CUT_MODE = "PART"     # partial cut: the receipt stays hanging instead of dropping on the floor
BARCODE_HEIGHT = 64   # dots (8 mm at 180 dpi), comfortable for handheld scanners
QR_DOT_SIZE = 6       # module size in dots for printer-rendered QR codes
CODE128_MODULES = 11  # modules per CODE128 symbol
QUIET_ZONE = 20       # modules of blank space the two sides need together


class Job:
    """An in-memory print job for ``printer``: line helpers over a python-escpos ``Dummy``."""

    def __init__(self, printer: Escpos, width: int | None = None):
        self.printer = printer
        self.escpos = Dummy()
        # Same profile and code page choices as the real printer, fresh encoding state: the
        # job starts with ESC @, after which the printer is back on its default table.
        self.escpos.profile = printer.profile
        self.escpos.magic = MagicEncode(self.escpos, encoder=printer.magic.encoder)
        self.width = width or getattr(printer, "line_width", None) or _profile_columns(printer) or DEFAULT_WIDTH
        self._can_encode = _encodable_checker(printer.magic.encoder)

    # --- text --------------------------------------------------------------------------------

    def start(self) -> None:
        """Initialise the printer (ESC @): default font, alignment and code page."""
        self.escpos.hw("INIT")

    def line(self, text: str = "") -> None:
        """One line of text, with characters no code page has replaced (see ``text.fold``)."""
        self.escpos.text(fold(text, self._can_encode) + "\n")

    def lines(self, text: str, width: int | None = None) -> None:
        """Wrap ``text`` to the width and print each line."""
        for part in text.splitlines() or [""]:
            for piece in wrap(part, width or self.width):
                self.line(piece)

    def pair(self, left: str, right: str, width: int | None = None) -> None:
        """``left`` and right-aligned ``right`` on one line."""
        self.line(columns(left, right, width or self.width))

    def rule(self, char: str = "-") -> None:
        """A full-width separator line."""
        self.line(char * self.width)

    def title(self, text: str) -> None:
        """Centred double-size bold text (half as many characters fit on a line)."""
        self.escpos.set(align="center", bold=True, double_width=True, double_height=True)
        self.lines(text, max(self.width // 2, 1))
        self.escpos.set(align="left", bold=False, normal_textsize=True)

    def centred(self, text: str, bold: bool = False) -> None:
        """Centred text (wrapped), optionally bold."""
        self.escpos.set(align="center", bold=bold)
        self.lines(text)
        self.escpos.set(align="left", bold=False)

    # --- codes, images, paper ---------------------------------------------------------------

    def barcode(self, code: str) -> None:
        """``code`` as a centred CODE128 barcode with the text below; plain text when it
        cannot be a barcode (non-ASCII) or would not fit the paper."""
        data, symbols = _code128(code)
        dots = _paper_dots(self.printer)
        modules = CODE128_MODULES * (symbols + 3) + 2 + QUIET_ZONE  # + start, check, stop
        module_width = next((w for w in (3, 2) if modules * w <= dots), None)
        if data is None or module_width is None:
            self.centred(code, bold=True)
            return
        self.escpos.barcode(data, "CODE128", height=BARCODE_HEIGHT, width=module_width, pos="BELOW",
                            font="A", align_ct=True, function_type="B")
        self.escpos.set(align="left")

    def qr(self, content: str) -> None:
        """A centred QR code: drawn by the printer (GS ( k) when its profile supports it,
        else rendered here and sent as an image."""
        native = self.printer.profile.supports("qrCode")
        self.escpos.set(align="center")
        self.escpos.qr(content, size=QR_DOT_SIZE, native=native, center=not native)
        self.escpos.set(align="left")

    def logo(self, path: str) -> None:
        """A centred image, shrunk to the paper; a missing or broken file is skipped."""
        try:
            from PIL import Image

            with Image.open(path) as source:
                image = source.convert("RGBA")
            background = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(background, image).convert("RGB")
            dots = _paper_dots(self.printer)
            if image.width > dots:
                image = image.resize((dots, max(1, image.height * dots // image.width)))
            self.escpos.image(image, center=True)
        except (OSError, ValueError, EscposError) as exc:
            log.warning("logo %s not printed: %s", path, exc)

    def kick_drawer(self) -> None:
        """Pulse the cash drawer (ESC p)."""
        self.escpos.cashdraw(DRAWER_PIN)

    def cut(self) -> None:
        """Feed past the tear bar and cut (GS V)."""
        self.escpos.cut(mode=CUT_MODE)

    @property
    def output(self) -> bytes:
        """The job's bytes so far."""
        return self.escpos.output

    def send(self) -> None:
        """Send the job to the printer; see :func:`send`."""
        send(self.printer, self.output)


def send(printer: Escpos, data: bytes) -> None:
    """Write ``data`` to ``printer`` in one go, then close the connection.

    Raises :class:`DeviceUnavailable` when the printer cannot be reached; the printer object
    stays usable for the next attempt.
    """
    try:
        printer._raw(data)
        printer.close()
    # python-escpos raises DeviceNotFoundError on open, OSError subclasses (socket, serial,
    # usb) on write, RuntimeError for a missing optional dependency, and AssertionError when
    # a printer object is reused after a failed open.
    except (OSError, EscposError, RuntimeError, AssertionError) as exc:
        reset(printer)
        raise DeviceUnavailable(f"printer not reachable: {exc or type(exc).__name__}") from exc


def reset(printer: Escpos) -> None:
    """Close ``printer`` and mark it unopened so the next write opens it afresh."""
    try:
        printer.close()
    except Exception as exc:  # already broken; closing is best effort
        log.debug("closing printer failed: %s", exc)
    # After a failed open python-escpos leaves device=None and never retries; False means
    # "not initialised" and makes the next access open again.
    printer.device = False


def _code128(code: str) -> tuple[str | None, int]:
    """ESC/POS CODE128 data (with its code set prefix) and the number of symbols."""
    if code.isascii() and code.isdigit() and len(code) % 2 == 0:
        return "{C" + code, len(code) // 2  # code set C packs two digits per symbol
    if code and all(32 <= ord(c) < 127 for c in code):
        return "{B" + code.replace("{", "{{"), len(code)  # '{' is the escape character
    return None, 0


def _paper_dots(printer: Escpos) -> int:
    try:
        return int(printer.profile.profile_data["media"]["width"]["pixels"])
    except (KeyError, TypeError, ValueError):
        return 512  # 80 mm paper at 180 dpi, the common case


def _profile_columns(printer: Escpos) -> int | None:
    try:
        return int(printer.profile.get_columns(0))
    except Exception:
        return None


def _encodable_checker(encoder) -> Callable[[str], bool]:
    cache: dict[str, bool] = {}

    def can_encode(char: str) -> bool:
        if char not in cache:
            cache[char] = ord(char) < 128 or any(encoder.can_encode(name, char) for name in encoder.codepages)
        return cache[char]

    return can_encode
