"""Faults: near-duplicates racing on two workers, Redis killed and restarted with append-only on, and
Redis hung."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

from aggregator.core.models import Article
from aggregator.devserver import EmbeddedRedis
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.conftest import serve_api
from tests.fixtures.stories import UNRELATED, WIRE_BODY, WIRE_TITLE
from tests.fixtures.stories import article as _article


def test_near_duplicates_arriving_at_once_form_one_story(settings: Settings) -> None:
    workers = [Wiring(settings) for _ in range(2)]
    try:
        for round_ in range(5):  # several races, each between two workers
            copies = [
                _article(f"a{round_}", WIRE_TITLE, WIRE_BODY),
                _article(
                    f"b{round_}", "Gazette: " + WIRE_TITLE, WIRE_BODY.replace("Tuesday", "Tuesday morning")
                ),
            ]
            barrier = threading.Barrier(2)

            def run(w: Wiring, a: Article, start: threading.Barrier) -> None:
                start.wait()
                w.ingest.cluster([a])
                w.ingest.cluster([a])  # the same task delivered twice

            threads = [
                threading.Thread(target=run, args=(w, a, barrier))
                for w, a in zip(workers, copies, strict=True)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            views = [workers[0].views.article(a.id) for a in copies]
            assert views[0]["story_id"] == views[1]["story_id"], round_
            story = workers[0].views.story(views[0]["story_id"], 500)
            # Earlier rounds' copies are the same story too: it grows by exactly two per round.
            assert story["variant_count"] == 2 * (round_ + 1)
    finally:
        for w in workers:
            w.close()


def test_redis_killed_and_restarted_loses_no_acknowledged_article(settings: Settings, tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    own = settings.model_copy(update={"redis_url": server.url})
    wiring = Wiring(own)
    stack = contextlib.ExitStack()
    try:
        api = stack.enter_context(serve_api(own, sender=None))
        stored = [_article(f"u{k}", t, b) for k, (t, b) in enumerate(UNRELATED.values())]
        wiring.ingest.cluster(stored)  # returned: acknowledged
        assert api.get(f"/v1/articles/{stored[0].id}").status_code == 200
        assert server.proc is not None
        # A snapshot-less restart would still have the articles only if the append-only file has them.
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
        server.start()  # same port, same append-only file
        # The same Services object and the running API carry on: redis-py reconnects by itself.
        for a in stored:
            assert wiring.views.article(a.id)["title"] == a.title
            assert api.get(f"/v1/articles/{a.id}").json()["title"] == a.title
        wiring.ingest.cluster([_article("after", WIRE_TITLE, WIRE_BODY)])
        assert wiring.views.article("after")["relation"] == "canonical"
        assert api.get("/readyz").status_code == 200
        lost = sum(1 for a in stored if not wiring.redis.exists(wiring.keys.article(a.id)))
        print(f"redis kill -9 and restart: lost {lost} of {len(stored)}")
        assert lost == 0
    finally:
        stack.close()
        wiring.close()
        server.stop()


def test_a_hung_redis_costs_a_read_its_timeout_and_the_api_answers_again(
    settings: Settings, tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    assert server.proc is not None
    own = settings.model_copy(update={"redis_url": server.url, "redis_timeout_s": 0.5})
    wiring = Wiring(own)
    try:
        stored = _article("kept", WIRE_TITLE, WIRE_BODY)
        wiring.ingest.cluster([stored])
        with serve_api(own, sender=None) as api:
            assert api.get(f"/v1/articles/{stored.id}").status_code == 200
            os.kill(server.proc.pid, signal.SIGSTOP)  # Redis takes connections' bytes, answers nothing
            try:
                start = time.monotonic()
                hung = api.get(f"/v1/articles/{stored.id}")
                took = time.monotonic() - start
                assert hung.status_code == 503 and hung.json()["error"] == "StorageError", hung.text
                assert took < 3, took
                assert api.get("/healthz").status_code == 200
            finally:
                os.kill(server.proc.pid, signal.SIGCONT)
            assert api.get(f"/v1/articles/{stored.id}").json()["title"] == WIRE_TITLE
    finally:
        wiring.close()
        server.stop()
