"""The box as a technician installs it: units, install from the wheel, side-by-side upgrades.

Everything happens in a scratch root: ``systemd/install-edge.sh --root`` creates the user
there (``systemd-sysusers --root``), installs a real venv from a wheel built from this tree,
and enables the units with ``systemctl --root``. The container has no systemd as process 1,
so starting the service goes through ``tests/systemd_standin.py``, which runs the installed
unit's ``ExecStart=`` and waits for ``READY=1`` as systemd does for ``Type=notify``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from edge.migrations import MIGRATIONS

from conftest import ROOT, free_port

SYSTEMD = ROOT / "systemd"
TARGETS = {"fidelis-edge.service": 2.0, "fidelis-edge-backup.service": 2.0, "fidelis-central.service": 2.5,
           "fidelis-central-jobs.service": 2.5}
CENTRAL_UNITS = ("fidelis-central.service", "fidelis-central-jobs.service", "fidelis-central-jobs.timer")
STANDIN = f"{sys.executable} {ROOT / 'tests' / 'systemd_standin.py'}"
_IGNORED = shutil.ignore_patterns(".venv", ".git", "var", "__pycache__", "build", "dist", "*.egg-info",
                                  ".hypothesis", ".pytest_cache")


def build_wheel(workdir: Path, version: str | None = None, patch=None) -> Path:
    """A wheel of this tree (optionally another version, with ``patch(source_dir)`` applied)."""
    source = workdir / f"source-{version or 'here'}"
    shutil.copytree(ROOT, source, ignore=_IGNORED)
    if version:
        pyproject = source / "pyproject.toml"
        pyproject.write_text(re.sub(r'^version = ".*"$', f'version = "{version}"', pyproject.read_text(), flags=re.M))
    if patch:
        patch(source)
    out = workdir / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(source)], check=True, capture_output=True, timeout=300)
    return next(out.glob(f"fidelis-{version or '*'}-py3-none-any.whl"))


class Box:
    """A scratch root with the edge installed, and the stand-in to start and stop it."""

    def __init__(self, root: Path, install_output: str) -> None:
        self.root = root
        self.install_output = install_output
        self.port = free_port()
        self.env = {**os.environ, "SYSTEMCTL": STANDIN, "STANDIN_ROOT": str(root), "STANDIN_PORT": str(self.port),
                    "FIDELIS_DATA_DIR": str(root / "var/lib/fidelis/edge")}
        self.url = f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def data(self) -> Path:
        return self.root / "var/lib/fidelis/edge"

    def edge(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.root / "opt/fidelis/current/bin/fidelis-edge"), *args], env=self.env,
                              capture_output=True, text=True, timeout=120)

    def systemctl(self, action: str) -> int:
        return subprocess.run([*STANDIN.split(), action, "fidelis-edge.service"], env=self.env, timeout=200).returncode

    def upgrade(self, wheel: Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(SYSTEMD / "upgrade-edge.sh"), "--root", str(self.root), str(wheel)],
                              env=self.env, capture_output=True, text=True, timeout=600)

    def current(self) -> str:
        return os.readlink(self.root / "opt/fidelis/current")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("box")


@pytest.fixture(scope="module")
def box(workdir) -> Box:
    if os.geteuid() != 0 or shutil.which("systemd-sysusers") is None:
        pytest.skip("installing into a scratch root needs root and systemd-sysusers (make system-deps)")
    wheel = build_wheel(workdir)
    root = workdir / "root"
    result = subprocess.run([str(SYSTEMD / "install-edge.sh"), "--root", str(root), str(wheel)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    installed = Box(root, result.stdout)
    yield installed
    installed.systemctl("stop")


def _analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def analyze():
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (make system-deps installs the systemd package)")
    probe = _analyze("security", "--offline=yes", str(SYSTEMD / "fidelis-edge-backup.service"))
    if "Overall exposure level" not in probe.stdout:
        pytest.skip(f"systemd-analyze security --offline cannot run here: {probe.stderr.strip()[:200]}")


@pytest.fixture(scope="module")
def selling(box) -> str:
    """The three commands the install prints (standalone: init instead of provision); the till key."""
    key_file = box.root / "till.key"
    if not key_file.exists():
        assert box.edge("init", "--store", "S001").returncode == 0
        key_file.write_text(box.edge("till", "add", "--name", "till-1").stdout.strip())
        assert box.systemctl("start") == 0
    return key_file.read_text()


def test_the_wheel_installs_into_a_scratch_root_ready_for_three_commands(box, selling):
    root = box.root
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in (root / "etc/group").read_text().splitlines()}
    assert "fidelis" in passwd and "fidelis" in groups["dialout"] and "fidelis" in groups["lp"]
    state = root / "var/lib/fidelis/edge"
    assert oct(state.stat().st_mode & 0o777) == "0o700" and state.stat().st_uid == int(passwd["fidelis"][2])
    assert box.current() == "releases/0.1.0"
    assert (root / "opt/fidelis/current/bin/fidelis-edge").exists()
    assert (root / "etc/systemd/system/multi-user.target.wants/fidelis-edge.service").is_symlink()
    assert (root / "etc/systemd/system/timers.target.wants/fidelis-edge-backup.timer").is_symlink()
    assert oct((root / "etc/fidelis/edge.env").stat().st_mode & 0o777) == "0o600"
    assert (root / "etc/fidelis/edge.toml").exists()
    assert "fidelis-edge provision --central" in box.install_output
    assert "systemctl start fidelis-edge" in box.install_output
    sale = requests.post(f"{box.url}/sales", headers={"Authorization": f"Bearer {selling}"}, timeout=10, json={
        "lines": [{"sku": "A1", "qty": 1, "unit_price": 1000}], "payments": [{"method": "cash", "amount": 1000}]})
    assert sale.status_code == 201, sale.text


def test_units_verify_and_score_within_the_targets(box, analyze, tmp_path):
    # The scratch root has no systemd units of its own (sysinit.target …), so the units are
    # checked against the host's, with their programs pointed at the installed release.
    installed = box.root / "etc/systemd/system"
    for name in CENTRAL_UNITS:
        shutil.copy(SYSTEMD / name, installed / name)
    units = tmp_path / "units"
    units.mkdir()
    names = [*TARGETS, "fidelis-edge-backup.timer", "fidelis-central-jobs.timer"]
    for name in names:
        text = (installed / name).read_text().replace("/opt/fidelis/current/", f"{box.root}/opt/fidelis/current/")
        (units / name).write_text(text)
    verify = _analyze("verify", *(str(units / name) for name in names))
    assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), verify.stdout + verify.stderr
    for name, target in TARGETS.items():
        result = _analyze("security", "--offline=yes", str(units / name))
        found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
        assert found, result.stdout + result.stderr
        assert float(found.group(1)) <= target, f"{name} scores {found.group(1)} (target {target}):\n{result.stdout}"


def _count_sales(data: Path) -> int:
    with sqlite3.connect(f"file:{data / 'edge.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM sale").fetchone()[0]


def _break_after_migrating(source: Path) -> None:
    """A release that adds a migration, then fails before it is ready."""
    migrations = source / "edge" / "migrations.py"
    migrations.write_text(migrations.read_text() + '\n\nMIGRATIONS.append(lambda db: db.execute_sql('
                          '"CREATE TABLE release_probe (x INTEGER)"))\n')
    service = source / "edge" / "service.py"
    service.write_text(service.read_text().replace(
        '    from .serving import bind\n', '    raise RuntimeError("this release is broken")\n', 1))


def _add_migration(source: Path) -> None:
    migrations = source / "edge" / "migrations.py"
    migrations.write_text(migrations.read_text() + '\n\nMIGRATIONS.append(lambda db: db.execute_sql('
                          '"CREATE TABLE IF NOT EXISTS release_probe (x INTEGER)"))\n')


def test_a_release_that_does_not_become_ready_is_rolled_back_and_a_good_one_switched_to(box, selling, workdir):
    key = selling
    sold = _count_sales(box.data)
    broken = build_wheel(workdir, "0.1.1", _break_after_migrating)
    result = box.upgrade(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rolling back to releases/0.1.0" in result.stderr and "restore the pre-upgrade copy" in result.stdout
    assert box.current() == "releases/0.1.0"
    assert box.systemctl("is-active") == 0
    with sqlite3.connect(f"file:{box.data / 'edge.db'}?mode=ro", uri=True) as db:
        # the copy from before the upgrade: the schema of the release that was running
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert _count_sales(box.data) == sold
    auth = {"Authorization": f"Bearer {key}"}
    body = {"lines": [{"sku": "A1", "qty": 1, "unit_price": 500}], "payments": [{"method": "cash", "amount": 500}]}
    assert requests.post(f"{box.url}/sales", headers=auth, json=body, timeout=10).status_code == 201

    good = build_wheel(workdir, "0.1.2", _add_migration)
    result = box.upgrade(good)
    assert result.returncode == 0, result.stdout + result.stderr
    assert box.current() == "releases/0.1.2" and box.systemctl("is-active") == 0
    assert _count_sales(box.data) == sold + 1
    assert requests.post(f"{box.url}/sales", headers=auth, json=body, timeout=10).status_code == 201
    status = json.loads(box.edge("status", "--json").stdout)
    assert status["database"] == {"integrity": "ok", "read_only": False, "reason": None}
    copies = sorted(p.name for p in (box.data / "backups").glob("*-pre-upgrade.db"))
    assert 1 <= len(copies) <= 3
    assert (box.root / "opt/fidelis/releases/0.1.0").exists()  # kept for a manual rollback
