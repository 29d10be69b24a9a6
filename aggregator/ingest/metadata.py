"""What a page says of itself in its head: its title, its site's name and its author, read from the
`<title>` and `<meta>` tags with no parse of the whole document; and its date, found by htmldate, only
when asked (the feed entry's date comes first, and date finding costs more than the rest of it).

trafilatura's own metadata pass reads all of these and more, at several times the cost of extracting
the text; the service uses only these, so it asks trafilatura for the text alone.
"""

from __future__ import annotations

import html as entities
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import htmldate

log = logging.getLogger(__name__)

HEAD_CHARS = 200_000  # where a page's head ends at the latest
_META = re.compile(r"<meta\s[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class PageMeta:
    title: str | None
    site_name: str | None
    author: str | None


def page_meta(page: str) -> PageMeta:
    head = page[:HEAD_CHARS]
    metas: dict[str, str] = {}
    for tag in _META.findall(head):
        attrs = {k.lower(): next(v for v in vs if v) if any(vs) else "" for k, *vs in _ATTR.findall(tag)}
        name = (attrs.get("property") or attrs.get("name") or "").lower()
        if name and "content" in attrs:
            metas.setdefault(name, entities.unescape(attrs["content"]).strip())
    site = metas.get("og:site_name") or metas.get("application-name") or None
    title = metas.get("og:title") or _title(head, site)
    author = metas.get("author") or metas.get("article:author") or None
    return PageMeta(title or None, site, author)


def _title(head: str, site: str | None) -> str | None:
    found = _TITLE.search(head)
    if not found:
        return None
    title = " ".join(entities.unescape(found.group(1)).split())
    if site:  # "Headline | Site", "Headline - Site": the headline
        for sep in (" | ", " - ", " – ", " — "):
            if title.endswith(sep + site):
                return title[: -len(sep + site)]
    return title


def page_date(page: str) -> float | None:
    """The page's publication date, or None: htmldate's quick search, original date first."""
    try:
        found = htmldate.find_date(page[: HEAD_CHARS * 5], extensive_search=False, original_date=True)
    except Exception as exc:  # htmldate raises assorted parser errors on broken markup
        log.info("no date found on a page: %r", exc)
        return None
    if not found:
        return None
    try:
        day = datetime.fromisoformat(found)
    except ValueError:
        return None
    return (day if day.tzinfo else day.replace(tzinfo=UTC)).timestamp()  # a bare date: that day in UTC
