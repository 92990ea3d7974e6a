"""Gift cards and vouchers by code (``/customers/codes``): support answers "is this still good?".

One form, one code: the page shows the gift card or the voucher with that code as the JSON API
gives it (``central.giftcards.look_up``, ``central.vouchers.look_up``), or says that no card or
voucher has it. Codes are read upper-cased, as the tills read them.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import render_template, request

from sync.bodies import CODE_MAX, usable_key

from .. import giftcards, vouchers
from ..errors import CentralError
from ..web import clock
from .web import area, requires

pages = area("ui_codes", url_prefix="/customers")

STATUS_TEXT = {"active": "Good to use", "used": "Used", "expired": "Expired",
               "voided": "Voided (its sale was returned)"}
"""A status in words: the page never says it with colour alone."""


def _found(look_up: Callable[..., dict[str, Any]], code: str) -> dict[str, Any] | None:
    try:
        return look_up(code, clock())
    except CentralError as error:
        if error.status != 404:
            raise
        return None


@pages.get("/codes")
@requires("customers.view")
def look_up():
    """Look up a gift card or a voucher by its code."""
    code = request.args.get("code", "").strip()
    if "code" in request.args and not usable_key(code, CODE_MAX):
        problems = {"code": f"type the code on the card or voucher: 1-{CODE_MAX} letters or digits"}
        return render_template("codes.html", code=code, problems=problems, searched=False), 400
    card = _found(giftcards.look_up, code) if code else None
    voucher = _found(vouchers.look_up, code) if code else None
    return render_template("codes.html", code=code.upper(), problems={}, searched=bool(code), card=card,
                           voucher=voucher, status_text=STATUS_TEXT)
