"""What every page of the head-office UI shares: sign-in, roles, CSRF, pages of rows, CSV.

Each area of the UI is a blueprint made by ``area(name)``. Before any of its views runs:
- the session cookie is read (``g.session``, ``g.user``); without a live session a page
  redirects to the sign-in form at ``/`` and an action is refused;
- a ``POST`` must carry the session's ``csrf_token`` form field, else ``403 csrf_failed``
  and nothing runs;
- the view must name its permission with ``@requires("…")`` (``central.roles``) and the
  user's role must hold it, else ``403 forbidden``. A view without ``@requires`` is refused
  to everyone: forgetting the check cannot open a page.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import quote, unquote, urlencode

from flask import (Blueprint, Response, abort, current_app, g, redirect, render_template, request,
                   stream_with_context, url_for)

from .. import roles, sessions, settings
from ..errors import CentralError
from ..web import clock, int_arg

PUBLIC = "public"
"""The permission of views anyone may reach (the sign-in form)."""


def area(name: str, url_prefix: str | None = None) -> Blueprint:
    """A blueprint for one area of the UI, guarded as this module's docstring says."""
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix)
    blueprint.before_request(_guard)
    blueprint.register_error_handler(CentralError, _central_error)
    return blueprint


def error_page(status: int, code: str, message: str):
    """An HTML error page in the base layout, with the contract's code in it."""
    return render_template("error.html", status=status, code=code, message=message), status


def _central_error(error: CentralError):
    return error_page(error.status, error.code, error.message)


def requires(permission: str) -> Callable:
    """Mark a view as needing ``permission`` (a key of ``central.roles.PERMISSIONS`` or ``PUBLIC``)."""
    if permission != PUBLIC and permission not in roles.PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def mark(view: Callable) -> Callable:
        view.permission = permission  # type: ignore[attr-defined]
        return view
    return mark


def load_session() -> sessions.Session | None:
    """The request's live session (read once per request), or None."""
    if "session" not in g:
        g.session = sessions.session_of(request.cookies.get(settings.SESSION_COOKIE), clock())
        g.user = g.session.user if g.session else None
    return g.session


def can(permission: str) -> bool:
    """Whether the signed-in user holds ``permission`` (for templates and views)."""
    session = load_session()
    return session is not None and roles.allowed(session.user.role, permission)


def _guard():
    view = current_app.view_functions.get(request.endpoint or "")
    permission = getattr(view, "permission", None)
    session = load_session()
    if permission == PUBLIC:
        return None
    if session is None:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("ui_signin.start", next=request.full_path.rstrip("?")))
        raise CentralError(401, "signed_out", "your session has ended: sign in again")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(session.csrf_token)
    if permission is None or not roles.allowed(session.user.role, permission):
        raise CentralError(403, "forbidden", f"the {session.user.role} role may not do this")
    return None


def check_csrf(expected: str) -> None:
    """``403 csrf_failed`` unless the form's ``csrf_token`` equals ``expected``."""
    sent = request.form.get("csrf_token", "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CentralError(403, "csrf_failed", "the form was missing its security token or it had expired: "
                           "reload the page and try again")


NOTICE_COOKIE = "fidelis_notice"


def notify(message: str) -> None:
    """Show ``message`` on the next page (after a redirect): a one-shot cookie, no server state."""
    g.notice = message


def pending_notice() -> str | None:
    """The message a previous response left for this page, if any."""
    raw = request.cookies.get(NOTICE_COOKIE)
    return unquote(raw)[:500] if raw else None


def keep_notice(response: Response) -> Response:
    """After a request: hand a new notice on, or drop the one this page has shown."""
    if g.get("notice"):
        response.set_cookie(NOTICE_COOKIE, quote(g.notice[:500]), max_age=60, httponly=True, samesite="Lax",
                            secure=request.is_secure)
    elif request.cookies.get(NOTICE_COOKIE) and response.mimetype == "text/html":
        response.delete_cookie(NOTICE_COOKIE)
    return response


def actor() -> str:
    """The signed-in user as the audit log names them: ``user:<e-mail>``."""
    session = load_session()
    if session is None:
        abort(401)
    return f"user:{session.user.email}"


# --- personal data ------------------------------------------------------------------------------

PERSONAL_FIELDS = frozenset({"email", "phone", "birth_date"})
"""Fields a role without ``personal_data.view`` (finance) never sees, wherever they are nested."""
HIDDEN = "(hidden)"


def hide_personal_data(value: Any) -> Any:
    """``value`` with every personal field replaced by ``(hidden)``, also inside embedded JSON text.

    Exceptions carry the entries they are about as JSON text (a registration holds an e-mail
    and a phone), so strings that hold a JSON object are read, cleaned and written back.
    """
    if isinstance(value, dict):
        return {key: HIDDEN if key in PERSONAL_FIELDS and item is not None else hide_personal_data(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [hide_personal_data(item) for item in value]
    if isinstance(value, str) and value.startswith("{") and any(f'"{name}"' in value for name in PERSONAL_FIELDS):
        try:
            return json.dumps(hide_personal_data(json.loads(value)), separators=(",", ":"))
        except ValueError:
            return HIDDEN
    return value


def shown(value: Any) -> Any:
    """``value`` as the signed-in user may see it: personal data hidden unless their role may."""
    return value if can("personal_data.view") else hide_personal_data(value)


# --- pages of rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, its number (from 1), the page size and the total."""

    items: list[Any]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_row(self) -> int:
        return 0 if not self.total else (self.number - 1) * self.size + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.number * self.size)

    def link(self, number: int) -> str:
        """This request's URL for page ``number`` (the other query parameters kept)."""
        args = {key: value for key, value in request.args.items() if key != "page" and value != ""}
        args["page"] = str(number)
        return f"{request.path}?{urlencode(args)}"


def page_number() -> int:
    """``?page=N`` (1 when absent; 400 ``bad_query`` for anything but a positive integer)."""
    return int_arg("page", 1, 1, 10**9)


def paginate(fetch: Callable[[int, int], list[Any]], total: int, size: int = settings.PAGE_SIZE) -> Page:
    """The requested page: ``fetch(limit, offset)`` gives its rows, ``total`` counts them all."""
    number = min(page_number(), max(1, -(-total // size)))
    return Page(fetch(size, (number - 1) * size), number, size, total)


# --- CSV --------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts like a formula; customers type their own names.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """Stream ``rows`` as a CSV download named ``filename`` (UTF-8, a header line first)."""

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        yield "\ufeff" + buffer.getvalue()  # the BOM makes spreadsheets read UTF-8
        for row in rows:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([_cell(value) for value in row])
            yield buffer.getvalue()

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
