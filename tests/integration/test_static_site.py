"""The benchmarks' in-memory site answers as a web server would: what was set, 404 for the rest, and
several requests on one connection."""

from __future__ import annotations

import httpx

from tests.benchmarks.static_site import StaticSite


def test_static_site_serves_what_was_set_on_one_connection() -> None:
    site = StaticSite()
    try:
        site.set("/a.html", "<p>café</p>")
        site.set("/feed.xml", "<rss/>", ctype="application/rss+xml")
        with httpx.Client() as client:
            pages = [client.get(f"{site.base}/a.html") for _ in range(3)]
            assert [(r.status_code, r.text) for r in pages] == [(200, "<p>café</p>")] * 3
            # one connection: the same local address for all three
            assert len({r.extensions["network_stream"].get_extra_info("client_addr") for r in pages}) == 1
            assert pages[0].headers["content-type"] == "text/html; charset=utf-8"
            assert client.get(f"{site.base}/feed.xml").headers["content-type"] == "application/rss+xml"
            assert client.get(f"{site.base}/missing").status_code == 404
            assert client.post(f"{site.base}/a.html", content=b"x" * 10).status_code == 405
            assert client.get(f"{site.base}/a.html").status_code == 200  # on a new connection
    finally:
        site.shutdown()
