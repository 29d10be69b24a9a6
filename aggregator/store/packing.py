"""How the store packs its bulky values into Redis strings: compact, and read back exactly as written.

The index's numbers go as their bytes, not as decimal text: a weight is a float32's 4 bytes or a
float64's 8, whichever holds it exactly (so the in-memory and Redis indexes decide alike), and a term
or sketch hash 4 bytes, where JSON spends 10 to 20 characters on each. Article texts are deflated.

Values go to Redis as raw bytes. The clients decode replies as UTF-8 with `surrogateescape`
(`store/connection.py`), which keeps every byte that is not UTF-8 as a stand-in character: a packed
value reads back as such a string, and `raw` turns it into its bytes again. Values packed as base64,
as the store once wrote them, still read.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from collections.abc import Mapping, Sequence

from aggregator.core.terms import term_hash

# Deflate's level 6 (its default) packs news text to 35-45 % at a small part of level 9's time.
_TEXT_LEVEL = 6
# Deflate's stream at that level starts with these two bytes, which no UTF-8 text holds (0x9C cannot
# follow an ASCII character): a stored text that starts so is packed (`lua/text_heads.lua` knows it
# too). The base64 form texts were once packed in started with "z:".
TEXT_MARK = b"\x78\x9c"
_OLD_TEXT_MARK = "z:"
# A packed term list starts with the struct format of its weights: the narrowest that holds each
# exactly, so that the in-memory and Redis indexes decide alike.
_WIDTHS = {b"e": 2, b"f": 4, b"d": 8}


def raw(value: str | bytes) -> bytes:
    """A value as the bytes Redis holds: a reply string decoded with surrogateescape, encoded back."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


REF_CHARS = 8  # the length of a ref of the service's own ids
# 64 characters in ascending ASCII order: a number written with them sorts as the number does.
_REF_DIGITS = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
_HEX = frozenset("0123456789abcdef")


def ref(item_id: str) -> str:
    """How the index names an article (its buckets and entry keys, 64 times an article) or a story (its
    archive entries, a dozen times a story): an id of the service's own forms ("a" and 16 hex digits
    for an article, `core.identity`; "s" and an article's id for a story) by the first 48 bits of its
    hex digits, in 8 characters that sort as the ids do (ties between candidates go by id), any other
    id as it is. Two articles of one story window share a ref about once in 2**49 / n**2 windows of n
    articles (once in 6,000 windows of 300,000): the later one's entry takes the place of the earlier,
    which is no longer found; and so for stories in the archive."""
    hex_digits = item_id[2:] if item_id[:2] == "sa" else item_id[1:] if item_id[:1] == "a" else ""
    if len(hex_digits) != 16 or not _HEX.issuperset(hex_digits):
        return item_id
    n, digits = int(hex_digits, 16) >> 16, []
    for _ in range(REF_CHARS):
        n, d = divmod(n, 64)
        digits.append(_REF_DIGITS[d])
    return "".join(reversed(digits))


def pack_terms(weights: Mapping[int, float]) -> bytes:
    """A vector, centroid or summary, its order kept: the format of its weights, its terms (their
    32-bit hashes, `terms.term_hash`), then its weights, as float16 when each is one exactly (an
    article's vector, `core.fingerprint`), else float32 if that holds them, else float64."""
    values, n = list(weights.values()), len(weights)
    for width in (b"e", b"f"):
        try:
            data = struct.pack(f"<{n}{width.decode()}", *values)
        except OverflowError:  # past the format's range
            continue
        if list(struct.unpack(f"<{n}{width.decode()}", data)) == values:
            break
    else:
        width, data = b"d", struct.pack(f"<{n}d", *values)
    return width + struct.pack(f"<{n}I", *weights) + data


def unpack_terms(packed: str | bytes | Sequence[str] | Mapping[str, float]) -> dict[int, float]:
    """Also reads the two base64 strings and the JSON object of words that entries once held."""
    if isinstance(packed, Mapping):
        return {term_hash(word): w for word, w in packed.items()}
    if isinstance(packed, (str, bytes)):
        data = raw(packed)
        width = data[:1]
        n = (len(data) - 1) // (4 + _WIDTHS[width])
        keys, weights = data[1 : 1 + 4 * n], data[1 + 4 * n :]
        return dict(
            zip(struct.unpack(f"<{n}I", keys), struct.unpack(f"<{n}{width.decode()}", weights), strict=True)
        )
    keys, weights = (base64.b64decode(part) for part in packed)
    n = len(keys) // 4
    values = struct.unpack(f"<{n}{'f' if len(weights) == 4 * n else 'd'}", weights)
    return dict(zip(struct.unpack(f"<{n}I", keys), values, strict=True))


def pack_sketch(sketch: Sequence[int]) -> bytes:
    """The sketch's 32-bit hashes (`core.fingerprint`), 4 bytes each."""
    return struct.pack(f"<{len(sketch)}I", *sketch)


def unpack_sketch(packed: str | bytes, old: bool = False) -> tuple[int, ...]:
    """`old`: the base64 form records once held."""
    data = base64.b64decode(packed) if old else raw(packed)
    return struct.unpack(f"<{len(data) // 4}I", data)


def pack_text(text: str) -> str | bytes:
    """A long text deflated; a short one as it is (deflate would make it longer) unless it starts as
    texts were once packed."""
    if len(text) < 200 and not text.startswith(_OLD_TEXT_MARK):
        return text
    return zlib.compress(text.encode(), _TEXT_LEVEL)


def unpack_text(stored: str | bytes | None) -> str:
    """The text `pack_text` packed, or a text stored before texts were packed, as it was."""
    if not stored:
        return ""
    data = raw(stored)
    try:
        if data.startswith(TEXT_MARK):
            return zlib.decompress(data).decode()
        if data.startswith(_OLD_TEXT_MARK.encode()):
            return zlib.decompress(base64.b64decode(data[len(_OLD_TEXT_MARK) :], validate=True)).decode()
    except (ValueError, zlib.error):
        pass  # an unpacked text that happens to start with the old mark
    return data.decode("utf-8", "replace")


def unpack_head(stored: str | bytes, most: int) -> str:
    """At most the first `most` bytes of a text, from the start of its stored form as
    `lua/text_heads.lua` sends it for the story list's snippet, a character cut at the end left out.
    Only that much is inflated: a page of the list does this fifty times."""
    data = raw(stored)
    if data.startswith(_OLD_TEXT_MARK.encode()):
        body = data[len(_OLD_TEXT_MARK) :]
        try:
            data = base64.b64decode(body[: len(body) // 4 * 4], validate=True)
        except ValueError:
            return data.decode("utf-8", "replace")
    elif not data.startswith(TEXT_MARK):
        return data.decode("utf-8", "replace")
    try:
        return zlib.decompressobj().decompress(data, most).decode(errors="ignore")
    except zlib.error:
        return data.decode("utf-8", "replace")


def digest(*parts: str) -> str:
    """A short name for some texts, which tells that one of them changed (64 bits of BLAKE2b)."""
    h = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
    return base64.b64encode(h).decode()[:11]
