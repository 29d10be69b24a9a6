"""How the store packs its bulky values into Redis strings: compact, and read back exactly as written.

The index's numbers go as their bytes, not as decimal text: a weight is a float32's 4 bytes or a
float64's 8, whichever holds it exactly (so the in-memory and Redis indexes decide alike), and a term
or sketch hash 4 bytes, where JSON spends 10 to 20 characters on each. Article texts are deflated.
Bytes travel as base64, which the client's text decoding passes unchanged.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Mapping, Sequence

from aggregator.core.terms import term_hash

# Deflate's level 6 (its default) packs news text to 35-45 % at a small part of level 9's time.
_TEXT_LEVEL = 6
# A packed text starts so (`lua/stories_page.lua` knows it too); a text stored before texts were packed
# does not, or does not unpack.
_TEXT_MARK = "z:"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# 64 characters in ascending ASCII order: a number written with them sorts as the number does.
_REF_DIGITS = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
_HEX = frozenset("0123456789abcdef")


def ref(article_id: str) -> str:
    """How the index's buckets and record keys name an article, 64 times an article: an id of the
    service's own form ("a" and 16 hex digits, `core.identity`) in 11 characters that sort as the id
    does (ties between candidates go by id), any other id as it is."""
    if len(article_id) != 17 or article_id[0] != "a" or not _HEX.issuperset(article_id[1:]):
        return article_id
    n, digits = int(article_id[1:], 16), []
    for _ in range(11):
        n, d = divmod(n, 64)
        digits.append(_REF_DIGITS[d])
    return "".join(reversed(digits))


def pack_terms(weights: Mapping[int, float]) -> list[str]:
    """[the terms, their weights], both as bytes: a vector, centroid or summary, its order kept. Terms
    are their 32-bit hashes (`terms.term_hash`); the weights go as float32 when each is one exactly
    (an article's vector, `core.fingerprint`), else as float64."""
    values = list(weights.values())
    try:
        data = struct.pack(f"<{len(values)}f", *values)
        exact = list(struct.unpack(f"<{len(values)}f", data)) == values
    except OverflowError:  # past float32's range
        exact = False
    if not exact:
        data = struct.pack(f"<{len(values)}d", *values)
    return [_b64(struct.pack(f"<{len(values)}I", *weights)), _b64(data)]


def unpack_terms(packed: Sequence[str] | Mapping[str, float]) -> dict[int, float]:
    """Also reads the JSON object of words an entry held before entries were packed, as the same terms."""
    if isinstance(packed, Mapping):
        return {term_hash(word): w for word, w in packed.items()}
    terms, weights = packed
    keys = base64.b64decode(terms)
    n, data = len(keys) // 4, base64.b64decode(weights)
    values = struct.unpack(f"<{n}{'f' if len(data) == 4 * n else 'd'}", data)
    return dict(zip(struct.unpack(f"<{n}I", keys), values, strict=True))


def pack_sketch(sketch: Sequence[int]) -> str:
    """The sketch's 32-bit hashes (`core.fingerprint`), 4 bytes each."""
    return _b64(struct.pack(f"<{len(sketch)}I", *sketch))


def unpack_sketch(packed: str | Sequence[int]) -> tuple[int, ...]:
    """Also reads the JSON list a record held before records were packed."""
    if not isinstance(packed, str):
        return tuple(packed)
    data = base64.b64decode(packed)
    return struct.unpack(f"<{len(data) // 4}I", data)


def pack_text(text: str) -> str:
    """A long text deflated; a short one as it is (deflate and base64 would make it longer)."""
    if len(text) < 200 and not text.startswith(_TEXT_MARK):
        return text
    return _TEXT_MARK + _b64(zlib.compress(text.encode(), _TEXT_LEVEL))


def unpack_text(stored: str | None) -> str:
    """The text `pack_text` packed, or a text stored before texts were packed, as it was."""
    if not stored or not stored.startswith(_TEXT_MARK):
        return stored or ""
    try:
        return zlib.decompress(base64.b64decode(stored[len(_TEXT_MARK) :], validate=True)).decode()
    except (ValueError, zlib.error):
        return stored  # an unpacked text that happens to start with the mark


def unpack_head(stored: str, most: int) -> str:
    """At most the first `most` bytes of a text, from the start of its stored form as
    `lua/stories_page.lua` sends it for the story list's snippet, a character cut at the end left out.
    Only that much is inflated: a page of the list does this fifty times."""
    if not stored.startswith(_TEXT_MARK):
        return stored
    body = stored[len(_TEXT_MARK) :]
    try:
        data = base64.b64decode(body[: len(body) // 4 * 4], validate=True)
        return zlib.decompressobj().decompress(data, most).decode(errors="ignore")
    except (ValueError, zlib.error):
        return stored
