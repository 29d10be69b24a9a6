"""The layout's rules, read from the source: a pure core, no import cycle, small modules, no private
names of other packages, Lua only in `store/lua/`."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import aggregator

ROOT = Path(aggregator.__file__).parent
# The error tree is a leaf of plain exception classes: the core raises InvalidInput.
CORE_MAY_IMPORT = ("aggregator.core", "aggregator.errors")
IO_LIBRARIES = {"httpx", "redis", "celery", "fastapi", "uvicorn", "trafilatura", "feedparser", "requests"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, top_level_only: bool = False) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def test_the_core_imports_no_io_library_and_nothing_outside_the_core() -> None:
    core = {n: p for n, p in _modules().items() if n.startswith("aggregator.core")}
    assert len(core) >= 10  # the check looked at the real core
    offenders = [
        f"{name}: {imported}"
        for name, path in core.items()
        for imported in _imports(path)
        if imported.split(".")[0] in IO_LIBRARIES
        or (imported.startswith("aggregator") and not imported.startswith(CORE_MAY_IMPORT))
    ]
    assert offenders == []


def test_no_import_cycle() -> None:
    modules = _modules()
    graph = {
        name: {i for i in _imports(path, top_level_only=True) if i in modules and i != name}
        for name, path in modules.items()
    }
    cycles = []

    def visit(node: str, trail: list[str], done: set[str]) -> None:
        if node in trail:
            cycles.append(trail[trail.index(node) :] + [node])
            return
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, [*trail, node], done)
        done.add(node)

    finished: set[str] = set()
    for name in sorted(graph):
        visit(name, [], finished)
    assert cycles == []


def test_modules_stay_small() -> None:
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > 300}
    assert long == {}


def test_no_private_names_of_other_packages() -> None:
    offenders = [
        f"{name}: {imported}"
        for name, path in _modules().items()
        for imported in _imports(path)
        if not imported.startswith("aggregator")
        and any(p.startswith("_") for p in imported.split(".")[1:])
        and not imported.endswith("__future__.annotations")
    ]
    assert offenders == []


def test_lua_lives_in_its_own_files() -> None:
    inline = [name for name, path in _modules().items() if "redis.call(" in path.read_text()]
    assert inline == []
    assert len(list((ROOT / "store" / "lua").glob("*.lua"))) >= 5
