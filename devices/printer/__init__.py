"""Receipt printers through python-escpos.

    from devices.printer import open_printer, print_receipt, Receipt
    printer = open_printer("escpos+tcp://10.0.0.5:9100")
    print_receipt(printer, Receipt(...))

:func:`open_printer` returns a python-escpos printer object that connects on the first job.
Layouts are composed in memory and sent in one write (see :mod:`.job`); a printer that
cannot be reached raises :class:`devices.DeviceUnavailable`.
"""

from .capabilities import import_escpos

# Before anything imports escpos: it reads its cache location at import time.
import_escpos()

from .base import CODE_PAGE_FIXES, DEFAULT_PROFILE, DEFAULT_WIDTH, open_printer  # noqa: E402
from .forms import kick_drawer, print_card, print_pairing_code, print_registration_form, test_page  # noqa: E402
from .receipt import Payment, Receipt, ReceiptLine, print_receipt  # noqa: E402
from .status import printer_status  # noqa: E402

__all__ = [
    "CODE_PAGE_FIXES",
    "DEFAULT_PROFILE",
    "DEFAULT_WIDTH",
    "Payment",
    "Receipt",
    "ReceiptLine",
    "kick_drawer",
    "open_printer",
    "print_card",
    "print_pairing_code",
    "print_receipt",
    "print_registration_form",
    "printer_status",
    "test_page",
]
