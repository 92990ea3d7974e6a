"""Everything else a till prints: loyalty cards, blank registration forms, test pages, and
the bare drawer kick."""

from __future__ import annotations

from typing import Sequence

from escpos.escpos import Escpos

from .job import Job, send

__all__ = ["kick_drawer", "print_card", "print_pairing_code", "print_registration_form", "test_page"]

# One line per code page family, to check on paper that the printer's tables match its profile.
CODE_PAGE_SAMPLE = "é ç ü ø ł ă ő є ж €"


def print_card(printer: Escpos, name: str, card_number: str, *, brand: str | None = None,
               width: int | None = None) -> None:
    """Print a paper loyalty card: brand, holder's name, card number as a barcode. Cuts."""
    job = Job(printer, width)
    job.start()
    if brand:
        job.title(brand)
    job.centred("Loyalty card")
    job.line()
    job.centred(name, bold=True)
    job.line()
    job.barcode(card_number)
    job.cut()
    job.send()


def print_registration_form(printer: Escpos, brand: str, fields: Sequence[str | tuple[str, int]], *,
                            title: str = "Customer registration", consent: str | None = None,
                            width: int | None = None) -> None:
    """Print a blank form for a customer to fill in by hand. Cuts.

    ``fields`` are labels, or ``(label, lines)`` for fields that need more than one writing
    line; ``consent`` (optional) is printed with a tick box, then signature and date lines.
    """
    job = Job(printer, width)
    job.start()
    job.title(brand)
    job.centred(title, bold=True)
    job.line()
    for field in fields:
        label, count = (field, 1) if isinstance(field, str) else field
        job.line(f"{label}:")
        for _ in range(max(count, 1)):
            job.line()
            job.rule("_")
        job.line()
    if consent:
        job.lines(f"[ ] {consent}")
        job.line()
    for label in ("Signature", "Date"):
        job.line()
        job.pair(f"{label}:", "_" * max(job.width - len(label) - 3, 1))
    job.cut()
    job.send()


def print_pairing_code(printer: Escpos, code: str, details: Sequence[tuple[str, str]], *,
                       width: int | None = None) -> None:
    """Print a new box's pairing code, large, with what head office needs to approve it. Cuts."""
    job = Job(printer, width)
    job.start()
    job.centred("Pairing code", bold=True)
    job.line()
    job.title(code)
    job.line()
    for label, value in details:
        job.pair(label, value)
    job.line()
    job.lines("Head office approves it with: fidelis-central enroll approve CODE --store STORE")
    job.cut()
    job.send()


def kick_drawer(printer: Escpos) -> None:
    """Open the cash drawer wired to the printer (ESC p, pin 2), printing nothing."""
    job = Job(printer)
    job.kick_drawer()
    send(printer, job.output)


def test_page(printer: Escpos, *, width: int | None = None) -> None:
    """Print a short test receipt: profile, a width ruler, accented text, barcode, QR. Cuts."""
    job = Job(printer, width)
    job.start()
    job.title("Printer test")
    job.pair("Profile", str(printer.profile.profile_data.get("name", "?")))
    job.pair("Characters per line", str(job.width))
    ruler = "".join(str(i % 10) for i in range(1, job.width + 1))
    job.line(ruler)
    job.rule()
    job.line(CODE_PAGE_SAMPLE)
    job.escpos.set(bold=True)
    job.line("Bold")
    job.escpos.set(bold=False, underline=1)
    job.line("Underlined")
    job.escpos.set(underline=0)
    job.rule()
    job.barcode("1234567890128")
    job.qr("FIDELIS TEST")
    job.cut()
    job.send()


test_page.__test__ = False  # a printer function, not a test, when imported into test modules
