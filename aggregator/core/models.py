"""Plain values that flow through the pipeline. A leaf: it imports nothing of the project."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

# A story's centroid: term (its hash, `terms.term_hash`) -> summed unit-vector weight of its variants
# (`core/centroid.py`).
Centroid = Mapping[int, float]


class Relation(StrEnum):
    CANONICAL = "canonical"
    COPY = "copy"  # the same text republished: other furniture, headline prefix, trimmed ending
    REWRITE = "rewrite"  # the same story told again in other words


class Extraction(StrEnum):
    PAGE = "page"  # text extracted from the article page
    SUMMARY = "summary"  # page unavailable or empty: the feed entry's summary stands in
    FAILED = "failed"  # the page gave text that is not the article (the site's name as title, too short)


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
    language: str | None = None  # the feed's declared language, ISO 639-1


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
    extraction_error: str | None = None  # why the page gave no text, when the summary stands in
    credits: tuple[str, ...] = ()
    language: str = "en"  # ISO 639-1: which stop words it has


@dataclass(frozen=True)
class Features:
    """What the clustering compares: derived from an Article by `core.text` and `core.fingerprint`."""

    # content word -> TF-IDF weight: the heaviest `fingerprint.TOP_TERMS`, heaviest first, made unit
    # length. What the cosine, the story centroid and the split check compare.
    vector: dict[int, float]
    keywords: tuple[int, ...]  # the most distinctive terms (their hashes): what the LSH index hashes
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
class Record:
    """One indexed article: enough to find it (bands), name its story, and tell a copy of it."""

    article_id: str
    story_id: str
    shingle_sig: tuple[int, ...]
    bands: tuple[int, ...]
    time: float


class Candidate(NamedTuple):
    """A record a search found, with the number of bands it shares with the searched article as the
    buckets hold it (a bucket that dropped it for newer entries no longer counts)."""

    record: Record
    shared: int


@dataclass(frozen=True)
class Summary:
    """A story as the archive of long-running stories keeps it, for follow-ups that come after its
    window closed: the heaviest terms of its centroid, bounded in number."""

    story_id: str
    terms: Mapping[int, float]
    latest: str  # its newest article: what a follow-up is matched to
    time: float  # when that article came


@dataclass(frozen=True)
class Lookup:
    """What an index proposes for a batch: per article its candidates, most shared bands first, and the
    centroids of their stories; and per article the archived stories sharing its key terms, most
    shared first, with their summaries."""

    found: Sequence[Sequence[Candidate]]
    centroids: Mapping[str, Centroid]
    # Centroid norms the clusterer fills as it computes them; an index that keeps them between batches
    # hands in its own and drops a story's when its centroid changes.
    norms: dict[str, float] = field(default_factory=dict)
    archived: Sequence[Sequence[str]] = ()
    summaries: Mapping[str, Summary] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberVector:
    """A story member as the split check compares it."""

    article_id: str
    time: float
    length: int  # body words
    vector: Mapping[int, float]  # the article's TF-IDF vector (`Features.vector`)
    matched: str | None = None  # the article it joined through (None: it started its story)
    copy: bool = False  # it joined as a copy of `matched`

    @property
    def copy_of(self) -> str | None:
        return self.matched if self.copy else None


@dataclass(frozen=True)
class Split:
    """A story whose members showed two events, as an index applies it."""

    story_id: str
    parts: Mapping[str, Sequence[MemberVector]]  # story id -> its members, `story_id`'s included
    centroids: Mapping[str, Centroid]  # each part's, rebuilt from its members
    # Members whose relation changed: each new story's founder, and rewrites whose match went elsewhere.
    relations: Mapping[str, Decision]
    summaries: Sequence[Summary] = ()  # each part's, for the archive

    def moved(self) -> dict[str, str]:
        """Article id -> its new story, for the members that left `story_id`."""
        return {m.article_id: sid for sid, ms in self.parts.items() if sid != self.story_id for m in ms}


@dataclass(frozen=True)
class Assignment:
    """An article's decision and what the index keeps of it."""

    decision: Decision
    record: Record
    centroid: Centroid  # the story's centroid with this article added


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
    # The items of the last fetch that could not be taken: {title, link, reason} each.
    skipped: tuple[Mapping[str, str], ...] = ()
    dropped: tuple[Mapping[str, str | float], ...] = ()  # articles given up after they were taken, and why
    category: str | None = None  # the user's folder, "News/World" for nested ones
    paused: bool = False  # not fetched until resumed
