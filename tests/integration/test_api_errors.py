"""The API's error contract: 404 for unknown ids, 422 for bad input, 401 for writes without a key."""

from __future__ import annotations

import socket
import time
from typing import Any

from aggregator.settings import Settings, get_settings
from tests.conftest import Api, serve_api
from tests.fixtures.sender import Recorder


def test_unknown_ids_are_404_with_json(api: Api) -> None:
    for path in ("/v1/stories/nope", "/v1/stories/nope/variants", "/v1/articles/nope", "/v1/feeds/nope"):
        resp = api.get(path)
        assert resp.status_code == 404, path
        assert resp.json()["error"] == "NotFound"
    assert api.delete("/v1/feeds/nope").status_code == 404


def test_bad_input_is_422_saying_what_was_wrong(api: Api) -> None:
    resp = api.post("/v1/feeds", json={"url": "ftp://example.com/feed"})
    assert resp.status_code == 422 and "http" in resp.json()["detail"]
    assert api.post("/v1/feeds", json={}).status_code == 422
    assert api.get("/v1/stories", params={"limit": 0}).status_code == 422
    assert api.get("/v1/stories", params={"cursor": "garbage"}).status_code == 422
    for cursor in ("nan~x", "inf~x", "1.5~", "²", "1" * 5000):
        resp = api.get("/v1/stories", params={"cursor": cursor})
        assert resp.status_code == 422 and "cursor" in resp.json()["detail"], cursor
    for cursor in ("²", "١٢", "-1", "9" * 20):
        resp = api.get("/v1/stories/nope/variants", params={"cursor": cursor})
        assert resp.status_code == 422 and "cursor" in resp.json()["detail"], cursor[:30]


def test_feed_add_is_idempotent_and_delete_removes_it(api: Api) -> None:
    first = api.post("/v1/feeds", json={"url": "http://127.0.0.1:9/feed.xml", "title": "T"})
    again = api.post("/v1/feeds", json={"url": "http://127.0.0.1:9/feed.xml#x"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["title"] == "T" and first.json()["last_error"] is None
    assert api.delete(f"/v1/feeds/{first.json()['id']}").status_code == 204
    assert api.get("/v1/feeds").json()["items"] == []
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").status_code == 200


def test_writes_need_an_api_key_when_keys_are_set(settings: Settings, celery_app: Any) -> None:
    keyed = settings.model_copy(update={"api_keys": ["k-one", "k-two"]})
    with serve_api(keyed, celery_app) as api:
        feed = {"url": "http://127.0.0.1:9/feed.xml"}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic k-one"}):
            resp = api.post("/v1/feeds", json=feed, headers=headers)
            assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
            assert api.delete("/v1/feeds/fnothing", headers=headers).status_code == 401
            sub = {"url": "http://127.0.0.1:9/hook", "secret": "12345678"}
            assert api.post("/v1/subscriptions", json=sub, headers=headers).status_code == 401
        assert api.get("/v1/feeds").status_code == 200  # reads stay open
        assert api.get("/v1/feeds").json()["items"] == []  # nothing was written
        created = api.post("/v1/feeds", json=feed, headers={"Authorization": "Bearer k-two"})
        assert created.status_code == 201
        fid = created.json()["id"]
        assert api.delete(f"/v1/feeds/{fid}", headers={"Authorization": "Bearer k-one"}).status_code == 204


def test_api_keys_setting_is_comma_separated(monkeypatch: Any) -> None:
    monkeypatch.setenv("AGGREGATOR_API_KEYS", " alpha, beta ,,")
    assert get_settings().api_keys == ["alpha", "beta"]


def test_the_api_builds_only_what_its_routes_use(settings: Settings) -> None:
    with serve_api(settings, Recorder()) as api:
        assert api.get("/v1/stories").status_code == 200
        assert api.post("/v1/feeds", json={"url": "http://127.0.0.1:9/feed.xml"}).status_code == 201
        assert api.get("/v1/subscriptions").status_code == 200
        assert api.get("/readyz").status_code == 200
        built = set(api.app.state.wiring.__dict__)
    assert {"views", "feeds", "feed_store"} <= built
    assert not {"fetcher", "pipeline", "index", "ingest", "refresh", "deliveries"} & built


def test_malformed_input_is_a_422_never_a_500(api: Api) -> None:
    feed_urls = [
        "http://example.com:99999/feed", "http://example.com:-1/feed", "http://example.com:abc/feed",
        "http://[::1/feed", "http://[zzz]/feed", "http://exa\uff03mple.com/feed", "http://a..b/feed",
        f"http://{'a' * 64}.example/feed", "http://exa mple.com/feed", "http:///feed",
    ]  # fmt: skip
    for url in feed_urls:
        resp = api.post("/v1/feeds", json={"url": url})
        assert resp.status_code == 422 and resp.json()["detail"], url
    for url in ("http://a..b/hook", f"http://{'a' * 64}.example/hook", "http://[::1/hook", "http://x:99999/"):
        resp = api.post("/v1/subscriptions", json={"url": url, "secret": "s" * 16})
        assert resp.status_code == 422 and resp.json()["detail"], url
    for cursor in ("²", "1" * 5000, "9" * 20, "-1", "١٢"):
        resp = api.get("/v1/feeds", params={"cursor": cursor})
        assert resp.status_code == 422 and "cursor" in resp.json()["detail"], cursor[:30]
    for after in ("١٢", "1" * 23, "x-y", "1-2-3"):
        resp = api.get("/v1/events", params={"after": after})
        assert resp.status_code == 422 and resp.json()["detail"], after


def test_a_non_ascii_authorization_header_is_a_401(settings: Settings, celery_app: Any) -> None:
    with serve_api(settings.model_copy(update={"api_keys": ["k" * 16]}), Recorder(celery_app)) as api:
        for value in ("Bearer \u00e9t\u00e9".encode(), b"Bearer \xff\xfe", "B\u00e9arer x".encode("latin-1")):
            resp = api.post(
                "/v1/feeds", json={"url": "http://127.0.0.1:9/f"}, headers={"Authorization": value}
            )
            assert resp.status_code == 401, value


def test_addresses_the_service_would_not_fetch_are_refused_at_once(
    settings: Settings, celery_app: Any
) -> None:
    strict = settings.model_copy(update={"allow_private_hosts": False})
    with serve_api(strict, Recorder(celery_app)) as api:
        for url in ("http://127.0.0.1:9/feed.xml", "http://[64:ff9b::a9fe:a9fe]/feed", "http://[fec0::1]/"):
            resp = api.post("/v1/feeds", json={"url": url})
            assert resp.status_code == 422 and "AGGREGATOR_ALLOW_PRIVATE_HOSTS" in resp.json()["detail"], url
            resp = api.post("/v1/subscriptions", json={"url": url, "secret": "s" * 16})
            assert resp.status_code == 422 and "AGGREGATOR_ALLOW_PRIVATE_HOSTS" in resp.json()["detail"], url
        assert api.get("/v1/feeds").json()["items"] == []


def test_bodies_are_capped_unknown_fields_refused_and_input_never_echoed(
    settings: Settings, celery_app: Any
) -> None:
    small = settings.model_copy(update={"max_request_bytes": 10_000})
    with serve_api(small, Recorder(celery_app)) as api:
        resp = api.post("/v1/feeds", content=b'{"url": "' + b"x" * 20_000 + b'"}')
        assert resp.status_code == 413 and resp.json()["error"] == "TooLarge"
        chunks = iter([b'{"url": "', *([b"x" * 4096] * 8), b'"}'])  # no declared length: chunked
        resp = api.post("/v1/feeds", content=chunks, headers={"Content-Type": "application/json"})
        assert resp.status_code == 413 and resp.json()["error"] == "TooLarge"
        resp = api.post("/v1/feeds", json={"url": "http://127.0.0.1:9/f", "colour": "red"})
        assert resp.status_code == 422 and "colour" in resp.json()["detail"]
        resp = api.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/h", "secret": "hunter2"})
        assert resp.status_code == 422 and "hunter2" not in resp.text and "secret" in resp.json()["detail"]
        resp = api.post("/v1/feeds", json={"url": "u" * 5000})
        assert resp.status_code == 422 and len(resp.content) < 1000 and "uuuu" not in resp.text
        resp = api.get("/v1/nowhere")
        assert resp.status_code == 404 and set(resp.json()) == {"error", "detail"}


def test_subscriptions_are_read_with_a_key_when_keys_are_set(settings: Settings, celery_app: Any) -> None:
    keyed = settings.model_copy(update={"api_keys": ["k" * 16]})
    with serve_api(keyed, Recorder(celery_app)) as api:
        auth = {"Authorization": "Bearer " + "k" * 16}
        body = {"url": "http://127.0.0.1:9/h?token=t0p", "secret": "s" * 16}
        made = api.post("/v1/subscriptions", json=body, headers=auth).json()
        for path in ("/v1/subscriptions", f"/v1/subscriptions/{made['id']}"):
            assert api.get(path).status_code == 401, path
            assert api.get(path, headers=auth).status_code == 200, path


def test_feeds_and_subscriptions_have_a_ceiling(settings: Settings, celery_app: Any) -> None:
    capped = settings.model_copy(update={"max_feeds": 2, "max_subscriptions": 1})
    with serve_api(capped, Recorder(celery_app)) as api:
        for i in range(2):
            assert api.post("/v1/feeds", json={"url": f"http://127.0.0.1:9/f{i}"}).status_code == 201
        resp = api.post("/v1/feeds", json={"url": "http://127.0.0.1:9/f2"})
        assert resp.status_code == 422 and "AGGREGATOR_MAX_FEEDS" in resp.json()["detail"]
        assert api.post("/v1/feeds", json={"url": "http://127.0.0.1:9/f1"}).status_code == 200  # known: fine
        body = {"url": "http://127.0.0.1:9/h", "secret": "s" * 16}
        assert api.post("/v1/subscriptions", json=body).status_code == 201
        resp = api.post("/v1/subscriptions", json=body)
        assert resp.status_code == 422 and "AGGREGATOR_MAX_SUBSCRIPTIONS" in resp.json()["detail"]


def test_feed_urls_that_name_one_feed_are_one_feed(api: Api) -> None:
    first = api.post("/v1/feeds", json={"url": "http://127.0.0.1:9/rss/feed"}).json()
    for same in (
        "http://127.0.0.1.:9/rss/feed",
        "http://127.0.0.1:9/%72ss/feed",
        "HTTP://127.0.0.1:9/rss/feed#x",
        "http://127.0.0.1:9/rss/feed/",
    ):
        resp = api.post("/v1/feeds", json={"url": same})
        assert resp.status_code == 200 and resp.json()["id"] == first["id"], same
    assert api.get("/v1/feeds").json()["items"][0]["url"] == "http://127.0.0.1:9/rss/feed"  # the first given
    assert api.post("/v1/feeds", json={"url": "http://127.0.0.1:9/a\x00b"}).status_code == 422
    v6 = api.post("/v1/feeds", json={"url": "http://[::1]:9/feed"})
    assert v6.status_code == 201 and v6.json()["url"] == "http://[::1]:9/feed"


def test_clients_dripping_their_headers_are_cut_and_health_checks_still_answer(
    settings: Settings, celery_app: Any
) -> None:
    quick = settings.model_copy(update={"api_header_timeout_s": 1.0})
    with serve_api(quick, Recorder(celery_app)) as api:
        port = int(api.base.rsplit(":", 1)[1])
        slow = []
        for _ in range(200):  # each sends part of a request head and then nothing
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(sock)
        try:
            assert api.get("/healthz").status_code == 200
            started = time.monotonic()
            for sock in slow:
                sock.settimeout(5)
                assert sock.recv(100) == b""  # closed by the server, unanswered
            assert time.monotonic() - started < 3
            assert api.get("/healthz").status_code == 200
        finally:
            for sock in slow:
                sock.close()
