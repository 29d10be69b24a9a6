"""OPML subscription lists, the format feed readers import and export: read with listparser, written
with the standard library's ElementTree.

listparser, like feedparser, is always handed bytes: given a string it would take it for a URL or a
path and read it itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, tostring

import listparser

from aggregator.core.models import Feed
from aggregator.core.text import plain_line
from aggregator.errors import ParseError

MAX_CATEGORY = 200  # characters of a category path: folders, not prose


@dataclass(frozen=True)
class Listed:
    """A feed as a subscription list names it."""

    url: str
    title: str | None
    category: str | None  # nested folders joined with "/": "News/World"


def category_path(folders: Iterable[str]) -> str | None:
    """Folder names as one category, "/" between them; None for none."""
    names = [plain_line(name).replace("/", "-") for name in folders]
    return "/".join(name for name in names if name)[:MAX_CATEGORY] or None


def read_opml(body: bytes) -> list[Listed]:
    """The feeds of an OPML document with their titles and folders; ParseError for anything else."""
    result = listparser.parse(body)
    if not result.get("version"):
        why = f": {result.bozo_exception}" if result.bozo else ""
        raise ParseError(f"not an OPML document{why}")
    listed = []
    for feed in result.feeds:
        folders = feed.categories[0] if feed.categories else ()
        url = str(feed.url).strip()
        title = plain_line(feed.get("title") or "")[:500]
        listed.append(Listed(url, title if title and title != url else None, category_path(folders)))
    return listed


def write_opml(feeds: Iterable[Feed], title: str) -> bytes:
    """An OPML 2.0 document of `feeds`, each category a folder (nested by its "/"s)."""
    root = Element("opml", version="2.0")
    SubElement(SubElement(root, "head"), "title").text = title
    body = SubElement(root, "body")
    folders: dict[str, Element] = {}

    def folder(path: str) -> Element:
        if path not in folders:
            parent, _, name = path.rpartition("/")
            folders[path] = SubElement(folder(parent) if parent else body, "outline", text=name, title=name)
        return folders[path]

    for feed in feeds:
        name = feed.title or feed.url
        parent = folder(feed.category) if feed.category else body
        SubElement(parent, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
    return tostring(root, encoding="utf-8", xml_declaration=True)
