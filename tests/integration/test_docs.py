"""The API's documentation works offline and says what the API really does."""

from __future__ import annotations

import re

from tests.conftest import Api


def test_docs_pages_load_every_asset_from_the_service_itself(api: Api) -> None:
    for page in ("/docs", "/redoc"):
        html = api.get(page).text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"url: *'([^']+)'", html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            resp = api.get(asset)
            assert resp.status_code == 200 and len(resp.content) > 100, asset


def test_the_openapi_document_declares_bearer_keys_and_every_error(api: Api) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["Bearer"] == {
        "type": "http", "scheme": "bearer", "description": "An API key of AGGREGATOR_API_KEYS",
    }  # fmt: skip
    add_feed = doc["paths"]["/v1/feeds"]["post"]
    assert add_feed["security"] == [{"Bearer": []}]
    assert {"401", "413", "422", "503"} <= set(add_feed["responses"])
    story = doc["paths"]["/v1/stories/{story_id}"]["get"]
    assert {"404", "422", "503"} <= set(story["responses"]) and "security" not in story
    shape = story["responses"]["404"]["content"]["application/json"]["schema"]
    assert shape == {"$ref": "#/components/schemas/ErrorOut"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    # The documented shape is the one sent, for a route's 404 and for an unknown route alike.
    for path in ("/v1/stories/nope", "/v1/nothing-here"):
        resp = api.get(path)
        assert resp.status_code == 404 and set(resp.json()) == {"error", "detail"}, path
