"""The reading pages in a real browser: headless Chromium (Debian's `chromium` and `chromedriver`)
driven by Selenium against the running API, a real worker and the fixture site. Skipped, saying why,
where no browser is installed. Screenshots go to test-artifacts/browser/.

Chromium is cut off from everything but loopback: its name lookups fail, and every request for any
other address goes to a recording "proxy" that answers nothing, so a page that tries to load anything
from elsewhere is caught here.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api, wait_for
from tests.fixtures.site import Site

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="no browser: install Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver) to run the browser test",
    ),
]


class Outside:
    """A listener that stands for the rest of the network: it records each request sent to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    line = conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
                except TimeoutError:
                    line = ""
                except OSError as exc:
                    line = f"unreadable request: {exc}"
                if line:  # a connection opened ahead of need (a browser's preconnect) asks for nothing
                    self.seen.append(line)


# Chromium's own calls home (clock, updates, autofill, its start page), whatever page it shows.
_BROWSER_HOSTS = ("google.com", "googleapis.com", "gstatic.com", "duckduckgo.com")


def _browser_own(request_line: str) -> bool:
    target = request_line.split(" ")[1] if " " in request_line else ""
    host = target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host.endswith(_BROWSER_HOSTS)


@pytest.fixture
def outside() -> Iterator[Outside]:
    listener = Outside()
    yield listener
    listener.sock.close()
    pages = [line for line in listener.seen if not _browser_own(line)]
    assert pages == [], "the pages tried to reach beyond the service"


@pytest.fixture
def browser(tmp_path: Path, outside: Outside) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1280,1000",
        # The network unplugged: no name resolves, and every address but loopback meets `outside`.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--proxy-server=http://127.0.0.1:{outside.port}", "--proxy-bypass-list=127.0.0.1",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _local_only(driver: Any, base: str) -> None:
    """Every resource the page loaded came from the service itself (one it was refused, by the page's
    content policy, was never asked for: `outside` checks that)."""
    entries = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => [e.name, e.responseStatus])"
    )
    loaded = [url for url, status in entries if status]
    assert loaded and all(url.startswith(base) for url in loaded), entries


def _shot(driver: Any, name: str, width: int = 1280) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 600), 2400))
    driver.save_screenshot(str(ARTEFACTS / f"{name}.png"))
    driver.set_window_size(1280, 1000)


def test_the_pages_show_the_syndicated_story_and_update_live(
    api: Api, site: Site, worker: Any, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    site.publish_news()
    for outlet in ("wire", "gazette", "courier"):
        assert api.post("/v1/feeds", json={"url": site.feed_url(outlet)}).status_code == 201
    bridge = wait_for(
        lambda: next(
            (
                s
                for s in api.get("/v1/stories", params={"q": "Kestrel"}).json()["items"]
                if s["variant_count"] == 3
            ),
            None,
        )
    )

    browser.get(api.base + "/")
    wait = WebDriverWait(browser, 20)
    wait.until(lambda d: d.find_element(By.ID, "live-state").get_attribute("class") == "live-dot on")
    row = browser.find_element(By.CSS_SELECTOR, f'[data-story-id="{bridge["id"]}"]')
    assert row.find_element(By.CSS_SELECTOR, "[data-count]").text == "3"
    before = len(browser.find_elements(By.CSS_SELECTOR, "#stories > li.story"))
    _local_only(browser, api.base)

    # A fourth outlet arrives while the page is open: its copy grows the story, its own story appears.
    assert api.post("/v1/feeds", json={"url": site.feed_url("daily")}).status_code == 201
    wait.until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, f'[data-story-id="{bridge["id"]}"] [data-count]').text == "4"
        )
    )
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#stories > li.story")) == before + 1)
    assert browser.find_element(By.ID, "new-stories").is_displayed()
    wait.until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, f'[data-story-id="{bridge["id"]}"] [data-sources]').text == "4"
        )
    )
    _shot(browser, "stories")

    # Keyboard only: j moves to the first story, Enter opens it.
    from selenium.webdriver.common.keys import Keys

    browser.find_element(By.TAG_NAME, "body").send_keys("j")
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.ID, "variants"))
    browser.get(f"{api.base}/stories/{bridge['id']}")
    variants = browser.find_elements(By.CSS_SELECTOR, "#variants > li")
    assert len(variants) == 4
    import json

    print(json.dumps(api.get(f"/v1/stories/{bridge['id']}").json(), indent=1)[:6000])
    badges = sorted(v.find_element(By.CSS_SELECTOR, ".badge").text.lower() for v in variants)
    assert badges == ["canonical", "copy", "copy", "copy"]
    assert browser.find_element(By.ID, "canonical-title").text.startswith("Norvale closes Kestrel Bridge")
    # Each copy's retitling is marked against the canonical's headline.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#variants h3 mark")) == 3
    _local_only(browser, api.base)
    _shot(browser, "story")
    _shot(browser, "story-phone", width=390)

    browser.get(api.base + "/feeds")
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr[data-feed-id]")) == 4
    _shot(browser, "feeds")


def test_the_api_docs_render_with_the_network_unplugged(api: Api, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for page, title in (("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")):
        browser.get(api.base + page)
        heading = WebDriverWait(browser, 20).until(lambda d, sel=title: d.find_element(By.CSS_SELECTOR, sel))
        assert heading.text.startswith("News aggregator"), page
        _local_only(browser, api.base)
    browser.get(api.base + "/docs")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
    _shot(browser, "docs")
