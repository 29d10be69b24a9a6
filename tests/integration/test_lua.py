"""Each Lua script of `store/lua/`, called directly on a real redis-server with keys and arguments as its
header describes them."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
import redis

from aggregator.core.models import MemberVector, Record
from aggregator.store import entries, packing, scripts


def test_every_script_file_is_known_and_loads(redis_client: redis.Redis) -> None:
    from importlib.resources import files

    on_disk = sorted(p.name.removesuffix(".lua") for p in files("aggregator.store").joinpath("lua").iterdir())
    assert on_disk == sorted(scripts.NAMES)
    for name in scripts.NAMES:
        assert redis_client.script_load(scripts.source(name))
    with pytest.raises(ValueError):
        scripts.source("../settings")


def test_index_write(redis_client: redis.Redis) -> None:
    write = scripts.register(redis_client, "index_write")
    keys = ["df", "docs", "c:s1", "r:a1", "r:a2"]
    # Two groups: band 7 is in group 1, bands 4 and 10 in group 0.
    args = [60, 90, 2, 2, "b:9:", 2, 2, 1, '{"w":1.0}', "a1", "rec1", 2, 7, 4, "a2", "rec2", 2, 4, 10]
    assert write(keys=keys, args=[*args, 2, "x", 2, "y", 1]) == 2
    assert redis_client.get("c:s1") == '{"w":1.0}' and redis_client.get("r:a2") == "rec2"
    assert redis_client.hgetall("b:9:0") == {"4": "a2 a1", "10": "a2"}  # newest first
    assert redis_client.hgetall("b:9:1") == {"7": "a1"}
    assert redis_client.hgetall("df") == {"x": "2", "y": "1"} and redis_client.get("docs") == "2"
    assert 60 < redis_client.ttl("b:9:1") <= 90 and 0 < redis_client.ttl("r:a1") <= 60
    # Writing a1 again moves it to the front instead of listing it twice; the cap drops the oldest.
    args = [60, 90, 2, 2, "b:9:", 2, 2, 0, "a3", "r", 1, 4, "a1", "r", 1, 4, 0]
    write(keys=["df", "docs", "r:a3", "r:a1"], args=args)
    assert redis_client.hget("b:9:0", "4") == "a1 a3"
    assert redis_client.get("docs") == "2"  # no new documents counted
    # Under the cap, a new id goes in front of the others and one already there moves to the front.
    args = [60, 90, 4, 2, "b:9:", 2, 1, 0, "a4", "r", 1, 4, 0]
    write(keys=["df", "docs", "r:a4"], args=args)
    assert redis_client.hget("b:9:0", "4") == "a4 a1 a3"
    write(keys=["df", "docs", "r:a1"], args=[*args[:8], "a1", "r", 1, 4, 0])
    assert redis_client.hget("b:9:0", "4") == "a1 a4 a3"
    write(keys=["df", "docs", "r:a5"], args=[*args[:8], "a5", "r", 1, 4, 0])
    write(keys=["df", "docs", "r:a6"], args=[*args[:8], "a6", "r", 1, 4, 0])
    assert redis_client.hget("b:9:0", "4") == "a6 a5 a1 a4"  # the cap of 4 drops the oldest
    # An id that is a part of another is not taken for it.
    write(keys=["df", "docs", "r:a"], args=[*args[:8], "a", "r", 1, 10, 0])
    assert redis_client.hget("b:9:0", "10") == "a a2"
    write(keys=["df", "docs", "r:a2"], args=[*args[:8], "a2", "r", 1, 10, 0])
    assert redis_client.hget("b:9:0", "10") == "a2 a"
    # Ids shorter than the ref length given may keep more than `cap` in a bucket; its first `cap`
    # are the newest, as they would be with the cap kept exactly.
    longer = [60, 90, 2, 8, "b:9:", 2, 1, 0]
    for aid in ("b1", "b2", "b3", "b2", "b4"):
        write(keys=["df", "docs", f"r:{aid}"], args=[*longer, aid, "r", 1, 12, 0])
    assert redis_client.hget("b:9:0", "12").split()[:2] == ["b4", "b2"]


def test_index_candidates(redis_client: redis.Redis) -> None:
    def record(aid: str, sid: str) -> str:
        if aid == "z":  # as records were once stored: read as well
            return json.dumps({"a": aid, "s": sid, "h": "AAAA", "at": 0})
        member = MemberVector(aid, 0.0, 9, {1: 0.5})
        return entries.dump_entry(Record(aid, sid, (1, 2**32 - 1), (), 0.0), member).decode(
            "utf-8", "surrogateescape"
        )

    # Bucket 1 over two time parts (newest first: part 5, then 4); bucket 2 in part 4 only.
    redis_client.hset("b:5:1", "1", "x")
    redis_client.hset("b:4:1", "1", "y z x")  # x is in both parts: it counts once
    redis_client.hset("b:4:0", "2", "y gone")
    stored = {"r:x": record("x", "s1"), "r:y": record("y", "s1"), "r:z": record("z", "s2")}
    redis_client.mset({key: packing.raw(value) for key, value in stored.items()})
    redis_client.set("c:s1", '{"w":1.0}')
    candidates = scripts.register(redis_client, "index_candidates")
    args = [2, "r:", "c:", "v:", 64, 2, 2, "b:5:", "b:4:", 2, 1, 2, 1, 2]
    first, second, centroids = candidates(keys=["docs"], args=args)
    # y shares both bands; "gone" has no record and gives its place to the next; ties go by id.
    assert first == [record("y", "s1"), 2, record("x", "s1"), 1]
    assert second == [record("y", "s1"), 1]
    assert centroids == ["s1", "c", '{"w":1.0}']  # s2 has neither a centroid nor z's vector: not returned
    # A story with no centroid has one article, whose entry stands in; z's record, stored before entries
    # held vectors, has its vector apart.
    redis_client.set("v:z", "vector of z")
    redis_client.set("r:x", packing.raw(record("x", "s3")))
    *_, centroids = candidates(keys=["docs"], args=[3, *args[1:]])  # three kept: z's record is read
    triples = {centroids[i]: (centroids[i + 1], centroids[i + 2]) for i in range(0, len(centroids), 3)}
    assert triples == {"s1": ("c", '{"w":1.0}'), "s2": ("m", "vector of z"), "s3": ("m", record("x", "s3"))}
    # A bucket is its newest `cap` ids over the parts: with a cap of 2, band 1 holds x and y, not z.
    only, _ = candidates(keys=["docs"], args=[3, "r:", "c:", "v:", 2, 2, 2, "b:5:", "b:4:", 1, 1])
    assert only == [record("x", "s3"), 1, record("y", "s1"), 1]


def test_host_acquire(redis_client: redis.Redis) -> None:
    acquire = scripts.register(redis_client, "host_acquire")
    keys = ["inflight", "last", "limit"]
    assert acquire(keys=keys, args=["t1", 1000, 2, 100, 5000]) == 0
    assert acquire(keys=keys, args=["t2", 1040, 2, 100, 5000]) == 60  # the gap: wait 60 ms more
    assert acquire(keys=keys, args=["t2", 1100, 2, 100, 5000]) == 0
    assert acquire(keys=keys, args=["t3", 1300, 2, 100, 5000]) == 50  # two in flight: the limit
    assert redis_client.zrange("inflight", 0, -1) == ["t1", "t2"]
    assert acquire(keys=keys, args=["t3", 6101, 2, 100, 5000]) == 0  # both leases ran out
    assert redis_client.zrange("inflight", 0, -1) == ["t3"]
    redis_client.set("limit", 1)  # lowered for this host: one at a time
    assert acquire(keys=keys, args=["t4", 7000, 2, 100, 5000]) == 50


def test_host_turn(redis_client: redis.Redis) -> None:
    turn = scripts.register(redis_client, "host_turn")
    # Requests put off at once get turns one spacing apart, after the earliest each could go.
    assert [turn(keys=["turns"], args=[1000, 60, 100]) for _ in range(3)] == [60, 160, 260]
    assert 0 < redis_client.pttl("turns") <= 360
    assert turn(keys=["turns"], args=[1200, 500, 100]) == 500  # later than the line: its own earliest
    assert turn(keys=["turns"], args=[5000, 0, 100]) == 0  # the line is long gone: at once


def test_host_adjust(redis_client: redis.Redis) -> None:
    adjust = scripts.register(redis_client, "host_adjust")
    assert adjust(keys=["limit"], args=[8, 1, 600]) == 4  # a slow answer halves it
    assert 0 < redis_client.ttl("limit") <= 600
    assert adjust(keys=["limit"], args=[8, 1, 600]) == 2
    assert adjust(keys=["limit"], args=[8, 1, 600]) == 1
    assert adjust(keys=["limit"], args=[8, 1, 600]) == 1  # never below one
    assert [adjust(keys=["limit"], args=[8, 0, 600]) for _ in range(8)] == [2, 3, 4, 5, 6, 7, 8, 8]
    assert not redis_client.exists("limit")  # back at the configured limit: nothing kept


def test_subscription_resume(redis_client: redis.Redis) -> None:
    resume = scripts.register(redis_client, "subscription_resume")
    assert resume(keys=["sub"], args=["active"]) == 0
    assert not redis_client.exists("sub")  # nothing half-made for a deleted subscription
    redis_client.hset("sub", mapping={"state": "paused", "failures": 8, "last_error": "500", "url": "u"})
    assert resume(keys=["sub"], args=["active"]) == 1
    assert redis_client.hgetall("sub") == {"state": "active", "failures": "0", "last_error": "", "url": "u"}


def test_lock_release(redis_client: redis.Redis) -> None:
    release = scripts.register(redis_client, "lock_release")
    redis_client.set("lock", "mine")
    assert release(keys=["lock"], args=["theirs"]) == 0 and redis_client.get("lock") == "mine"
    assert release(keys=["lock"], args=["mine"]) == 1 and not redis_client.exists("lock")


def test_feeds_claim(redis_client: redis.Redis) -> None:
    claim = scripts.register(redis_client, "feeds_claim")
    redis_client.zadd("due", {"f1": 10, "f2": 20, "f3": 30, "f4": 99})
    assert claim(keys=["due"], args=[25, 100, 2]) == ["f1", "f2"]  # due by 25, at most 2
    assert claim(keys=["due"], args=[25, 100, 10]) == []  # each once: leased to 125
    assert redis_client.zscore("due", "f1") == 125.0 and redis_client.zscore("due", "f3") == 30.0
    assert claim(keys=["due"], args=[130, 100, 10]) == ["f3", "f4", "f1", "f2"]  # lost leases come back


def test_story_read(redis_client: redis.Redis) -> None:
    read = scripts.register(redis_client, "story_read")
    redis_client.hset("s", mapping={"canonical": "a2", "updated": "5"})
    redis_client.zadd("s:v", {"a1": 1, "a2": 2, "a3": 3})
    for aid in ("a1", "a2", "a3"):
        redis_client.hset(f"a:{aid}", mapping={"title": f"T{aid}", "text": f"body {aid}"})
    flat, count, ids, rows, canonical = read(
        keys=["s", "s:v"], args=["a:", 0, 2, 1, "title", "title", "text"]
    )
    assert dict(zip(flat[::2], flat[1::2], strict=True)) == {"canonical": "a2", "updated": "5"}
    assert count == 3 and ids == ["a1", "a2", "a3"]  # one id past the page: there is more
    assert rows == [["Ta1"], ["Ta2"]] and canonical == ["Ta2", "body a2"]
    _, _, ids, rows, _ = read(keys=["s", "s:v"], args=["a:", 2, 2, 2, "title", "missing", "title"])
    assert ids == ["a3"] and rows == [["Ta3", None]]
    assert read(keys=["none", "none:v"], args=["a:", 0, 2, 1, "title", "title"]) == [[], 0, [], [], []]


def test_stories_listing(redis_client: redis.Redis) -> None:
    listing = scripts.register(redis_client, "stories_listing")
    redis_client.zadd("updated", {"s1": 10, "s2": 20, "s3": 20, "s4": 30.5})

    def read(limit: int, score: str = "", last: str = "") -> list:
        return list(listing(keys=["updated"], args=[limit, score, last]))

    assert read(2) == [["s4", "30.5", "s3", "20"], "s3", "20"]
    # Ties go by id, highest first: the cursor skips up to and including the last id shown.
    assert read(2, "20", "s3") == [["s2", "20", "s1", "10"], "s1", "10"]
    assert read(1, "20", "s2") == [["s1", "10"], "s1", "10"]
    assert read(2, "10", "s1") == [[], "", ""]  # past the end
    assert read(5) == [["s4", "30.5", "s3", "20", "s2", "20", "s1", "10"], "", ""]  # a short page ends it


def test_story_rows(redis_client: redis.Redis) -> None:
    rows = scripts.register(redis_client, "story_rows")
    for sid in ("s1", "s2", "s3"):
        redis_client.hset(f"st:{{{sid}}}", mapping={"canonical": f"a{sid}", "first_seen": 1, "updated": 2})
        redis_client.zadd(f"st:{{{sid}}}:variants", {f"a{sid}": 1, "other": 2})
        redis_client.hset(f"a:a{sid}", mapping={"title": f"T{sid}"})
    redis_client.hdel("st:{s1}", "canonical")  # no canonical recorded: the first variant stands in
    redis_client.zadd("st:{s1}:variants", {"first": 0})
    redis_client.hset("st:{empty}", mapping={"canonical": "gone", "first_seen": 1, "updated": 2})

    def read(*sids: str) -> list:
        return list(rows(keys=["updated"], args=["st:{", "}", "a:", 2, "title", "url", *sids]))

    # No text is sent: the API reads the heads of the texts it has no snippet of (text_heads.lua).
    redis_client.hset("a:as3", mapping={"text": "a" + "é" * 400, "source": "Wire", "url": "u3"})
    redis_client.hset("a:other", mapping={"source": "", "source_name": "wire"})  # one outlet, either case
    redis_client.hset("a:as2", mapping={"source": "Gazette"})
    # A row per id, in the order asked; a story with no variants left has an empty one.
    s3, empty, s2, s1 = read("s3", "empty", "s2", "s1")
    assert s3 == ["1", "2", 2, "as3", "Ts3", "u3", 1] and empty == []
    assert s2 == ["1", "2", 2, "as2", "Ts2", "", 2]  # two outlets
    assert s1 == ["1", "2", 3, "first", "", "", 1]
    # A story that keeps its count of outlets is not counted again.
    redis_client.hset("st:{s2}", "sources", 7)
    assert read("s2") == [["1", "2", 2, "as2", "Ts2", "", 7]]
    assert read() == []


def test_text_heads(redis_client: redis.Redis) -> None:
    heads = scripts.register(redis_client, "text_heads")
    redis_client.hset("a:1", mapping={"text": "a" + "é" * 400})
    redis_client.hset("a:2", mapping={"text": "", "summary": "Short summary."})
    redis_client.hset("a:3", mapping={"title": "no text"})
    # A plain text: 600 bytes at most, never a character cut in two ("é" is 2 bytes); else the summary.
    first, second, third, absent = heads(keys=["a:1", "a:2", "a:3", "a:none"], args=[600])
    assert first == "a" + "é" * 299 and len(first.encode()) == 599
    assert (second, third, absent) == ("Short summary.", "", "")
    # A packed text sends its start, which the API unpacks: the head of the text, whatever its length.
    words = " ".join(f"wörd{n * n % 9973}" for n in range(20_000))
    redis_client.hset("a:1", "text", packing.pack_text(words))
    [sent] = heads(keys=["a:1"], args=[600])
    assert len(packing.raw(sent)) == 750 and packing.raw(sent).startswith(packing.TEXT_MARK)
    head = packing.unpack_head(sent, 600)
    assert 590 < len(head.encode()) <= 600 and words.startswith(head)
    # So does a text packed as base64, as texts once were.
    old = "z:" + base64.b64encode(zlib.compress(words.encode())).decode()
    redis_client.hset("a:1", "text", old)
    [sent] = heads(keys=["a:1"], args=[600])
    assert len(sent) == 1000 and packing.unpack_head(sent, 600) == head
