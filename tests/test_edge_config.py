"""The edge's settings: edge.toml, then FIDELIS_* variables, then flags; `config show` says which."""

from __future__ import annotations

import json
import os
import subprocess
import time

import requests

from conftest import BIN, free_port


def _edge(*args, env=None, config=None):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FIDELIS_")}
    environ.update(env or {})
    if config is not None:
        environ["FIDELIS_CONFIG"] = str(config)
    return subprocess.run([str(BIN / "fidelis-edge"), *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=environ)


def _show(*args, **kw) -> dict:
    result = _edge("config", "show", "--json", *args, **kw)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_flags_beat_variables_which_beat_the_file_which_beats_the_defaults(tmp_path):
    config = tmp_path / "edge.toml"
    config.write_text('data_dir = "/srv/from-file"\nport = 9001\nthreads = 4\nsync_interval = 2\n')
    shown = _show("--data-dir", tmp_path / "from-flag", config=config,
                  env={"FIDELIS_PORT": "9002", "FIDELIS_DATA_DIR": "/srv/from-env"})
    settings = shown["settings"]
    assert shown["config_file"] == str(config)
    assert settings["data_dir"] == {"value": str(tmp_path / "from-flag"), "source": "--data-dir"}
    assert settings["port"] == {"value": 9002, "source": "FIDELIS_PORT"}
    assert settings["threads"] == {"value": 4, "source": str(config)}
    assert settings["sync_interval"] == {"value": 2.0, "source": str(config)}
    assert settings["host"] == {"value": "127.0.0.1", "source": "default"}


def test_secrets_are_masked(tmp_path):
    config = tmp_path / "edge.toml"
    config.write_text('central_url = "https://edge:hunter2@central.example.com:8443"\n')
    result = _edge("config", "show", config=config, env={"FIDELIS_ENROLMENT_TOKEN": "fce_very-secret"})
    assert result.returncode == 0, result.stderr
    assert "fce_very-secret" not in result.stdout and "hunter2" not in result.stdout
    assert "********" in result.stdout and "FIDELIS_ENROLMENT_TOKEN" in result.stdout
    assert "https://edge:********@central.example.com:8443" in result.stdout


def test_the_default_file_may_be_missing_but_a_named_one_may_not(tmp_path):
    assert _show()["config_file"] in (None, "/etc/fidelis/edge.toml")
    missing = _edge("config", "show", "--config", tmp_path / "nope.toml")
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"fidelis-edge: no config file at {tmp_path / 'nope.toml'}"


def test_bad_settings_stop_with_one_line_naming_them(tmp_path):
    config = tmp_path / "edge.toml"
    cases = [('prot = 8701\n', "unknown setting 'prot'"), ('port = "high"\n', "port: 'high' is not an integer"),
             ('tls = "maybe"\n', "tls: must be one of auto, on, off"), ('port = 70000\n', "port: must be from 1"),
             ('port = \n', "is not valid TOML")]
    for text, message in cases:
        config.write_text(text)
        result = _edge("status", config=config)
        assert result.returncode == 1, text
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
    bad_env = _edge("config", "show", env={"FIDELIS_SYNC_INTERVAL": "soon"})
    assert bad_env.returncode == 1 and "FIDELIS_SYNC_INTERVAL" in bad_env.stderr


def test_serve_listens_where_the_file_says(edge_dir, tmp_path):
    port = free_port()
    config = tmp_path / "edge.toml"
    config.write_text(f'data_dir = "{edge_dir}"\nport = {port}\nhost = "127.0.0.1"\n')
    with open(tmp_path / "serve.log", "ab") as log:
        server = subprocess.Popen([str(BIN / "fidelis-edge"), "serve", "--no-sync", "--config", str(config)],
                                  stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            raise AssertionError((tmp_path / "serve.log").read_text())
    finally:
        server.terminate()
        server.wait(timeout=10)
