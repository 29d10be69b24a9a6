"""A follow-up after the story window joins its story through the Redis archive of story summaries."""

from __future__ import annotations

import time

from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.fixtures.stories import (
    FOLLOWUP_BODY,
    FOLLOWUP_TITLE,
    REWRITE_BODY,
    REWRITE_TITLE,
    UNRELATED,
    WIRE_BODY,
    WIRE_TITLE,
    article,
)


def test_a_follow_up_after_the_window_joins_its_story_in_redis(settings: Settings) -> None:
    wiring = Wiring(settings.model_copy(update={"story_window_h": 1 / 3600}))  # entries live 1 s
    try:
        others = [article(k, t, b) for k, (t, b) in UNRELATED.items()]
        wiring.ingest.cluster([*others, article("wire", WIRE_TITLE, WIRE_BODY)])
        wiring.ingest.cluster([article("rewrite", REWRITE_TITLE, REWRITE_BODY)])
        time.sleep(1.2)  # the window closes: the story's index entries expire
        assert not wiring.redis.exists(wiring.keys.record("wire"))
        wiring.ingest.cluster([article("followup", FOLLOWUP_TITLE, FOLLOWUP_BODY)])
        view = wiring.views.article("followup")
        assert (view["story_id"], view["relation"], view["signals"][0]) == ("swire", "rewrite", "followup")
        assert wiring.views.story("swire", 50)["variant_count"] == 3
    finally:
        wiring.close()
