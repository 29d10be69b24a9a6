"""`aggregator eval`: the same stories from the in-memory and the Redis index, and the promised keys."""

from __future__ import annotations

import json
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
