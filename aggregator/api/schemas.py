"""Response and request models: the API's contract, kept apart from the core's dataclasses."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from aggregator.core.timestamps import iso_time, seconds

# A time: kept as Unix seconds, shown as an ISO 8601 UTC string ("2025-06-18T14:03:00.250Z").
Time = Annotated[
    float,
    BeforeValidator(seconds),
    PlainSerializer(iso_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class ArticleOut(BaseModel):
    id: str
    url: str
    feed_id: str
    source: str
    title: str
    author: str | None = None
    published: Time | None = Field(None, description="The time the outlet gives, if any")
    fetched: Time | None = Field(None, description="When the page was fetched")
    extraction: str | None = Field(
        None,
        description="`page`; `summary` when the page was unavailable, `failed` when it was not the article",
    )
    extraction_error: str | None = Field(
        None, description="Why the page's text was not taken, when `summary` or `failed`"
    )
    language: str | None = Field(None, description="ISO 639-1 code of the article's language")
    credits: list[str] = Field(default_factory=list, description="Wire services the text credits")
    text: str | None = Field(
        None, description="Clean plain text; in a story's list of variants only with `include=text`"
    )
    revision: int = Field(0, description="0 as first fetched; +1 each time the outlet changed it")


class RevisionOut(BaseModel):
    revision: int
    title: str
    text: str
    fetched: Time | None
    replaced: Time = Field(description="When the next revision replaced this one")


class VariantOut(ArticleOut):
    relation: str | None = Field(None, description="`canonical`, `copy` or `rewrite`")
    score: float | None = Field(
        None, description="Similarity: shingle Jaccard for a copy, TF-IDF cosine with the story for a rewrite"
    )
    signals: list[str] = Field(default_factory=list, description="What matched")


class ArticleWithStory(VariantOut):
    story_id: str | None
    revisions: list[RevisionOut] = Field(default_factory=list, description="Earlier revisions, oldest first")


class StoryOut(BaseModel):
    id: str
    canonical: VariantOut
    variants: list[VariantOut] = Field(description="The first page of variants, in the order they joined")
    variants_next_cursor: str | None = Field(description="Continues at /v1/stories/{id}/variants?cursor=")
    variant_count: int
    first_seen: Time
    updated: Time
    canonical_history: list[str]


class StorySummary(BaseModel):
    id: str
    title: str = Field(description="The canonical article's headline")
    url: str
    source: str = Field(description="The canonical article's outlet")
    snippet: str = Field(description="The start of the canonical article's text")
    first_seen: Time
    updated: Time
    variant_count: int
    source_count: int = Field(description="Outlets among the variants")


class StoryPage(BaseModel):
    items: list[StorySummary]
    next_cursor: str | None


class VariantPage(BaseModel):
    items: list[VariantOut]
    next_cursor: str | None


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., min_length=1, max_length=2048)
    title: str | None = Field(None, max_length=500)
    category: str | None = Field(None, max_length=200, description='A folder; "News/World" for nested ones')


class FeedChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(
        None, max_length=200, description='A folder ("" for none); absent: unchanged'
    )
    paused: bool | None = Field(None, description="true: not fetched until false again; absent: as it is")


class ListedFeed(BaseModel):
    id: str
    url: str


class RefusedFeed(BaseModel):
    url: str
    reason: str


class ImportReportOut(BaseModel):
    added: list[ListedFeed]
    existing: list[ListedFeed] = Field(description="Feeds known already, left as they were")
    refused: list[RefusedFeed] = Field(description="Feeds that could not be added, and why")


class SkippedItem(BaseModel):
    title: str
    link: str
    reason: str


class DroppedArticle(BaseModel):
    url: str
    reason: str
    time: Time


class FeedOut(BaseModel):
    id: str
    url: str
    title: str | None
    created: Time
    last_fetched: Time | None
    last_status: str | None
    last_error: str | None
    errors: int
    next_due: Time | None = Field(description="When it is fetched next; null while paused or never fetched")
    category: str | None = None
    paused: bool = False
    skipped: list[SkippedItem] = Field(
        default_factory=list, description="Items of the last fetch that could not be taken, and why"
    )
    dropped: list[DroppedArticle] = Field(
        default_factory=list,
        description="The latest articles of this feed that were taken but could not be ingested, and why",
    )


class FeedPage(BaseModel):
    items: list[FeedOut]
    next_cursor: str | None


class ErrorOut(BaseModel):
    error: str
    detail: str


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., min_length=1, max_length=2048)
    secret: str = Field(..., min_length=8, max_length=256, description="Key of the HMAC in X-Signature")
    types: list[str] | None = Field(None, description="Event types to deliver; all when absent")


class SubscriptionOut(BaseModel):
    id: str
    url: str
    types: list[str]
    created: Time
    state: str = Field(description="`active`, or `paused` after too many failed deliveries in a row")
    failures: int = Field(description="Failed deliveries in a row")
    last_error: str | None
    delivered: int


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None


class ArticlesStatus(BaseModel):
    pending: int = Field(description="Articles waiting for their page to be fetched")
    oldest_pending_s: float | None = Field(description="Seconds the oldest of them has waited")
    extracted: int = Field(description="Articles waiting to be clustered")
    oldest_extracted_s: float | None


class FeedsStatus(BaseModel):
    total: int
    due: int = Field(description="Feeds whose next refresh is due")
    failing: int = Field(description="Feeds whose last fetch failed")


class StatusOut(BaseModel):
    time: Time
    queues: dict[str, int] = Field(description="Tasks waiting in each queue")
    tasks_held: int | None = Field(
        description="Tasks workers have taken and not finished: running, or put off until their host's turn; "
        "null where the broker does not say (RabbitMQ)"
    )
    articles: ArticlesStatus
    feeds: FeedsStatus
    errors_last_hour: dict[str, int] = Field(
        description="Failed feed fetches, pages, webhook deliveries, and articles given up"
    )
