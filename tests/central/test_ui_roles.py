"""Every page and action of the web UI checks the role on the server, whatever the page showed."""

from __future__ import annotations

import re

import pytest

from central import roles, settings


def _ui_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("ui_"):
            yield rule


def _concrete(rule) -> str:
    # Any value will do for path parameters: the guard runs before the view looks at them.
    return re.sub(r"<(?:\w+:)?(\w+)>", "1", rule.rule)


def test_every_ui_view_names_a_known_permission(central):
    for rule in _ui_rules(central.app):
        permission = getattr(central.app.view_functions[rule.endpoint], "permission", None)
        assert permission == "public" or permission in roles.PERMISSIONS, rule.endpoint


def test_every_page_but_sign_in_sends_a_stranger_to_the_sign_in_form(central):
    for rule in _ui_rules(central.app):
        path = _concrete(rule)
        if "GET" in rule.methods and path != "/":
            answer = central.client.get(path)
            assert answer.status_code == 302 and answer.headers["Location"].startswith("/?next="), path
        if "POST" in rule.methods and path != "/":
            assert central.client.post(path, data={}).status_code == 401, path


def test_the_auditor_reads_everything_and_changes_nothing(central, person, edge):
    auditor = person("auditor")
    before = central.counts()
    refused = 0
    for rule in _ui_rules(central.app):
        path = _concrete(rule)
        if "POST" in rule.methods and path not in ("/", "/signout", "/account/password"):
            answer = auditor.post(path, {"code": "S777", "name": "x", "note": "x", "hours": "1"})
            permission = central.app.view_functions[rule.endpoint].permission
            if roles.allowed("auditor", permission):
                assert permission.endswith(".view"), path  # a form that only shows (the rules preview)
                continue
            assert answer.status_code == 403, path
            assert "forbidden" in answer.get_data(as_text=True)
            refused += 1
    assert refused >= 5  # shops, enrolments, revocation, resolution, publishing
    assert {k: v for k, v in central.counts().items() if k != "websession"} == \
        {k: v for k, v in before.items() if k != "websession"}
    for path in ("/shops/", "/exceptions/", "/rules/", "/audit/"):
        assert auditor.get(path).status_code == 200, path


@pytest.mark.parametrize("role", settings.USER_ROLES)
def test_the_navigation_offers_only_what_the_role_may_open(central, person, role):
    home = person(role).text("/")
    for permission, path in (("audit.view", "/audit/"), ("shops.view", "/shops/"),
                             ("exceptions.view", "/exceptions/")):
        assert (f'href="{path}"' in home) == roles.allowed(role, permission), (role, path)
        assert person(role).get(path).status_code == (200 if roles.allowed(role, permission) else 403)


def test_a_forbidden_page_says_so_in_html_with_the_error_code(central, person):
    answer = person("marketing").get("/audit/")
    assert answer.status_code == 403 and answer.mimetype == "text/html"
    assert "forbidden" in answer.get_data(as_text=True)
