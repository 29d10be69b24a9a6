"""Stable ids: the same URL always names the same feed or article, whoever fetches it and when."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aggregator.errors import InvalidInput

# Query parameters that track the reader, not the page: two URLs differing only in them are one page.
_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ref", "cmpid", "ocid", "rss")


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no default port, no tracking parameters, sorted query."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"not an http(s) URL: {url!r}")
    host = parts.hostname.lower()
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    netloc = host if parts.port in (None, default) else f"{host}:{parts.port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING)
    )
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


def _digest(value: str) -> str:
    return hashlib.sha1(value.encode()).hexdigest()[:16]


def feed_id(url: str) -> str:
    return "f" + _digest(normalise_url(url))


def article_id(url: str | None, guid: str | None) -> str:
    """An article is its normalised URL; a GUID stands in only where the entry has no usable link."""
    if url:
        try:
            return "a" + _digest(normalise_url(url))
        except InvalidInput:
            pass
    if guid:
        return "a" + _digest("guid:" + guid.strip())
    raise InvalidInput("entry has neither a link nor a guid")
