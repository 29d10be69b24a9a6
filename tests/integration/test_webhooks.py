"""Webhooks against a real receiver on 127.0.0.1 that checks every signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aggregator.errors import InvalidInput
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.conftest import Api, wait_for
from tests.fixtures.site import Site

SECRET = "s3cret-key-for-tests"


@dataclass
class Receiver:
    url: str = ""
    fail_first: int = 0  # answer 500 to this many requests, then 200
    always_fail: bool = False
    requests: int = 0
    acknowledged: list[str] = field(default_factory=list)  # event ids answered 200
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _signed(body: bytes) -> str:
    """What a receiver computes, as the README tells it: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with rec.lock:
                rec.requests += 1
                ok = hmac.compare_digest(_signed(body), self.headers.get("X-Signature", ""))
                rec.bad_signatures += not ok
                failing = rec.always_fail or rec.requests <= rec.fail_first
                event_id = self.headers.get("X-Event-Id", "")
                if ok and not failing:
                    assert json.loads(body)["id"] == event_id
                    rec.acknowledged.append(event_id)
            self.send_response(500 if failing or not ok else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield rec
    server.shutdown()


def _subscribe(api: Api, url: str, types: list[str] | None = None) -> dict[str, Any]:
    resp = api.post("/v1/subscriptions", json={"url": url, "secret": SECRET, "types": types})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    assert "secret" not in body
    return body


def test_failing_receiver_gets_each_event_once_acknowledged(
    api: Api, site: Site, worker: Any, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    sub = _subscribe(api, receiver.url, ["story.created"])
    site.publish_news()
    api.post("/v1/feeds", json={"url": site.feed_url("wire")})
    wait_for(lambda: len(receiver.acknowledged) >= 2)
    assert receiver.bad_signatures == 0 and receiver.requests >= 4  # two refusals were retried
    assert len(set(receiver.acknowledged)) == len(receiver.acknowledged) == 2
    state = wait_for(lambda: (s := api.get(f"/v1/subscriptions/{sub['id']}").json())["delivered"] == 2 and s)
    assert state["state"] == "active" and state["failures"] == 0


def test_receiver_that_keeps_failing_is_paused(api: Api, site: Site, worker: Any, receiver: Receiver) -> None:
    receiver.always_fail = True
    sub = _subscribe(api, receiver.url)
    site.publish_news()
    api.post("/v1/feeds", json={"url": site.feed_url("wire")})

    def paused() -> dict[str, Any] | None:
        s: dict[str, Any] = api.get(f"/v1/subscriptions/{sub['id']}").json()
        return s if s["state"] == "paused" else None

    state = wait_for(paused)
    assert state["failures"] >= 3 and state["last_error"] == "receiver answered 500"
    assert receiver.acknowledged == []
    # Fixed and resumed, it receives what happens next.
    receiver.always_fail = False
    resumed = api.post(f"/v1/subscriptions/{sub['id']}/resume").json()
    assert (resumed["state"], resumed["failures"], resumed["last_error"]) == ("active", 0, None)
    api.post("/v1/feeds", json={"url": site.feed_url("gazette")})
    wait_for(lambda: receiver.acknowledged)
    assert api.post("/v1/subscriptions/nope/resume").status_code == 404
    assert [s["id"] for s in api.get("/v1/subscriptions").json()["items"]] == [sub["id"]]
    assert api.delete(f"/v1/subscriptions/{sub['id']}").status_code == 204
    assert api.get(f"/v1/subscriptions/{sub['id']}").status_code == 404


def test_webhook_targets_obey_the_address_rules(api: Api, settings: Settings) -> None:
    bad = {"url": "ftp://example.org/hook", "secret": SECRET}
    assert api.post("/v1/subscriptions", json=bad).status_code == 422
    bad_type = {"url": "http://example.org/hook", "secret": SECRET, "types": ["story.exploded"]}
    assert api.post("/v1/subscriptions", json=bad_type).status_code == 422
    strict = Wiring(settings.model_copy(update={"allow_private_hosts": False}))
    try:
        for url in (
            "http://127.0.0.1:9/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest",
            "http://10.0.0.1/",
        ):
            with pytest.raises(InvalidInput):
                strict.subscriptions.add(url, SECRET, [])
    finally:
        strict.close()
