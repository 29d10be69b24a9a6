"""The API's error contract: 404 for unknown ids, 422 for bad input, 401 for writes without a key."""

from __future__ import annotations

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
