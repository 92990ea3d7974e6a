"""Signing in and out, the start page and one's own password (``/``, ``/signout``, ``/account``)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request, url_for

from .. import roles, sessions, settings
from ..errors import CentralError
from ..web import clock
from .web import PUBLIC, area, check_csrf, load_session, requires

signin = area("ui_signin")

AREAS = (
    # (permission, endpoint, label): the start page's list of where to go, in nav order.
    ("dashboard.view", "ui_dashboard.dashboard", "Dashboard"),
    ("customers.view", "ui_customers.search", "Customers"),
    ("rules.view", "ui_rules.index", "Rules"),
    ("shops.view", "ui_shops.index", "Shops and devices"),
    ("exceptions.view", "ui_exceptions.index", "Exceptions"),
    ("finance.view", "ui_finance.liability", "Liability"),
    ("audit.view", "ui_audit.index", "Audit log"),
)
"""Navigation entries; an entry whose endpoint is not registered (yet) is left out."""


def _safe_next(target: str | None) -> str:
    # Only a path on this server: a crafted link must not send a signed-in user elsewhere.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("ui_signin.start")
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _cookie_options() -> dict:
    return {"httponly": True, "samesite": "Lax", "secure": request.is_secure, "path": "/"}


def _signin_form(status: int = 200, message: str | None = None, email: str = ""):
    token = secrets.token_urlsafe(32)
    response = make_response(render_template("signin.html", signin_token=token, message=message, email=email,
                                              next=request.values.get("next", "")), status)
    response.set_cookie(settings.SIGNIN_COOKIE, token, max_age=3600, **_cookie_options())
    return response


@signin.get("/")
@requires(PUBLIC)
def start():
    """The sign-in form, or the start page for a signed-in user."""
    session = load_session()
    if session is None:
        return _signin_form()
    return render_template("home.html", areas=AREAS, role_permissions=roles.permissions_of(session.user.role))


@signin.post("/")
@requires(PUBLIC)
def signin_post():
    """Check the form's CSRF token (double-submit cookie), then the password; open a session."""
    check_csrf(request.cookies.get(settings.SIGNIN_COOKIE, ""))
    email = request.form.get("email", "")
    try:
        user, token = sessions.sign_in(email, request.form.get("password", ""), request.remote_addr or "", clock())
    except CentralError as error:
        response = _signin_form(error.status, error.message, email=email[:254])
        if error.status == 429:
            response.headers["Retry-After"] = str(error.details.get("retry_after", 60))
        return response
    sessions.record_sign_in(user, clock())
    response = redirect(_safe_next(request.form.get("next")), 303)
    response.set_cookie(settings.SESSION_COOKIE, token, **_cookie_options())
    response.delete_cookie(settings.SIGNIN_COOKIE, path="/")
    return response


@signin.post("/signout")
@requires("account")
def signout():
    """End the session (its cookie stops working everywhere) and go back to the sign-in form."""
    sessions.close_session(load_session())
    response = redirect(url_for("ui_signin.start"), 303)
    response.delete_cookie(settings.SESSION_COOKIE, path="/")
    return response


@signin.get("/account/password")
@requires("account")
def password():
    """The form to change one's own password."""
    return render_template("password.html", problems={}, done=request.args.get("done") == "1")


@signin.post("/account/password")
@requires("account")
def password_post():
    """Change one's password; other sessions of the same user end."""
    try:
        sessions.change_password(load_session(), request.form.get("current", ""), request.form.get("new", ""),
                                 request.form.get("repeated", ""), clock())
    except CentralError as error:
        field = error.details.get("field") or ("new" if error.code == "weak_password" else "current")
        return render_template("password.html", problems={field: error.message}, done=False), error.status
    return redirect(url_for("ui_signin.password", done="1"), 303)
