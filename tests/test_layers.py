"""The direction of imports (docs/design.md §1): no cycles, a pure core, edge and central apart."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edge", "central", "sync", "shared", "devices")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path, *, lazy: bool) -> set[str]:
    """The project modules ``name`` imports (``lazy``: also imports inside functions)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree) if lazy else iter(tree.body)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in MODULES:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                found.add(candidate)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def _graph(*, lazy: bool) -> dict[str, set[str]]:
    # A package imports its own submodules to register them; that edge is structure, not a cycle.
    return {name: {t for t in _imports(name, path, lazy=lazy) if not t.startswith(name + ".")}
            for name, path in MODULES.items()}


def test_no_module_imports_itself_back_at_import_time():
    assert _cycles(_graph(lazy=False)) == []


def test_no_module_imports_itself_back_even_inside_functions():
    assert _cycles(_graph(lazy=True)) == []


WEB_LAYER = {"sync.web": ("flask",)}
"""The web layer both apps install (error answers, bearer secrets, Idempotency-Key, strict
bodies) speaks Flask, as both apps do; the rest of sync stays free of it, and of peewee."""


@pytest.mark.parametrize(("package", "forbidden"), [
    ("shared", ("edge", "central", "sync", "devices", "flask", "peewee", "requests", "serial", "escpos")),
    ("edge", ("central",)),
    ("central", ("edge", "devices")),
    ("sync", ("edge", "central", "devices", "flask", "peewee")),
    ("devices", ("edge", "central", "flask", "peewee")),
])
def test_imports_go_one_way(package, forbidden):
    offenders = []
    for name, path in MODULES.items():
        if name.split(".")[0] != package:
            continue
        allowed = WEB_LAYER.get(name, ())
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{name}: {n}" for n in names if n.split(".")[0] in forbidden
                          and n.split(".")[0] not in allowed]
    assert offenders == []


@pytest.mark.parametrize(("program", "unneeded"), [
    ("central.cli", ("flask", "werkzeug", "pydantic", "requests")),
    ("edge.cli", ("flask", "werkzeug")),
])
def test_the_command_lines_start_without_the_web_framework(program, unneeded):
    # A technician's and head office's commands (init, user create, till add, status …) start
    # in a fraction of a second: the modules they load leave the web framework to `serve`.
    probe = (f"import sys, {program}; "
             f"print(' '.join(m for m in {unneeded!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.split() == []
