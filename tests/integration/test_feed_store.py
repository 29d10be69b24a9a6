"""A feed's hash is written only while the feed exists, even when DELETE comes between the check and
the write: a refresh or a change that finishes after it must not leave a stray hash behind."""

from __future__ import annotations

from typing import Any

import pytest
from redis.commands.core import BasicKeyCommands, HashCommands

from aggregator.errors import NotFound
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.fixtures.sender import Recorder

T = 1_800_000_000.0


@pytest.mark.parametrize("step", ["refresh", "change"])
def test_a_feed_deleted_mid_write_stays_deleted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    wiring = Wiring(settings, sender=Recorder())
    store = wiring.feed_store
    feed, _ = store.add("http://127.0.0.1:9/feed.xml", now=T)
    deleted: list[str] = []

    def reading_loses_the_feed(cls: Any, name: str) -> None:
        """The first read of the check is followed at once by a DELETE from elsewhere."""
        original = getattr(cls, name)

        def read(self: Any, *args: Any, **kwargs: Any) -> Any:
            found = original(self, *args, **kwargs)
            if not deleted:
                deleted.append(feed.id)
                store.delete(feed.id)
            return found

        monkeypatch.setattr(cls, name, read)

    if step == "refresh":
        reading_loses_the_feed(BasicKeyCommands, "exists")
        store.record_success(feed, "ok", T + 60, None, None, "Title", T)
    else:
        reading_loses_the_feed(HashCommands, "hmget")
        with pytest.raises(NotFound):
            store.change(feed.id, category="world", paused=False)
    assert deleted == [feed.id]
    assert not wiring.redis.exists(wiring.keys.feed(feed.id))
    assert wiring.redis.zscore(wiring.keys.feeds_due, feed.id) is None
    wiring.close()


def test_a_change_pauses_and_resumes(settings: Settings) -> None:
    wiring = Wiring(settings, sender=Recorder())
    store = wiring.feed_store
    feed, _ = store.add("http://127.0.0.1:9/feed.xml", now=T)
    paused = store.change(feed.id, category="world", paused=True)
    assert paused.paused and paused.category == "world"
    assert wiring.redis.zscore(wiring.keys.feeds_due, feed.id) is None
    resumed = store.change(feed.id, paused=False, now=T + 5)
    assert not resumed.paused and resumed.category == "world"
    assert wiring.redis.zscore(wiring.keys.feeds_due, feed.id) == T + 5
    with pytest.raises(NotFound):
        store.change("nope", category="x")
    assert not wiring.redis.exists(wiring.keys.feed("nope"))
    wiring.close()
