"""Driving head office's web UI in tests: signed-in test clients, a real server, real Chromium.

``Person`` is a Flask test client signed in through the real sign-in form; its ``post``
adds the page's CSRF token the way a browser submitting the form would. ``Browser`` drives
Debian's Chromium through Playwright against a real ``fidelis-central serve`` and records
every request a page makes, so a test can show that nothing left the machine.
"""

from __future__ import annotations

import re
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from central import settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREEN = {"width": 1366, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a csrf_token"
    return found.group(1)


def sign_in(client, email: str, password: str = PASSWORD, *, address: str = "127.0.0.1"):
    """Fill in and send the sign-in form at ``/``; returns the response to the POST."""
    form = client.get("/", environ_base={"REMOTE_ADDR": address})
    token = csrf_of(form.get_data(as_text=True))
    return client.post("/", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


class Person:
    """A head-office user with a browser-like session (cookies) on central's test client."""

    def __init__(self, harness, role: str, email: str | None = None, password: str = PASSWORD) -> None:
        from central.auth import create_user

        self.harness = harness
        self.role = role
        self.email = email or f"{role}@example.com"
        self.password = password
        create_user(self.email, role, password, harness.clock())
        self.client = harness.app.test_client()
        answer = sign_in(self.client, self.email, password)
        assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]

    def get(self, path: str, **kw):
        """GET a page."""
        return self.client.get(path, **kw)

    def csrf(self) -> str:
        """The session's CSRF token, as any page's forms carry it."""
        # The token of the page's own form (the base layout's sign-out form comes first).
        html = self.client.get("/account/password").get_data(as_text=True)
        return csrf_of(html.split('<main', 1)[1])

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kw):
        """Submit a form; with ``csrf=False`` the token is left out, as a forged request would."""
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf())
        return self.client.post(path, data=form, **kw)

    def text(self, path: str) -> str:
        """A page's HTML; the page must answer 200."""
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:500])
        return response.get_data(as_text=True)


def session_cookie(response) -> str | None:
    """The ``Set-Cookie`` header that carries the session, if the response sets one."""
    return next((value for value in response.headers.getlist("Set-Cookie")
                 if value.startswith(settings.SESSION_COOKIE + "=")), None)


class Browser:
    """A Chromium page on a real central; remembers every URL the page asked for."""

    def __init__(self, chromium, base_url: str) -> None:
        self.base_url = base_url
        self.context = chromium.new_context(viewport=SCREEN, base_url=base_url, accept_downloads=True)
        self.requested: list[str] = []
        self.context.on("request", lambda request: self.requested.append(request.url))
        # Whatever a page asks of another machine is stopped in the browser and never sent;
        # the request is still recorded, so the test that caused it fails.
        self.context.route("**/*", self._only_loopback)
        self.page = self.context.new_page()

    @staticmethod
    def _only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def off_machine(self) -> list[str]:
        """Every URL the pages asked for that was not on this machine."""
        found = []
        for url in self.requested:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in LOOPBACK:
                found.append(url)
        return found

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        """Use the sign-in form as a person would: type, then press Enter."""
        page = self.page
        page.goto("/")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_label("Password").press("Enter")
        page.get_by_role("button", name="Sign out").wait_for(timeout=15_000)

    def screenshot(self, name: str) -> Path:
        """Save the page at 1366×768 as ``NAME.png``: into ``docs/screenshots/`` under
        ``make screenshots`` (``FIDELIS_SCREENSHOTS=1``), else into a scratch folder, so an
        ordinary test run never rewrites tracked files."""
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # the two backends' copies may run at once
        folder = SCREENSHOTS if os.environ.get("FIDELIS_SCREENSHOTS") == "1" else \
            Path(tempfile.gettempdir()) / "fidelis-screenshots" / worker
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        self.page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000, f"{path} looks empty"
        return path

    def close(self) -> None:
        self.context.close()
