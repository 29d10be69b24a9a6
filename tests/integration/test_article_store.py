"""An article's hash keeps only the fields that say something, and a revision clears what it lacks."""

from __future__ import annotations

from dataclasses import replace

from aggregator.core.identity import article_id
from aggregator.core.models import Article, Entry, Extraction
from aggregator.settings import Settings
from aggregator.store import packing
from aggregator.wiring import Wiring
from tests.fixtures.sender import Recorder

URL = "https://gazette.example/bridge.html"
T = 1_800_000_000.0  # a time of day: the event log keeps a week back from it
BODY = " ".join(["Norvale closed the Kestrel Bridge after inspectors found cracked cables."] * 12)


def test_empty_fields_are_left_out_and_a_revision_clears_the_old_ones(settings: Settings) -> None:
    wiring = Wiring(settings, sender=Recorder())
    store, aid = wiring.articles, article_id(URL)
    entry = Entry(aid, URL, None, "Bridge shut", "", None, None, None)
    assert store.add_entries("f1", [entry], now=T) == [aid]
    pending = wiring.redis.hgetall(wiring.keys.article(aid))
    assert not {"guid", "summary", "published", "author", "source_name", "language"} & pending.keys()
    assert store.pending_entries([aid]) == [(entry, "f1")]

    # The page failed: the entry's summary stood in, with the reason and a credit.
    failed = Article(aid, URL, "f1", "Bridge shut", BODY, "gazette.example", None, T + 2,
                     extraction=Extraction.SUMMARY, extraction_error="timeout",
                     credits=("Meridian Wire",))  # fmt: skip
    wiring.ingest.cluster([failed])
    stored = wiring.redis.hgetall(wiring.keys.article(aid))
    assert stored["extraction_error"] == "timeout" and "author" not in stored
    assert packing.unpack_text(stored["text"]) == BODY
    # The same entry listed again is nothing new: a missing summary is an empty one.
    assert store.add_entries("f1", [entry], now=T + 3) == []

    # The item changes; its page now reads well: the new revision has no error and no credits.
    changed = replace(entry, title="Bridge shut for a month")
    assert store.add_entries("f1", [changed], now=T + 4) == [aid]
    clean = replace(failed, title=changed.title, text=BODY + " Update.", extraction=Extraction.PAGE,
                    extraction_error=None, credits=(), fetched=T + 5)  # fmt: skip
    assert store.revise(clean, now=T + 5)
    view = wiring.views.article(aid)
    assert view["revision"] == 1 and view["extraction_error"] is None and view["credits"] == []
    assert view["text"] == clean.text and view["title"] == changed.title
    assert not {"extraction_error", "credits"} & wiring.redis.hgetall(wiring.keys.article(aid)).keys()
    wiring.close()
