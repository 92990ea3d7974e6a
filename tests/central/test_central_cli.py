"""``fidelis-central`` as a technician runs it: real processes, real exit codes."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from central.cli import _parser, main
from shared.times import format_time
from sync.entry import generate_private_key, public_key_raw_b64
from sync.protocol import sign_request

ROOT = Path(__file__).resolve().parents[2]
RULES = {"earn": {"rate": "0.1", "per_item": {"BAG1": 5}}, "tiers": [{"name": "Basic", "threshold": 0}]}


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fidelis-central: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_brand_is_set_up_from_the_command_line(database_url, tmp_path, run_central):
    key = tmp_path / "keys" / "central_key.pem"
    env = {"FIDELIS_DATABASE_URL": database_url, "FIDELIS_CENTRAL_KEY": str(key)}
    first = run_central("init", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["key_created"] is True
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    if database_url.startswith("sqlite:"):  # password, session and token hashes: private, as the key is
        database = Path(database_url.removeprefix("sqlite:///"))
        assert {stat.S_IMODE(path.stat().st_mode) for path in database.parent.glob(database.name + "*")} == {0o600}
    pem = key.read_bytes()
    again = run_central("init", env=env)
    assert again.returncode == 0 and "kept" in again.stdout
    assert key.read_bytes() == pem

    user = run_central("user", "create", "--email", "Ana@Example.com", "--role", "admin",
                       input="long enough pw\n", env=env)
    assert user.returncode == 0, user.stderr
    assert "ana@example.com" in _one_error_line(run_central("user", "create", "--email", "ana@example.com",
                                                            "--role", "admin", input="long enough pw\n", env=env))
    token = run_central("token", "create", "--name", "reporting", env=env)
    assert token.returncode == 0 and token.stdout.count("\n") == 1 and token.stdout.startswith("fct_")

    assert run_central("store", "create", "--code", "S001", "--name", "Main street", env=env).returncode == 0
    assert "S001 already exists" in _one_error_line(
        run_central("store", "create", "--code", "S001", "--name", "Main street", env=env))
    enrol = run_central("enroll", "create", "--store", "S001", "--expires-in", "2", env=env)
    assert enrol.returncode == 0 and enrol.stdout.strip().startswith("fce_") and enrol.stdout.count("\n") == 1
    assert "no store with code S404" in _one_error_line(run_central("enroll", "create", "--store", "S404", env=env))

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    published = run_central("rules", "publish", str(rules), env=env)
    assert (published.returncode, published.stdout) == (0, "1\n"), published.stderr
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({**RULES, "earn": {"rate": "0.1", "per_item": {"BAG1": 9}},
                                   "effective_from": "2031-05-02T00:00:00Z"}))
    assert "1st of a month" in _one_error_line(run_central("rules", "publish", str(changed), env=env))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"earn": {"rate": 1}, "tiers": "none"}))
    message = _one_error_line(run_central("rules", "publish", str(broken), env=env))
    assert "earn.rate" in message and "tiers" in message

    listed = json.loads(run_central("store", "list", "--json", env=env).stdout)
    assert listed == {"stores": [{"code": "S001", "name": "Main street", "devices": []}]}
    assert json.loads(run_central("exceptions", "list", "--json", env=env).stdout) == {"exceptions": []}
    assert "no device" in _one_error_line(run_central("device", "revoke", "--id", "nope", env=env))
    versions = json.loads(run_central("--json", "rules", "list", env=env).stdout)["versions"]
    assert [v["version"] for v in versions] == [1]


def test_flags_override_the_environment(database_url, tmp_path, run_central):
    key = tmp_path / "k.pem"
    result = run_central("init", "--database", database_url, "--key-file", str(key),
                         env={"FIDELIS_DATABASE_URL": "sqlite:////nonexistent/dir/x.db"})
    assert result.returncode == 0, result.stderr
    assert key.exists()


def test_failures_are_one_clear_line(tmp_path, run_central):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert "run 'fidelis-central init'" in _one_error_line(run_central("--database", empty, "store", "list"))
    assert not (tmp_path / "empty.db").exists()  # a command from the wrong directory leaves nothing behind
    (tmp_path / "a-file").write_text("")
    unmakeable = f"sqlite:///{tmp_path / 'a-file' / 'central.db'}"  # its folder would be inside a file
    line = _one_error_line(run_central("--database", unmakeable, "init"))
    assert line.startswith(f"fidelis-central: {tmp_path / 'a-file'}: ") and "unexpected" not in line
    assert "unsupported database URL" in _one_error_line(run_central("--database", "mysql://x/y", "init"))
    down = "postgresql://postgres@127.0.0.1:1/nothing"
    assert "cannot open database" in _one_error_line(run_central("--database", down, "store", "list"))
    ready = f"sqlite:///{tmp_path / 'ready.db'}"
    assert run_central("--database", ready, "--key-file", str(tmp_path / "k.pem"), "init").returncode == 0
    (tmp_path / "r.json").write_text("{}")
    missing_key = run_central("--database", ready, "--key-file", str(tmp_path / "none.pem"), "rules", "publish",
                              str(tmp_path / "r.json"))
    assert "run 'fidelis-central init'" in _one_error_line(missing_key)
    assert "no password" in _one_error_line(
        run_central("--database", ready, "user", "create", "--email", "a@b.co", "--role", "admin", input=""))
    assert "no store with code S999" in _one_error_line(run_central(
        "--database", ready, "vouchers", "turnover", "--from", "2026-11-01", "--to", "2026-11-30", "--amount", "100",
        "--store", "S999"))
    assert "--after must be" in _one_error_line(run_central("--database", ready, "device", "log", "--id", "x",
                                                            "--after", "-1"))


def _commands(parser: argparse.ArgumentParser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    yield from _commands(sub, prefix + (name,))
                else:
                    yield prefix + (name,)


CENTRAL_COMMANDS = sorted(_commands(_parser()))


@pytest.mark.parametrize("command", CENTRAL_COMMANDS, ids=" ".join)
def test_every_command_has_an_example_and_is_documented(command):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    assert "Example: fidelis-central" in out.getvalue()
    assert f"fidelis-central {' '.join(command)}" in (ROOT / "docs" / "central.md").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_the_sync_and_json_apis_over_http(database_url, tmp_path, run_central):
    env = {"FIDELIS_DATABASE_URL": database_url, "FIDELIS_CENTRAL_KEY": str(tmp_path / "k.pem")}
    assert run_central("init", env=env).returncode == 0
    assert run_central("store", "create", "--code", "S001", "--name", "Main", env=env).returncode == 0
    token = run_central("enroll", "create", "--store", "S001", env=env).stdout.strip()
    api_token = run_central("token", "create", "--name", "t", env=env).stdout.strip()
    port = _free_port()
    # The console scripts sit next to the interpreter running the tests, whatever venv that is.
    bin_dir = Path(sys.executable).parent
    proc = subprocess.Popen([str(bin_dir / "fidelis-central"), "serve", "--port", str(port)],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{url}/api/v1/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "central did not start"
                time.sleep(0.05)
        key, device = generate_private_key(), str(uuid.uuid4())
        enrolled = requests.post(f"{url}/sync/v1/enroll", json={
            "token": token, "device_id": device, "public_key": public_key_raw_b64(key), "store": "S001"}, timeout=5)
        assert enrolled.status_code == 201, enrolled.text
        from datetime import datetime, timezone

        headers = sign_request(key, device, "GET", "/sync/v1/pull?since=0", b"", datetime.now(timezone.utc))
        pulled = requests.get(f"{url}/sync/v1/pull?since=0", headers=headers, timeout=5)
        assert pulled.status_code == 200 and pulled.json()["items"] == []
        stores = requests.get(f"{url}/api/v1/stores", headers={"Authorization": f"Bearer {api_token}"}, timeout=5)
        assert stores.json()[0]["devices"][0]["id"] == device
        assert format_time(datetime.now(timezone.utc))[:4] in stores.json()[0]["devices"][0]["last_sync_at"]
        # A second central on the same port says so in one line, and the first keeps serving.
        second = run_central("serve", "--port", str(port), env=env)
        assert f"cannot listen on 127.0.0.1:{port}" in _one_error_line(second)
        assert requests.get(f"{url}/api/v1/health", timeout=5).ok
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("argv", [[], ["user", "create", "--email", "a@b.co", "--role", "boss"], ["store", "create"],
                                  ["exceptions", "resolve", "--id", "1"]])  # closing one needs a note
def test_usage_errors_are_one_line(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("fidelis-central: ")
