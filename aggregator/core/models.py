"""Plain values that flow through the pipeline. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Relation(StrEnum):
    CANONICAL = "canonical"
    COPY = "copy"  # the same text republished: other furniture, headline prefix, trimmed ending
    REWRITE = "rewrite"  # the same story told again in other words


class Extraction(StrEnum):
    PAGE = "page"  # text extracted from the article page
    SUMMARY = "summary"  # page unavailable or empty: the feed entry's summary stands in


@dataclass(frozen=True)
class Entry:
    """One item of a parsed feed."""

    article_id: str
    url: str
    guid: str | None
    title: str
    summary: str
    published: float | None
    author: str | None
    source_name: str | None  # RSS <source>: the outlet a syndicated item credits


@dataclass(frozen=True)
class Article:
    """A clean article, ready to fingerprint."""

    id: str
    url: str
    feed_id: str
    title: str
    text: str
    source: str
    published: float | None
    fetched: float
    author: str | None = None
    extraction: Extraction = Extraction.PAGE
    credits: tuple[str, ...] = ()


@dataclass(frozen=True)
class Features:
    """What the clustering compares: derived from an Article by `core.text` and `core.fingerprint`."""

    # content word -> TF-IDF weight: the heaviest `fingerprint.TOP_TERMS`, heaviest first, made unit
    # length. What the cosine, the story centroid and the split check compare.
    vector: dict[str, float]
    keywords: tuple[str, ...]  # the most distinctive terms: what the LSH index hashes
    bands: tuple[int, ...]  # LSH band keys of the keywords' MinHash
    shingle_sig: tuple[int, ...]  # bottom-k sketch of the body's 3-word shingles: copy detection
    length: int  # words in the body


@dataclass(frozen=True)
class Decision:
    """The clustering decision for one article."""

    story_id: str
    relation: Relation
    score: float
    matched_article: str | None
    signals: tuple[str, ...] = field(default=())

    @property
    def new_story(self) -> bool:
        return self.matched_article is None


@dataclass(frozen=True)
class Feed:
    id: str
    url: str
    title: str | None
    created: float
    next_due: float | None = None
    last_fetched: float | None = None
    last_status: str | None = None  # "ok", "not_modified", "error"
    last_error: str | None = None  # None when the last fetch went well
    errors: int = 0  # consecutive failures: drives the backoff
    etag: str | None = None
    last_modified: str | None = None
