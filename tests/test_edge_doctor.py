"""``fidelis-edge doctor``: one line per check, the fix on each failure, exit 1 when any fails."""

from __future__ import annotations

import json
import os

from conftest import DEMO_RULES, run_cli
from edge import tls
from nodes import CentralNode, EdgeNode

CHECKS = ["database", "keys", "tls", "clock", "central", "rejected", "disk", "backlog", "backups",
          "printer", "scanner", "display", "counter"]


def _doctor(data_dir) -> tuple[int, dict]:
    result = run_cli("doctor", "--json", data_dir=data_dir, check=False)
    return result.returncode, json.loads(result.stdout)


def test_a_healthy_standalone_box_passes_every_check_in_one_line_each(edge_dir):
    result = run_cli("doctor", data_dir=edge_dir)
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines] == CHECKS
    assert all(line.startswith("ok ") for line in lines)
    assert "certificate not created yet" in next(line for line in lines if " tls " in line)
    assert "none yet" in next(line for line in lines if " backups " in line)
    code, report = _doctor(edge_dir)
    assert code == 0 and report["ok"] is True
    assert set(report["checks"][0]) == {"name", "ok", "detail", "fix"}


def test_each_fault_fails_its_own_line_with_the_fix_and_the_exit_code(edge_dir):
    tls.ensure_certificate(edge_dir)  # the pair `serve` makes
    key, _ = tls.paths(edge_dir)
    os.chmod(key, 0o644)
    run_cli("backup", data_dir=edge_dir)
    copy = next((edge_dir / "backups").glob("*.db"))
    copy.write_bytes(copy.read_bytes() + b"damage")

    code, report = _doctor(edge_dir)
    failed = {check["name"]: check for check in report["checks"] if not check["ok"]}
    assert code == 1 and set(failed) == {"tls", "backups"}
    assert failed["tls"]["fix"] == f"chmod 600 {key}"
    assert "does not match its recorded SHA-256" in failed["backups"]["detail"]
    assert "fidelis-edge backup" in failed["backups"]["fix"]
    prose = run_cli("doctor", data_dir=edge_dir, check=False)
    assert prose.returncode == 1 and "2 check(s) failed: tls, backups" in prose.stderr
    assert f"FAIL tls        TLS key mode 644 -> fix: chmod 600 {key}" in prose.stdout.splitlines()


def test_doctor_reports_clock_central_and_backlog_of_a_provisioned_box(tmp_path):
    central = CentralNode(tmp_path / "central")
    edge = None
    try:
        central.store("S001", "Main street")
        central.publish(json.loads(DEMO_RULES.read_text()))
        edge = EdgeNode(tmp_path / "edge", central.url, central.enrolment_token("S001"))
        edge.wait_synced()
        code, report = _doctor(edge.data_dir)
        checks = {check["name"]: check for check in report["checks"]}
        assert code == 0, report
        assert "against central" in checks["clock"]["detail"]
        assert "reachable, enrolment valid" in checks["central"]["detail"]
        assert "certificate and key present, key mode 600" in checks["tls"]["detail"]  # provision made them
        assert checks["backlog"]["detail"] == "nothing waiting: central has every entry"

        central.kill()
        code, report = _doctor(edge.data_dir)
        checks = {check["name"]: check for check in report["checks"]}
        assert code == 1 and not checks["central"]["ok"] and "unreachable" in checks["central"]["detail"]
        assert "network" in checks["central"]["fix"]
    finally:
        if edge is not None:
            edge.stop()
        central.stop()
