"""Article and story hashes keep only the fields that say something, and a revision clears what it lacks."""

from __future__ import annotations

from dataclasses import replace

from aggregator.core.identity import article_id, feed_id
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
    # A guid that is the item's link is not kept; a long summary is kept packed.
    other = Entry(article_id(URL + "?2"), URL + "?2", URL + "?2", "Ferry resumes", BODY, T, "Ann", None, "en")
    store.add_entries("f1", [other], now=T)
    kept = wiring.redis.hgetall(wiring.keys.article(other.article_id))
    assert "guid" not in kept and len(packing.raw(kept["summary"])) < len(BODY) / 4
    assert store.pending_entries([other.article_id]) == [(replace(other, guid=None), "f1")]

    # The page failed: the entry's summary stood in, with the reason and a credit.
    failed = Article(aid, URL, "f1", "Bridge shut", BODY, "gazette.example", None, T + 2,
                     extraction=Extraction.SUMMARY, extraction_error="timeout",
                     credits=("Meridian Wire",))  # fmt: skip
    wiring.ingest.cluster([failed])
    [listed], _ = wiring.views.list_stories(10, None)
    assert listed["snippet"].startswith("Norvale closed the Kestrel")
    stored = wiring.redis.hgetall(wiring.keys.article(aid))
    assert stored["extraction_error"] == "timeout" and not {"author", "summary"} & stored.keys()
    assert packing.unpack_text(stored["text"]) == BODY
    # The same entry listed again is nothing new: a missing summary is an empty one.
    assert store.add_entries("f1", [entry], now=T + 3) == []

    # The item changes; its page now reads well: the new revision has no error and no credits.
    changed = replace(entry, title="Bridge shut for a month")
    assert store.add_entries("f1", [changed], now=T + 4) == [aid]
    clean = replace(failed, title=changed.title, text="Update: the bridge reopens in May. " + BODY,
                    extraction=Extraction.PAGE, extraction_error=None, credits=(), fetched=T + 5)  # fmt: skip
    assert store.revise(clean, now=T + 5)
    # The story list's row and snippet are made again from the new revision (the process keeps both).
    [listed], _ = wiring.views.list_stories(10, None)
    assert listed["snippet"].startswith("Update: the bridge reopens in May. Norvale")
    assert listed["title"] == changed.title and listed["updated"] == T + 5
    view = wiring.views.article(aid)
    assert view["revision"] == 1 and view["extraction_error"] is None and view["credits"] == []
    assert view["text"] == clean.text and view["title"] == changed.title
    # The earlier revision holds a whole text: kept packed, as texts are.
    assert [r["text"] for r in view["revisions"]] == [BODY] and view["revisions"][0]["title"] == "Bridge shut"
    stored_revisions = packing.raw(wiring.redis.hget(wiring.keys.article(aid), "revisions"))
    assert stored_revisions.startswith(packing.TEXT_MARK) and len(stored_revisions) < len(BODY) / 4
    # Revisions stored as plain JSON, before they were packed, are still read.
    wiring.redis.hset(wiring.keys.article(aid), "revisions", packing.unpack_text(stored_revisions))
    assert wiring.views.article(aid)["revisions"] == view["revisions"]
    assert not {"extraction_error", "credits"} & wiring.redis.hgetall(wiring.keys.article(aid)).keys()
    assert store.add_entries("f1", [changed], now=T + 6) == []  # the change is known now
    assert not {"summary", "entry_title"} & wiring.redis.hgetall(wiring.keys.article(aid)).keys()

    # An article stored before entries had a digest kept the item's headline and summary: still read.
    key = wiring.keys.article(aid)
    wiring.redis.hdel(key, "seen")
    wiring.redis.hset(key, mapping={"entry_title": changed.title, "summary": ""})
    assert store.add_entries("f1", [changed], now=T + 7) == []
    assert store.add_entries("f1", [replace(changed, summary="Now with a summary.")], now=T + 8) == [aid]
    wiring.close()


def test_a_story_keeps_its_canonical_history_once_the_canonical_changed(settings: Settings) -> None:
    trusted = "https://trusted.example/feed.xml"
    wiring = Wiring(settings.model_copy(update={"feed_priority": [trusted]}), sender=Recorder())

    def article(url: str, feed: str) -> Article:
        return Article(article_id(url), url, feed, "Bridge shut", BODY, "x.example", T, T)

    first = article("https://portal.example/bridge", feed_id("https://portal.example/feed.xml"))
    wiring.ingest.cluster([first])
    sid = wiring.views.article(first.id)["story_id"]
    assert "canonical_history" not in wiring.redis.hgetall(wiring.keys.story(sid))
    assert wiring.views.story(sid, 10)["canonical_history"] == [first.id]
    # A copy from the most trusted feed becomes the canonical: the history is kept from then on.
    copy = article("https://trusted.example/bridge", feed_id(trusted))
    wiring.ingest.cluster([copy])
    story = wiring.views.story(sid, 10)
    assert story["canonical"]["id"] == copy.id and story["canonical_history"] == [first.id, copy.id]
    wiring.close()


def test_a_canonical_chosen_again_reaches_the_rows_an_api_process_keeps(settings: Settings) -> None:
    # The API keeps story list rows by the story's score in the list: choosing a new canonical outside
    # a batch (as after a revision) must move the score, or the list would show the old one for good.
    portal, trusted = "https://portal.example/feed.xml", "https://trusted.example/feed.xml"
    api = Wiring(settings, sender=Recorder())
    a = Article(article_id("https://portal.example/b"), "https://portal.example/b", feed_id(portal),
                "Portal: bridge shut", BODY, "portal.example", T, T)  # fmt: skip
    b = Article(article_id("https://trusted.example/b"), "https://trusted.example/b", feed_id(trusted),
                "Trusted: bridge shut", BODY, "trusted.example", T, T + 1)  # fmt: skip
    api.ingest.cluster([a, b])
    [row], _ = api.views.list_stories(10, None)
    assert (row["title"], row["variant_count"]) == (a.title, 2)
    assert api.views.list_stories(10, None)[0] == [row]  # now served from what the process kept
    # Another process trusts the second feed most and applies the policy again.
    worker = Wiring(settings.model_copy(update={"feed_priority": [trusted]}), sender=Recorder())
    worker.stories.choose_canonicals([row["id"]], now=T + 10)
    [row], _ = api.views.list_stories(10, None)
    assert (row["title"], row["updated"]) == (b.title, T + 10)
    # So does a variant joining in a batch, from any process.
    c = replace(
        a, id=article_id("https://third.example/b"), url="https://third.example/b", source="third.example"
    )
    worker.ingest.cluster([c])
    [row], _ = api.views.list_stories(10, None)
    assert (row["variant_count"], row["source_count"]) == (3, 3) and row["updated"] != T + 10
    worker.close()
    api.close()
