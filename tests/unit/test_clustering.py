"""The clustering decision, through the one pipeline against the in-memory index: copies and rewrites
join their story, other stories and a second event of the same kind stay apart; the canonical policy."""

from __future__ import annotations

from dataclasses import replace

from aggregator.core import canonical
from aggregator.core.centroid import norm
from aggregator.core.models import Article, Relation, Split
from aggregator.core.pipeline import ClusterPipeline
from aggregator.eval.runner import memory_index
from aggregator.settings import defaults
from aggregator.store.memory_index import MemoryIndex
from aggregator.wiring import pipeline_from
from tests.fixtures.stories import (
    FOLLOWUP_BODY,
    FOLLOWUP_TITLE,
    OTHER_BRIDGE_BODY,
    OTHER_BRIDGE_TITLE,
    OTHER_FOLLOWUP_BODY,
    OTHER_FOLLOWUP_TITLE,
    REWRITE_BODY,
    REWRITE_TITLE,
    UNRELATED,
    WIRE_BODY,
    WIRE_TITLE,
)

SETTINGS = defaults()


def _article(aid: str, title: str, body: str, t: float = 0.0) -> Article:
    return Article(id=aid, url=f"http://x/{aid}", feed_id="f", title=title, text=body, source="x",
                   published=t, fetched=t)  # fmt: skip


def _run(articles: list[Article], pipeline: ClusterPipeline | None = None) -> dict[str, tuple[str, Relation]]:
    """One article at a time, as a slow stream brings them."""
    pipeline = pipeline or pipeline_from(SETTINGS)
    index = memory_index(SETTINGS)
    out = {}
    for a in articles:
        (done,) = pipeline.run([a], index).assignments
        out[a.id] = (done.decision.story_id, done.decision.relation)
    return out


def _others() -> list[Article]:
    return [_article(k, t, b) for k, (t, b) in UNRELATED.items()]


def _wire_and_rewrite() -> list[Article]:
    return [_article("wire", WIRE_TITLE, WIRE_BODY), _article("rewrite", REWRITE_TITLE, REWRITE_BODY)]


def test_copies_join_and_other_stories_stay_apart() -> None:
    trimmed = WIRE_BODY.rsplit("\n\n", 2)[0]
    arts = [
        *_others(),
        _article("wire", WIRE_TITLE, WIRE_BODY),
        _article(
            "copy", "Gazette: " + WIRE_TITLE, WIRE_BODY + "\nRelated Articles\n" + UNRELATED["chess"][0]
        ),
        _article("trim", WIRE_TITLE.upper(), trimmed),
    ]
    out = _run(arts)
    assert out["wire"] == ("swire", Relation.CANONICAL)
    assert out["copy"] == ("swire", Relation.COPY)
    assert out["trim"][0] == "swire"
    assert len({out[k][0] for k in UNRELATED} | {"swire"}) == len(UNRELATED) + 1


def test_rewrite_joins_and_same_kind_of_event_stays_apart() -> None:
    arts = [
        *_others(),
        _article("wire", WIRE_TITLE, WIRE_BODY),
        _article("other", OTHER_BRIDGE_TITLE, OTHER_BRIDGE_BODY),
        _article("rewrite", REWRITE_TITLE, REWRITE_BODY),
    ]
    out = _run(arts)
    assert out["rewrite"] == ("swire", Relation.REWRITE)
    assert out["other"] == ("sother", Relation.CANONICAL)


def test_a_batch_is_decided_as_if_its_articles_came_one_by_one() -> None:
    arts = [
        *_others(),
        _article("wire", WIRE_TITLE, WIRE_BODY),
        _article("rewrite", REWRITE_TITLE, REWRITE_BODY),
    ]
    arts += [_article("copy", "Gazette: " + WIRE_TITLE, WIRE_BODY)]
    index = memory_index(SETTINGS)
    together = {
        x.record.article_id: (x.decision.story_id, x.decision.relation)
        for x in pipeline_from(SETTINGS).run(arts, index).assignments
    }
    # Document frequencies differ (a batch's articles do not count each other), decisions do not.
    assert together == _run(arts)


def test_a_new_vocabulary_between_batches_changes_no_story() -> None:
    arts = [
        *_others(),
        _article("wire", WIRE_TITLE, WIRE_BODY),
        _article("rewrite", REWRITE_TITLE, REWRITE_BODY),
    ]
    s = SETTINGS
    tiny = ClusterPipeline(s.thresholds(), s.split_rule(), s.feature_params(), vocabulary=1)
    assert _run(arts, tiny) == _run(arts)


def test_centroid_norms_kept_between_batches_match_the_centroids() -> None:
    pipeline = pipeline_from(SETTINGS)
    index = MemoryIndex(SETTINGS.bucket_cap)
    arts = [*_others(), _article("wire", WIRE_TITLE, WIRE_BODY), _article("rw", REWRITE_TITLE, REWRITE_BODY)]
    arts += [_article("rw2", REWRITE_TITLE, REWRITE_BODY + " More."), _article("w2", WIRE_TITLE, WIRE_BODY)]
    arts += [_article("other", OTHER_BRIDGE_TITLE, OTHER_BRIDGE_BODY)]  # weighs the Kestrel story, apart
    kept = 0
    for i in range(0, len(arts), 2):  # batches of two: a story can grow twice within one
        pipeline.run(arts[i : i + 2], index)
        for sid, n in index.norms.items():  # a stale norm would skew every later cosine
            assert n == norm(index.centroids[sid])
        kept += len(index.norms)
    assert kept  # norms were kept between batches
    sid = index.records["wire"].story_id
    assert sid in index.norms and index.records["other"].story_id != sid
    index.split(Split(sid, {sid: []}, {sid: {"other": 1.0}}, {}))
    assert sid not in index.norms


def test_canonical_policy_order() -> None:
    def cand(aid: str, **kw: object) -> canonical.Candidate:
        base = dict(
            article_id=aid, feed_id="f", source="site", credits=(), from_page=True, length=100, time=5.0
        )
        base.update(kw)
        return canonical.Candidate(**base)  # type: ignore[arg-type]

    plain, longer, early = cand("a"), cand("b", length=300), cand("c", time=1.0)
    assert canonical.choose([plain, longer, early]) == "b"  # most complete text
    assert canonical.choose([plain, early]) == "c"  # then earliest
    credited = cand("d", credits=("Reuters",), length=50)
    wire = cand("e", credits=("Reuters",), source="Reuters", length=40)
    assert canonical.choose([longer, credited]) == "d"
    assert canonical.choose([longer, credited, wire]) == "e"
    assert canonical.choose([longer, wire, cand("z", feed_id="trusted")], ["trusted"]) == "z"
    assert canonical.choose([cand("s", from_page=False, length=999), plain]) == "a"


DAY = 86400.0
THIRD_BRIDGE_TITLE = "Port Aldine shuts Sable Creek bridge after floods scour its piers"
THIRD_BRIDGE_BODY = """\
PORT ALDINE - Engineers closed the Sable Creek bridge on Monday after last week's floods scoured the \
riverbed around two of its concrete piers, harbour master Lena Okafor said. The bridge carries the coast \
road to Wenlow and about 6,000 vehicles a day; traffic will be sent over the old quarry road while divers \
inspect the foundations.
"""


def test_a_follow_up_after_the_window_joins_its_story_and_a_look_alike_does_not() -> None:
    # The Kestrel story and the Marrick one on day 0; both followed up on day 10, long after the 72 h
    # window closed, when nothing of either is live.
    arts = [*_others(), *_wire_and_rewrite(), _article("other", OTHER_BRIDGE_TITLE, OTHER_BRIDGE_BODY)]
    later = [
        _article("followup", FOLLOWUP_TITLE, FOLLOWUP_BODY, 10 * DAY),
        _article("other-followup", OTHER_FOLLOWUP_TITLE, OTHER_FOLLOWUP_BODY, 10 * DAY + 60),
        _article("third", THIRD_BRIDGE_TITLE, THIRD_BRIDGE_BODY, 10 * DAY + 120),
    ]
    pipeline, index = pipeline_from(SETTINGS), memory_index(SETTINGS)
    for a in arts:
        pipeline.run([a], index)
    decided = {x.record.article_id: x.decision for a in later for x in pipeline.run([a], index).assignments}
    follow = decided["followup"]
    assert (follow.story_id, follow.relation, follow.signals[0]) == ("swire", Relation.REWRITE, "followup")
    assert decided["other-followup"].story_id == "sother"  # its own story's follow-up, not Kestrel's
    assert decided["third"].new_story  # a bridge never reported before starts its own story
    # Without the archive the same follow-up starts a story of its own.
    no_archive = defaults(archive_horizon_h=0.01)
    pipeline, index = pipeline_from(no_archive), memory_index(no_archive)
    for a in arts:
        pipeline.run([a], index)
    (alone,) = pipeline.run([later[0]], index).assignments
    assert alone.decision.new_story


def test_the_window_counts_from_first_seen_when_published_is_missing_wrong_or_far() -> None:
    pipeline = pipeline_from(defaults(published_skew_h=48))
    seen = 100 * DAY

    def at(published: float | None) -> float:
        return pipeline.event_time(replace(_article("a", "t", "b"), published=published, fetched=seen))

    assert at(seen - DAY) == seen - DAY  # within the skew: the outlet's own time
    assert at(None) == seen
    assert at(seen + 3600) == seen  # in the future
    assert at(seen - 10 * DAY) == seen  # far from when it was first seen: an update or crawl time
