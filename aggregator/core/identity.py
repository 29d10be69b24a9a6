"""Stable ids: the same URL always names the same feed or article, whoever fetches it and when."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aggregator.errors import InvalidInput

# Query parameters that track the reader, not the page: two URLs differing only in them are one page.
_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ref", "cmpid", "ocid", "rss")


# A host name's labels once IDNA-encoded: letters, digits, hyphens (and underscores, which some real
# hosts have), with an optional final dot.
_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")


_ESCAPE = re.compile("%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _unescape(m: re.Match[str]) -> str:
    char = chr(int(m.group(1), 16))
    return char if char in _UNRESERVED else m.group(0).upper()


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no default port, no tracking parameters, sorted query.
    InvalidInput, saying what is wrong, for anything that is not a fetchable http(s) URL."""
    url = url.strip()
    if any(ord(c) < 32 or c == "\x7f" for c in url):
        raise InvalidInput("a URL may not contain control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port out of range or not a number, a broken IPv6 literal
        raise InvalidInput(f"not a valid URL ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput("not an http(s) URL")
    host = parts.hostname.lower()
    try:
        if ":" not in host:  # an IPv6 literal is no name to encode
            ascii_host = host.encode("idna").decode()
    except UnicodeError as exc:  # an empty label, a label over 63 characters
        raise InvalidInput(f"not a valid host name: {exc}") from exc
    if ":" not in host and not _HOST.fullmatch(ascii_host):
        raise InvalidInput(f"not a valid host name: {host!r}")
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    host = host.rstrip(".")  # "example.com." is example.com
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    netloc = host if port in (None, default) else f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING)
    )
    # Percent-escapes of unreserved characters mean the characters themselves ("%72ss" is "rss"); the
    # others are kept, in upper case.
    path = _ESCAPE.sub(_unescape, parts.path) or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


def _digest(value: str) -> str:
    return hashlib.sha1(value.encode()).hexdigest()[:16]


def _identity(url: str) -> str:
    """What makes two URLs one feed or one page: their normal forms, less a trailing "/" on a path that
    has more than one. Servers answer both forms alike, and people type either; the URL fetched stays
    the one given."""
    scheme, netloc, path, query, _ = urlsplit(normalise_url(url))
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


def feed_id(url: str) -> str:
    return "f" + _digest(_identity(url))


def article_id(url: str) -> str:
    """An article is its normalised URL (InvalidInput for a link that is not a fetchable URL): two feeds
    carrying one page give it one id whatever their GUIDs."""
    return "a" + _digest(_identity(url))
