"""The repository stands on its own: a fresh clone tests, and its docs point at real files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

# Built from pieces so that this file does not name them itself.
OUTSIDE_NEEDLES = ("../" + "shared", "FIDELIS_" + "SHARED_DIR")
OLD_SPEC_NAMES = ("CONTRACT" + ".md", "DESIGN" + ".md")
_NOT_SOURCE = {".git", ".venv", "var", "__pycache__", ".hypothesis", ".pytest_cache", "build", "dist"}


def _project_files() -> list[Path]:
    """Tracked files plus new ones not ignored; a plain walk when this is not a git checkout."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout
        names = [name for name in listed.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = [str(path.relative_to(ROOT)) for path in ROOT.rglob("*")
                 if path.is_file() and not _NOT_SOURCE & set(path.relative_to(ROOT).parts)
                 and not any(part.endswith(".egg-info") for part in path.parts)]
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def _texts() -> list[tuple[str, str]]:
    found = []
    for path in _project_files():
        try:
            found.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue  # binary files name no paths
    return found


def test_nothing_reads_a_folder_outside_the_repository():
    offenders = [(name, needle) for name, text in _texts() for needle in OUTSIDE_NEEDLES if needle in text]
    assert offenders == [], "the project must not depend on files beside the repository"


def test_references_point_at_the_docs_in_the_repository():
    offenders = [(name, needle) for name, text in _texts() for needle in OLD_SPEC_NAMES if needle in text]
    assert offenders == [], "cite docs/contract.md and docs/design.md, which ship with the project"


# --- links in the docs ----------------------------------------------------------------------

_MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
_TOP_LEVEL = sorted(p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")
                    and p.name not in _NOT_SOURCE)
# A repository path in backticks, such as `docs/rules.md` or `bench/edge_sale.py`.
_CODE_PATH = re.compile(r"`((?:%s)/[\w./-]*[\w/])`" % "|".join(map(re.escape, _TOP_LEVEL)))


def _markdown_files() -> list[Path]:
    return sorted(path for path in _project_files() if path.suffix == ".md")


def _anchors(page: Path) -> set[str]:
    """The anchors a Markdown renderer gives the page's headings (GitHub's rule)."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def _broken_links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    broken = []
    for target in _MARKDOWN_LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # a web address
        file, _, anchor = target.partition("#")
        page = path.parent / file if file else path
        if not page.exists() or (anchor and page.suffix == ".md" and anchor not in _anchors(page)):
            broken.append(target)
    for target in _CODE_PATH.findall(text):
        if not (ROOT / target).exists():
            broken.append(target)
    return broken


def test_docs_link_only_to_files_that_exist():
    broken = {str(p.relative_to(ROOT)): links for p in _markdown_files() if (links := _broken_links(p))}
    assert broken == {}


def test_the_readme_links_the_contract_and_the_design():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/contract.md", "docs/design.md"):
        assert f"]({doc})" in readme, doc
        assert (ROOT / doc).is_file(), doc


def test_the_link_check_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Top\nSee [the rules](rules.md#per-item-points), [a gap](rules.md#nowhere), [top](#top),\n"
                    "[the web](https://example.com) and `docs/nowhere.md`.\n")
    (tmp_path / "rules.md").write_text("## Per-item points\n")
    assert _broken_links(page) == ["rules.md#nowhere", "docs/nowhere.md"]


# --- the PostgreSQL line of the test report -------------------------------------------------


def _pytest(*args: str, pg_url: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FIDELIS_TEST_PG_URL" and not k.startswith("PYTEST_")}
    if pg_url is not None:
        env["FIDELIS_TEST_PG_URL"] = pg_url
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


CENTRAL_TEST = "tests/central/test_central_rules.py::test_a_missing_effective_from_means_the_moment_of_publishing"


def test_a_run_without_postgresql_says_so_in_one_line():
    result = _pytest(CENTRAL_TEST, pg_url=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout  # on SQLite only
    lines = [line for line in result.stdout.splitlines() if line.startswith("PostgreSQL:")]
    assert lines == ["PostgreSQL: not tested (FIDELIS_TEST_PG_URL is not set; central's tests ran on SQLite only)"]


def test_an_unreachable_postgresql_fails_instead_of_skipping():
    # Port 9 (discard) has no PostgreSQL: the PostgreSQL copy of the test must fail, loudly.
    result = _pytest(CENTRAL_TEST, pg_url="postgresql://postgres@127.0.0.1:9/test")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout  # SQLite passed; PostgreSQL did not skip
    assert "PostgreSQL is unreachable" in result.stdout
    assert "PostgreSQL: central's tests also ran on 127.0.0.1:9/test (FIDELIS_TEST_PG_URL)" in result.stdout
