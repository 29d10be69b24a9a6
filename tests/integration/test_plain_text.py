"""What the API serves is plain text: a hostile feed's markup, scripts and `javascript:` links, raw or
escaped once or twice over, never come back out, while the words around them do."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Api, wait_for
from tests.fixtures.site import Site

FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>&lt;b&gt;Hostile&lt;/b&gt; Herald<![CDATA[<script>alert('feed')</script>]]></title>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt;Harbour ferry
&amp;lt;img src=x onerror=alert(2)&amp;gt;returns</title>
<link>{base}/hostile/ferry.html</link><author>&lt;i&gt;Ada&lt;/i&gt; Quill</author>
<description>&lt;a href="javascript:alert(3)"&gt;The ferry&lt;/a&gt; sails again.</description></item>
<item><title>Lighthouse keeper retires</title><link>javascript:alert(4)</link>
<guid isPermaLink="false">lh-1</guid>
<description>A link that is not a link.</description></item>
</channel></rss>"""

PAGE = """<!doctype html><html><head><title>Ferry</title><script>alert('head')</script>
<style>body {{ background: url("javascript:alert(5)") }}</style></head><body><article>
<h1>Harbour ferry returns</h1>
<p onclick="alert(6)">The harbour ferry to Skellig Point sailed again on Monday after a winter of repairs
to its hull and engines, the operator said.</p>
<p>Passengers wrote &lt;script&gt;alert(7)&lt;/script&gt; on the welcome board, and
<a href="javascript:alert(8)">a link</a> to the timetable &amp;lt;iframe src=x&amp;gt; was shared widely.</p>
<p>Crossings run every hour from seven in the morning until nine at night through the summer season.</p>
<img src="x" onerror="alert(9)"><script>alert(10)</script>
</article></body></html>"""

MARKUP = (
    "<script",
    "</script",
    "<img",
    "<a ",
    "<iframe",
    "<b>",
    "<i>",
    "onerror",
    "onclick",
    "javascript:",
    "alert(",
)


def _json_text(resp: Any) -> str:
    assert resp.headers["content-type"].startswith("application/json")
    return json.dumps(resp.json(), ensure_ascii=False)


def test_markup_and_script_links_never_come_back_out(api: Api, site: Site, worker: Any) -> None:
    site.set("/hostile/feed.xml", FEED.format(base=site.base), ctype="application/rss+xml")
    site.set("/hostile/ferry.html", PAGE)
    feed = api.post("/v1/feeds", json={"url": f"{site.base}/hostile/feed.xml"}).json()
    items = wait_for(lambda: api.get("/v1/stories").json()["items"])
    served = [_json_text(api.get("/v1/stories")), _json_text(api.get("/v1/feeds"))]
    served += [_json_text(api.get(f"/v1/stories/{s['id']}")) for s in items]
    served.append(_json_text(api.get(f"/v1/feeds/{feed['id']}")))
    everything = "\n".join(served)
    for bad in MARKUP:
        assert bad not in everything.lower(), bad
    story = api.get(f"/v1/stories/{items[0]['id']}").json()
    canonical = story["canonical"]
    assert canonical["title"] == "Harbour ferry returns"
    assert "Skellig Point sailed again" in canonical["text"]
    assert "on the welcome board" in canonical["text"]
    assert canonical["url"] == f"{site.base}/hostile/ferry.html"
    # The entry whose only link was javascript: is not stored: nothing to fetch, nothing to follow.
    assert [s["title"] for s in items] == ["Harbour ferry returns"]
