"""A split in Redis: the second event's articles move to their own story, with its canonical, its
index entries and the events that tell subscribers; the in-memory index splits the same way."""

from __future__ import annotations

import redis

from aggregator.eval.runner import cluster_in_memory, cluster_in_redis
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.fixtures.sender import Recorder
from tests.fixtures.stories import twin_events


def test_a_story_of_two_events_splits_in_redis(settings: Settings, redis_client: redis.Redis) -> None:
    wiring = Wiring(settings, sender=Recorder())
    articles = twin_events(9)
    first, last = articles[:16], articles[16:]
    for i in range(0, len(first), 4):
        wiring.ingest.cluster(first[i : i + 4])

    north, south = wiring.views.story("snorth00", 50), wiring.views.story("ssouth00", 50)
    assert sorted(v["id"] for v in north["variants"]) == [f"north{i:02d}" for i in range(8)]
    assert sorted(v["id"] for v in south["variants"]) == [f"south{i:02d}" for i in range(8)]
    assert south["canonical"]["id"].startswith("south") and south["canonical_history"]
    assert north["canonical"]["id"].startswith("north")
    assert wiring.views.article("south03")["story_id"] == "ssouth00"
    assert wiring.views.article("south00")["relation"] == "canonical"
    assert {s["id"] for s in wiring.views.list_stories(50, None)[0]} == {"snorth00", "ssouth00"}

    events = wiring.events.read("0")
    splits = [e for e in events if e.type == "story.split"]
    assert [(e.story_id, [p["story_id"] for p in e.data["split_into"]]) for e in splits] == [
        ("snorth00", ["ssouth00"])
    ]
    # The check ran when the story reached 8 members, four of each event.
    assert splits[0].variant_count == 4
    assert splits[0].data["split_into"][0]["variants"] == [f"south{i:02d}" for i in range(4)]
    created = [e for e in events if e.type == "story.created" and e.story_id == "ssouth00"]
    assert len(created) == 1 and created[0].data["split_from"] == "snorth00"

    # The index follows: the next article of each event joins its own story.
    wiring.ingest.cluster(last)
    assert wiring.views.article("north08")["story_id"] == "snorth00"
    assert wiring.views.article("south08")["story_id"] == "ssouth00"
    # A batch delivered twice changes nothing.
    before = len(wiring.events.read("0"))
    wiring.ingest.cluster(last)
    assert len(wiring.events.read("0")) == before
    wiring.close()


def test_memory_and_redis_split_alike(settings: Settings) -> None:
    articles = twin_events(8)
    small = settings.model_copy(update={"ingest_batch_size": 3})
    memory = cluster_in_memory(articles, small).stories
    assert memory == cluster_in_redis(articles, small).stories
    assert len(set(memory.values())) == 2


def test_a_wire_and_its_copy_in_one_batch_leave_one_canonical(settings: Settings) -> None:
    """The copy came first in the batch and began the story; the wire, crediting itself in its
    dateline, becomes canonical, and the copy is then a copy of it, not a second canonical."""
    from dataclasses import replace

    from aggregator.core.text import credits
    from tests.fixtures.stories import WIRE_BODY, WIRE_TITLE, article

    wiring = Wiring(settings, sender=Recorder())
    copy = replace(
        article("gazette", f"The Harbour Gazette: {WIRE_TITLE}", WIRE_BODY),
        source="The Harbour Gazette",
        credits=credits(WIRE_BODY),
    )
    wire = replace(article("wire", WIRE_TITLE, WIRE_BODY), source="Meridian Wire", credits=credits(WIRE_BODY))
    wiring.ingest.cluster([copy, wire])
    story = wiring.views.story("sgazette", 50)
    relations = {v["id"]: (v["relation"], v.get("score")) for v in story["variants"]}
    assert story["canonical"]["id"] == "wire"
    assert relations["wire"][0] == "canonical" and relations["gazette"][0] == "copy"
    assert wiring.views.article("gazette")["relation"] == "copy"
    wiring.close()
