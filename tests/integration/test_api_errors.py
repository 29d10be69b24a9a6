"""The API's error contract: 404 for unknown ids, 422 for bad input, both with a JSON body."""

from __future__ import annotations

from tests.conftest import Api


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
