"""Head office's web UI: server-rendered pages (Jinja2), one blueprint per area.

``init_app(app)`` registers the areas, the template helpers and the headers every page
carries. Pages load nothing from another machine: the Content-Security-Policy allows this
server only, so a shop-office PC without internet shows every page whole.
"""

from __future__ import annotations

from flask import Flask, current_app, request, url_for

from .. import roles, settings
from . import web
from .web import error_page

CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                           "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
"""Only this server: no CDN, font or analytics request can leave the machine."""

_API_PREFIXES = ("/api/", "/sync/")


def is_page_request() -> bool:
    """Whether the request is for the web UI (not the JSON or sync API)."""
    return not request.path.startswith(_API_PREFIXES)


def blueprints():
    """Every area of the UI, in the order the navigation lists them."""
    from .audit import audit
    from .codes import pages as codes
    from .dashboard import pages as dashboard
    from .customers import pages as customers
    from .exceptions import exceptions
    from .finance import finance
    from .rules import rules
    from .shops import shops
    from .signin import signin

    return [signin, dashboard, customers, codes, rules, shops, exceptions, finance, audit]


def _nav_entries() -> list[dict[str, object]]:
    """The areas the signed-in user may open, with the current one marked."""
    from .signin import AREAS

    entries = []
    for permission, endpoint, label in AREAS:
        if endpoint in current_app.view_functions and web.can(permission):
            url = url_for(endpoint)
            entries.append({"url": url, "label": label, "current": request.path.startswith(url)})
    return entries


def init_app(app: Flask) -> None:
    """Register the UI on central's app."""
    for blueprint in blueprints():
        app.register_blueprint(blueprint)

    @app.context_processor
    def _helpers():
        session = web.load_session() if is_page_request() else None
        return {
            "current_user": session.user if session else None,
            "csrf_token": session.csrf_token if session else "",
            "can": web.can,
            "roles": settings.USER_ROLES,
            "nav_entries": _nav_entries,
            "notice": web.pending_notice() if is_page_request() else None,
        }

    @app.after_request
    def _page_headers(response):
        if is_page_request():
            web.keep_notice(response)
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            if response.mimetype == "text/html":
                # Pages show personal data: never keep them in a shared PC's cache.
                response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.jinja_env.globals["permissions_of"] = roles.permissions_of
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
