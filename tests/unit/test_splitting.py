"""The split check: two groups in one story come apart, one story stays whole, headlines are left alone."""

from __future__ import annotations

import math
import random

import numpy as np

from aggregator.core.centroid import centroid_of
from aggregator.core.models import MemberVector, Record
from aggregator.core.splitting import SplitRule, _Vectors, bisect, due, due_stories, plan, split_plans
from aggregator.eval.runner import cluster_in_memory
from aggregator.settings import defaults
from aggregator.store.memory_index import MemoryIndex
from tests.fixtures.stories import twin_events

RULE = defaults().split_rule()


def _members(groups: dict[str, int], seed: int = 1, length: int = 200) -> list[MemberVector]:
    """Members of each named group: 20 of the group's 30 words and 4 of 10 words every group uses."""
    rng = random.Random(seed)
    shared = [f"common{i}" for i in range(10)]
    out = []
    for g, n in groups.items():
        own = [f"{g}{i}" for i in range(30)]
        for i in range(n):
            terms = rng.sample(own, 20) + rng.sample(shared, 4)
            out.append(
                MemberVector(
                    f"{g}{i:02d}", float(len(out)), length, {t: rng.uniform(0.5, 1.5) for t in terms}
                )
            )
    return out


def _interleaved(groups: dict[str, int]) -> list[MemberVector]:
    members = _members(groups)
    by = sorted(members, key=lambda m: (int(m.article_id[-2:]), m.article_id))
    return [MemberVector(m.article_id, float(i), m.length, m.vector) for i, m in enumerate(by)]


def test_two_groups_in_one_story_come_apart() -> None:
    members = _interleaved({"a": 6, "b": 5})
    parts = plan("sa00", members, RULE)
    assert set(parts) == {"sa00", "sb00"}  # the new story is named after its own first article
    assert {m.article_id for m in parts["sa00"]} == {f"a{i:02d}" for i in range(6)}
    assert {m.article_id for m in parts["sb00"]} == {f"b{i:02d}" for i in range(5)}
    # The same members in another order split the same way.
    assert plan("sa00", list(reversed(members)), RULE) == parts


def test_one_story_stays_whole() -> None:
    members = _members({"a": 12})
    assert list(plan("sa00", members, RULE)) == ["sa00"]


def test_a_small_group_or_headlines_alone_do_not_split() -> None:
    assert bisect(_interleaved({"a": 8, "b": 2}), RULE) is None  # two outliers are not a story
    short = [MemberVector(m.article_id, m.time, 12, m.vector) for m in _interleaved({"a": 6, "b": 6})]
    assert bisect(short, RULE) is None
    assert bisect(_interleaved({"a": 6, "b": 6}), RULE) is not None


def test_checks_come_as_a_story_grows_by_a_quarter() -> None:
    checked = [n for n in range(1, 60) if due(n - 1, n, RULE)]
    assert checked == [6, 7, 8, 10, 12, 15, 18, 22, 27, 33, 41, 51]
    assert due(3, 9, RULE) and not due(8, 9, RULE)
    assert not any(due(n - 1, n, SplitRule(separation=0, min_words=80)) for n in range(1, 60))


def test_only_the_due_stories_that_split_come_back() -> None:
    grown = {"sa00": (9, 11), "sc00": (12, 13), "sd00": (5, 6)}  # sa00 passed 10 and sd00 6; sc00 nothing
    assert due_stories(grown, RULE) == ["sa00", "sd00"]
    found = split_plans({"sa00": _interleaved({"a": 6, "b": 5}), "sd00": _members({"d": 6})}, RULE)
    assert list(found) == ["sa00"] and set(found["sa00"]) == {"sa00", "sb00"}


def test_the_matrix_keeps_every_cosine_exact() -> None:
    members = _members({"a": 4, "b": 3}, seed=3)
    labels = np.array([0, 0, 1, 0, 1, 1, 0])
    got = _Vectors(members).silhouette(labels)

    def unit(v: dict[str, float]) -> dict[str, float]:
        n = math.sqrt(sum(w * w for w in v.values()))
        return {t: w / n for t, w in v.items()}

    def cos(a: dict[str, float], b: dict[str, float]) -> float:
        na, nb = math.sqrt(sum(w * w for w in a.values())), math.sqrt(sum(w * w for w in b.values()))
        return sum(w * b.get(t, 0.0) for t, w in a.items()) / (na * nb)

    def total(vs: list[dict[str, float]]) -> dict[str, float]:
        out: dict[str, float] = {}
        for v in vs:
            for t, w in v.items():
                out[t] = out.get(t, 0.0) + w
        return out

    vs = [unit(m.vector) for m in members]
    scores = []
    for i, v in enumerate(vs):
        own = total([u for j, u in enumerate(vs) if labels[j] == labels[i] and j != i])
        other = total([u for j, u in enumerate(vs) if labels[j] != labels[i]])
        scores.append(cos(v, own) - cos(v, other))
    assert math.isclose(got, sum(scores) / len(scores), rel_tol=1e-9)


def test_rebuilt_centroids() -> None:
    members = _members({"a": 3})
    c = centroid_of(members, keep=150)
    assert math.isclose(c["common0"], sum(m.vector.get("common0", 0.0) for m in members))


def test_streamed_twin_events_end_as_two_stories() -> None:
    articles = twin_events(8)
    small = defaults(ingest_batch_size=4)
    merged = cluster_in_memory(articles, small.model_copy(update={"split_separation": 0.0})).stories
    assert len(set(merged.values())) == 1  # what the split check is for: one story of both events
    split = cluster_in_memory(articles, small).stories
    assert {sid: sorted(a for a, s in split.items() if s == sid) for sid in set(split.values())} == {
        "snorth00": [f"north{i:02d}" for i in range(8)],
        "ssouth00": [f"south{i:02d}" for i in range(8)],
    }


def test_members_past_the_window_leave_the_split_check() -> None:
    index = MemoryIndex(bucket_cap=8, window_s=10, prune_every=1)
    for band, (aid, t) in enumerate((("old", 0.0), ("new", 100.0))):
        index.add(Record(aid, "sold", (), (band,), t), {"x": 1.0}, MemberVector(aid, t, 100, {"x": 1.0}))
    assert [m.article_id for m in index.members(["sold"])["sold"]] == ["new"]
