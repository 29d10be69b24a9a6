"""The core takes values and returns values: it must never reach for I/O libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import aggregator.core

EDGES = ("aggregator.store", "aggregator.ingest", "aggregator.api", "aggregator.services", "workers")
FORBIDDEN = {"httpx", "redis", "celery", "fastapi", "uvicorn", "trafilatura", "feedparser", "requests"}


def test_core_imports_no_io_library() -> None:
    core = Path(aggregator.core.__file__).parent
    offenders = []
    for path in sorted(core.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(EDGES)]
    assert offenders == []
    assert len(list(core.glob("*.py"))) >= 6  # the check looked at the real core
