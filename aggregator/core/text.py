"""Text normalisation: clean text, tokens, content words, credits. Pure functions of strings.

Page furniture (related lists, teasers) is cut in `core.furniture`."""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from itertools import chain

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

# Small English stop list: words that say nothing about which event a text reports.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves said says say told according new
    one two three year years last first since many much may might must per still well would yet via
    amid among across upon however including include includes included mr mrs ms dr st de la le les
    el del der die das und monday tuesday wednesday thursday friday saturday sunday today yesterday
    tomorrow week day time
    """.split()  # noqa: SIM905
)


@functools.cache
def stop_words(language: str) -> frozenset[str]:
    """A language's stop words (ISO 639-1 code): the list above for English, stopwords-iso's for the
    others it has, none for a language it lacks."""
    if language == "en":
        return STOPWORDS
    import stopwordsiso  # only when another language is first met: it reads its lists at import

    return frozenset(stopwordsiso.stopwords(language)) if stopwordsiso.has_lang(language) else frozenset()


# Credits that name the wire an outlet copied: the canonical policy prefers the original. Each pattern
# comes with words one of which every match holds: it is searched only when one is in the text (a
# substring test costs a hundredth of a search). A case-blind pattern's words are looked for in the
# lower-cased text.
_CREDIT_PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "Reuters",
        ("Reuters", "REUTERS", "Reporting by"),
        re.compile(r"\(Reuters\)|/\s*REUTERS\b|\bReuters\s*[-–—]|\bReporting by\b"),
    ),
    ("AP", ("(AP)", "Associated Press"), re.compile(r"\(AP\)|\bAssociated Press\b")),
    ("AFP", ("AFP", "Agence France-Presse"), re.compile(r"\(AFP\)|\bAFP\s*[-–—]|\bAgence France-Presse\b")),
    ("ANI", ("ani",), re.compile(r"\(ANI\)|\bbased on ANI report\b|\bANI\s*[-–—]", re.IGNORECASE)),
    ("IBNS", ("IBNS",), re.compile(r"\bIBNS\b")),
    ("PTI", ("PTI",), re.compile(r"\(PTI\)|\bPTI\s*[-–—]")),
)
# Any other wire in a dateline, as agencies open their stories: "NORVALE (Meridian Wire) - ...".
_DATELINE = re.compile(r"(?m)^[A-Z][A-Z .,'’-]{1,40} \(([A-Z][A-Za-z&.' -]{1,40})\)\s*[-–—:]")


# A tag, comment or declaration: "<" followed by a letter, "/", "!" or "?". A bare "<" as in "3 < 5"
# is text and stays. An unclosed tag runs to the end of its line, as a browser would take it.
_TAG = re.compile(r"<[A-Za-z/!?][^>\n]*>?")
# Script and style elements go with their content: it is code, not text. Unclosed, they run to the end,
# as a browser would take them.
_CODE = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
# A run of blanks other than one plain space (`_HIDDEN` has removed the other control characters by
# then). The expression is tried at every character, which costs more than the rest of `plain_text`: it
# only runs on a text that has such a run.
_SPACES = re.compile(r"[ \t]{2,}|\t")


# Control characters (but tab and newline) and the bidirectional embeddings, overrides and isolates,
# which can make a title display as something else than it says.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def plain_text(value: str) -> str:
    """Plain text with no markup left in it, even markup escaped once or twice over ("&amp;lt;script&amp;gt;"
    is a tag to whoever unescapes it for display). Paragraph breaks are kept."""
    for _ in range(4):
        unescaped = html.unescape(_TAG.sub(" ", _CODE.sub(" ", value)))
        if unescaped == value:
            break
        value = unescaped
    value = _TAG.sub(" ", _CODE.sub(" ", value))  # whatever a fifth level of escaping left
    value = _HIDDEN.sub("", value)
    if "  " in value or "\t" in value:
        value = _SPACES.sub(" ", value)
    return "\n".join(line.strip() for line in value.split("\n")).strip()


def plain_line(value: str) -> str:
    """`plain_text` on one line: titles and names."""
    return " ".join(plain_text(value).split())


def normalise(text: str) -> str:
    """NFKC and typographic quotes folded: what the fingerprints read. Whitespace is left as it is:
    tokens ignore it and the furniture headings allow it."""
    text = unicodedata.normalize("NFKC", text)
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').strip()


def stem(word: str) -> str:
    """A light suffix strip so that "sanctions"/"sanction" and "Canada's"/"Canada" meet."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def term(word: str) -> str:
    """The stemmed content word for a lower-cased word, or "" for stop words, numbers, single letters.
    Callers keep what it found per word (`terms.Vocabulary`, `_written`): news vocabulary repeats."""
    if len(word) < 2 or word in STOPWORDS or word.isdigit():
        return ""
    s = stem(word)
    return "" if s in STOPWORDS else s


def any_term(word: str) -> str:
    """The stemmed word for a lower-cased word in any language, or "" for numbers and single letters:
    stop words are left to each language's list (`terms.Vocabulary.stops`)."""
    return "" if len(word) < 2 or word.isdigit() else stem(word)


def terms(words: list[str]) -> list[str]:
    """`term` of each lower-cased word. Only a word ending in "s" can be stemmed, so the others, most
    words, are decided inline, with no call per word: a new batch's thousands of new words."""
    stop = STOPWORDS
    return [term(w) if w[-1:] == "s" else "" if len(w) < 2 or w in stop or w.isdigit() else w for w in words]


def tokens(text: str) -> list[str]:
    """Word tokens as written (case kept): runs of letters and digits, with one inner apostrophe. Scripts
    written without spaces between words (Chinese, Japanese, Thai...) give overlapping character pairs:
    a word segmentation that needs no dictionary, and what most search engines index them by."""
    if not text.isascii():
        found = _WORD.findall(text)
        return list(chain.from_iterable(map(_segmented, found))) if _UNSPACED.search(text) else found
    # ASCII text, most news: a byte-table pass and a split, the same tokens as the regex in a
    # fraction of its time. An apostrophe stays only between two word characters.
    data = text.encode().translate(_ASCII_SEPARATORS)
    if b"'" in data:
        data = b" " + data + b" "
        while True:  # blank every apostrophe that touches a space or another apostrophe
            lone = data.replace(b" '", b"  ").replace(b"' ", b"  ").replace(b"''", b"  ")
            if lone == data:
                break
            data = lone
        if _TWO_APOSTROPHES.search(data):  # "rock'n'roll": the regex's own split, rare enough
            return _WORD.findall(text)
    return data.decode().split()


_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
)  # Thai, Lao, Myanmar, Khmer, kana, CJK ideographs


def _segmented(token: str) -> list[str]:
    """A token with runs of an unspaced script cut into character pairs (a lone character stays)."""
    if not _UNSPACED.search(token):
        return [token]
    out, pos = [], 0
    for m in _UNSPACED.finditer(token):
        if m.start() > pos:
            out.append(token[pos : m.start()])
        run = m.group()
        out += [run[i : i + 2] for i in range(len(run) - 1)] or [run]
        pos = m.end()
    if pos < len(token):
        out.append(token[pos:])
    return out


_TWO_APOSTROPHES = re.compile(rb"'[A-Za-z0-9]+'")
# Every ASCII byte that is not a letter, a digit or an apostrophe becomes a space.
_ASCII_SEPARATORS = bytes(c if chr(c).isalnum() or c == ord("'") else ord(" ") for c in range(256))


def names_of(tokens: list[str]) -> frozenset[str]:
    """The terms of the names among some tokens: words written capitalised and never lower-case there."""
    seen = list(map(_written, set(tokens)))
    lower = {lw for lw, _, upper in seen if not upper}
    return frozenset(t for lw, t, upper in seen if upper and t and lw not in lower)


# Bounded, as a stream keeps bringing new names; news vocabulary repeats, so most words are found here.
@functools.lru_cache(maxsize=100_000)
def _written(w: str) -> tuple[str, str, bool]:
    """A token as written -> (lower-cased, its term, whether it starts with a capital)."""
    lw = w.lower()
    return lw, term(lw), w[0].isupper()


def credits(text: str, source_name: str | None = None) -> tuple[str, ...]:
    """Wire services the text credits: the known ones in a fixed order, then any other a dateline names,
    then `source_name` (the RSS <source> element)."""
    lowered = text.lower()
    found = [
        name
        for name, words, pattern in _CREDIT_PATTERNS
        if any(w in (lowered if pattern.flags & re.IGNORECASE else text) for w in words)
        and pattern.search(text)
    ]
    found += [name.strip() for name in _DATELINE.findall(text[:5000])]
    if source_name:
        found.append(source_name.strip())
    return tuple(dict.fromkeys(found))
