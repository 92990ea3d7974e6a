"""Signing in to head office's web UI: hashes, sessions, CSRF, throttling, sign-out, passwords."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from central import settings
from central.auth import create_user
from central.models import Store, User
from webui import PASSWORD, Person, csrf_of, session_cookie, sign_in


def test_the_sign_in_page_is_a_labelled_form_with_a_csrf_token(central):
    page = central.client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert '<html lang="en">' in html
    for name, label in (("email", "E-mail"), ("password", "Password")):
        assert re.search(rf'<label for="{name}">{label}</label>\s*<input id="{name}" name="{name}"', html), name
    assert csrf_of(html)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_a_user_signs_in_and_the_session_cookie_is_http_only_and_same_site(central):
    create_user("ana@example.com", "support", PASSWORD, central.clock())
    client = central.app.test_client()
    answer = sign_in(client, "Ana@Example.com", PASSWORD)
    assert answer.status_code == 303
    cookie = session_cookie(answer)
    assert cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    home = client.get("/").get_data(as_text=True)
    assert "ana@example.com" in home and "Sign out" in home


def test_over_tls_the_session_cookie_is_secure(central):
    create_user("ana@example.com", "support", PASSWORD, central.clock())
    client = central.app.test_client()
    form = client.get("/", base_url="https://central.example")
    answer = client.post("/", base_url="https://central.example", data={
        "email": "ana@example.com", "password": PASSWORD, "csrf_token": csrf_of(form.get_data(as_text=True))})
    assert answer.status_code == 303 and "Secure" in session_cookie(answer)


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(central):
    create_user("ana@example.com", "support", PASSWORD, central.clock())
    client = central.app.test_client()
    for email in ("ana@example.com", "nobody@example.com"):
        answer = sign_in(client, email, "not the password")
        assert answer.status_code == 401 and "wrong e-mail or password" in answer.get_data(as_text=True)
        assert session_cookie(answer) is None
    assert client.get("/account/password").status_code == 302  # still signed out


def test_signing_in_without_the_csrf_token_is_refused(central):
    create_user("ana@example.com", "support", PASSWORD, central.clock())
    client = central.app.test_client()
    client.get("/")
    answer = client.post("/", data={"email": "ana@example.com", "password": PASSWORD})
    assert answer.status_code == 403 and "csrf_failed" in answer.get_data(as_text=True)
    assert session_cookie(answer) is None


def test_a_form_posted_without_its_csrf_token_changes_nothing(central, person):
    admin = person("admin")
    forged = admin.post("/shops/", {"code": "S009", "name": "Forged"}, csrf=False)
    assert forged.status_code == 403 and "csrf_failed" in forged.get_data(as_text=True)
    wrong = admin.post("/shops/", {"code": "S009", "name": "Forged", "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    assert Store.select().count() == 0
    assert admin.post("/shops/", {"code": "S009", "name": "Real"}).status_code == 303
    assert [s.code for s in Store.select()] == ["S009"]


def _legacy_hash(password: str) -> str:
    """A hash as releases before the web UI made them (hand-rolled scrypt)."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_an_old_hash_still_signs_in_and_is_replaced_by_a_werkzeug_hash(central):
    create_user("old@example.com", "support", "placeholder password", central.clock())
    User.update(password_hash=_legacy_hash(PASSWORD)).where(User.email == "old@example.com").execute()
    client = central.app.test_client()
    assert sign_in(client, "old@example.com", "wrong password!").status_code == 401
    assert User.get(User.email == "old@example.com").password_hash.startswith("scrypt$")
    assert sign_in(client, "old@example.com", PASSWORD).status_code == 303
    stored = User.get(User.email == "old@example.com").password_hash
    assert stored.startswith("scrypt:") and not stored.startswith("scrypt$")
    assert sign_in(central.app.test_client(), "old@example.com", PASSWORD).status_code == 303


def test_ten_wrong_passwords_in_a_row_block_the_account_until_the_window_passes(central):
    create_user("ana@example.com", "support", PASSWORD, central.clock())
    client = central.app.test_client()
    answers = [sign_in(client, "ana@example.com", f"guess number {n}").status_code for n in range(10)]
    assert answers[:settings.SIGNIN_MAX_PER_ACCOUNT] == [401] * settings.SIGNIN_MAX_PER_ACCOUNT
    assert set(answers[settings.SIGNIN_MAX_PER_ACCOUNT:]) == {429}
    blocked = sign_in(client, "ana@example.com", PASSWORD)  # even the right password
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "too many failed sign-ins" in blocked.get_data(as_text=True) and session_cookie(blocked) is None
    central.clock.advance(seconds=settings.SIGNIN_WINDOW.total_seconds() + 1)
    assert sign_in(client, "ana@example.com", PASSWORD).status_code == 303


def test_one_address_trying_many_accounts_is_blocked_too(central):
    create_user("ana@example.com", "support", PASSWORD, central.clock())
    client = central.app.test_client()
    for n in range(settings.SIGNIN_MAX_PER_ADDRESS):
        assert sign_in(client, f"user{n}@example.com", "guess", address="10.9.9.9").status_code == 401
    assert sign_in(client, "ana@example.com", PASSWORD, address="10.9.9.9").status_code == 429
    assert sign_in(client, "ana@example.com", PASSWORD, address="10.9.9.8").status_code == 303


def test_signing_out_ends_the_session_even_for_a_copied_cookie(central, person):
    ana = person("support")
    cookie = ana.client.get_cookie(settings.SESSION_COOKIE).value
    thief = central.app.test_client()
    thief.set_cookie(settings.SESSION_COOKIE, cookie)
    assert thief.get("/exceptions/").status_code == 200
    assert ana.post("/signout").status_code == 303
    assert ana.get("/exceptions/").status_code == 302
    assert thief.get("/exceptions/").headers["Location"].startswith("/?next=")


def test_an_idle_session_ends(central, person):
    ana = person("support")
    central.clock.advance(seconds=settings.SESSION_IDLE.total_seconds() + 1)
    assert ana.get("/exceptions/").status_code == 302


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(central, person):
    ana = person("support")
    other = central.app.test_client()
    assert sign_in(other, ana.email, PASSWORD).status_code == 303
    wrong = ana.post("/account/password", {"current": "nope", "new": "a brand new pass", "repeated": "a brand new pass"})
    assert wrong.status_code == 422
    assert re.search(r'id="current-problem">the current password is wrong', wrong.get_data(as_text=True))
    short = ana.post("/account/password", {"current": PASSWORD, "new": "short", "repeated": "short"})
    assert short.status_code == 422 and 'id="new-problem"' in short.get_data(as_text=True)
    done = ana.post("/account/password", {"current": PASSWORD, "new": "a brand new pass",
                                          "repeated": "a brand new pass"})
    assert done.status_code == 303
    assert ana.get("/exceptions/").status_code == 200  # this session goes on
    assert other.get("/exceptions/").status_code == 302  # the other one ended
    assert sign_in(central.app.test_client(), ana.email, PASSWORD).status_code == 401
    assert sign_in(central.app.test_client(), ana.email, "a brand new pass").status_code == 303


def test_next_only_leads_to_a_page_of_this_server(central):
    create_user("ana@example.com", "support", PASSWORD, central.clock())
    client = central.app.test_client()
    redirected = client.get("/exceptions/?status=all")
    assert redirected.status_code == 302 and redirected.headers["Location"] == "/?next=/exceptions/?status%3Dall"
    for target, lands in (("/exceptions/?status=all", "/exceptions/?status=all"),
                          ("//evil.example/", "/"), ("https://evil.example/", "/")):
        client = central.app.test_client()
        token = csrf_of(client.get("/").get_data(as_text=True))
        answer = client.post("/", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token,
                                        "next": target})
        assert answer.headers["Location"] == lands


@pytest.mark.parametrize("role", settings.USER_ROLES)
def test_the_cli_user_signs_in_with_the_password_from_stdin(database_url, key_file, tmp_path, run_central, role):
    env = {"FIDELIS_DATABASE_URL": database_url, "FIDELIS_CENTRAL_KEY": str(key_file)}
    assert run_central("init", env=env).returncode == 0
    made = run_central("user", "create", "--email", f"{role}@example.com", "--role", role, input=PASSWORD + "\n",
                       env=env)
    assert made.returncode == 0, made.stderr
    from central.app import create_app

    app = create_app({"DATABASE_URL": database_url, "KEY_FILE": str(key_file), "TESTING": True})
    assert sign_in(app.test_client(), f"{role}@example.com", PASSWORD).status_code == 303


def test_the_cli_refuses_the_roles_of_earlier_releases(run_central):
    for role in ("manager", "viewer"):
        result = run_central("user", "create", "--email", "a@b.co", "--role", role, input=PASSWORD + "\n")
        assert result.returncode == 2 and "invalid choice" in result.stderr
