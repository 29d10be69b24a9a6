"""`aggregator eval`: the same stories from the in-memory and the Redis index, and the promised keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.eval.corpus import read_corpus
from aggregator.eval.runner import cluster_in_memory, cluster_in_redis
from aggregator.settings import Settings
from tests.fixtures.stories import UNRELATED, WIRE_BODY, WIRE_TITLE


def _corpus(path: Path) -> Path:
    rows = [{"id": "wire", "cluster": "bridge", "title": WIRE_TITLE, "text": WIRE_BODY, "published": None}]
    for i, prefix in enumerate(["Gazette: ", "", "BREAKING: "]):
        text = WIRE_BODY if i != 1 else WIRE_BODY.rsplit("\n\n", 2)[0]
        rows.append({"id": f"copy{i}", "cluster": "bridge", "title": prefix + WIRE_TITLE, "text": text})
    for key, (title, body) in UNRELATED.items():
        rows.append({"id": key, "cluster": key, "title": title, "text": body})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_memory_and_redis_give_the_same_stories(settings: Settings, tmp_path: Path) -> None:
    articles = [a for a, _ in read_corpus(_corpus(tmp_path / "c.jsonl"))]
    small_batches = settings.model_copy(update={"ingest_batch_size": 3})
    memory = cluster_in_memory(articles, small_batches)
    redis = cluster_in_redis(articles, small_batches)
    assert memory.stories == redis.stories and memory.canonicals == redis.canonicals
    stories = memory.stories
    assert len({stories[a] for a in ("wire", "copy0", "copy1", "copy2")}) == 1
    assert len(set(stories.values())) == 1 + len(UNRELATED)
    assert memory.canonicals[stories["wire"]] == "wire"  # a copy is never canonical over its source


def test_eval_cli_prints_scores_and_assignments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGGREGATOR_REDIS_URL", raising=False)
    out = tmp_path / "assign.jsonl"
    assert (
        main(["eval", str(_corpus(tmp_path / "c.jsonl")), "--memory", "--json", "--assignments", str(out)])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {
        "bcubed_precision", "bcubed_recall", "bcubed_f1", "pairwise_precision", "pairwise_recall",
        "stories", "articles", "articles_per_second",
    }  # fmt: skip
    assert result["articles"] == 4 + len(UNRELATED)
    assert result["bcubed_f1"] == 1.0
    assert len(out.read_text().splitlines()) == result["articles"]


def test_undated_articles_after_dated_ones_are_not_expired(settings: Settings, tmp_path: Path) -> None:
    path = _corpus(tmp_path / "c.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    dated = {
        "id": "dated",
        "cluster": "x",
        "title": "Unrelated",
        "text": "nothing",
        "published": "2025-06-28T18:00:00Z",
    }
    path.write_text("".join(json.dumps(r) + "\n" for r in [dated, *rows]))
    articles = [a for a, _ in read_corpus(path)]
    assigned = cluster_in_memory(articles, settings.model_copy(update={"ingest_batch_size": 1})).stories
    assert len({assigned[a] for a in ("wire", "copy0", "copy1", "copy2")}) == 1


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "aggregator.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )


def test_the_cli_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "cluster": "x", "title": "t", "text": "b"}\n{"id": "b"}\n')
    for args, env, says in (
        (("eval", str(tmp_path / "missing.jsonl"), "--memory"), None, "cannot read the corpus"),
        (("eval", str(tmp_path), "--memory"), None, "Is a directory"),
        (("eval", str(bad), "--memory"), None, "bad.jsonl:2: not a corpus row: no 'cluster' field"),
        (("eval", str(bad)), None, "add --memory"),
        (
            ("eval", str(_corpus(tmp_path / "c.jsonl"))),
            {"AGGREGATOR_REDIS_URL": "redis://127.0.0.1:1/0"},
            "--memory",
        ),
        (("eval", str(bad)), {"AGGREGATOR_PORT": "abc"}, "AGGREGATOR_PORT"),
    ):
        done = _run(*args, env=env)
        errors = [line for line in done.stderr.splitlines() if "WARNING" not in line]
        assert done.returncode in (1, 2) and len(errors) == 1 and says in errors[0], (args, done.stderr)


def test_every_command_says_what_it_does_and_its_settings() -> None:
    assert _run("--version").stdout.strip() == "aggregator 0.1.0"
    for command in ("up", "api", "worker", "beat", "eval", "feeds"):
        shown = _run(command, "--help")
        assert shown.returncode == 0 and "AGGREGATOR_" in shown.stdout, command
