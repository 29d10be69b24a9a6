"""The one typed settings object.

Every field is read from an ``AGGREGATOR_``-prefixed environment variable (``AGGREGATOR_PORT=9000``) or
an env file named by ``AGGREGATOR_ENV_FILE``; ``config/settings.example.env`` lists them all. Build it with
:func:`get_settings`; :func:`defaults` builds one that reads no environment (tests). Nothing reads the
environment at import time. The core's parameter objects (`Thresholds`, `SplitRule`, `FeatureParams`)
are built from here, so each default is written once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

if TYPE_CHECKING:  # built by the methods below, imported there: reading settings stays light
    from aggregator.core.clustering import Thresholds
    from aggregator.core.fingerprint import FeatureParams
    from aggregator.core.splitting import SplitRule
    from aggregator.ingest.extract import PageRules

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGGREGATOR_", extra="ignore")

    # --- where things live
    redis_url: str | None = Field(
        None, description="Redis to use. Unset: `aggregator up` starts an embedded redis-server."
    )
    redis_password: SecretStr | None = Field(
        None, description="Redis's password as it is, any characters: put into AGGREGATOR_REDIS_URL escaped."
    )
    redis_cluster: bool = Field(
        False, description="AGGREGATOR_REDIS_URL names a Redis Cluster node (then set AGGREGATOR_BROKER_URL)."
    )
    redis_timeout_s: float = Field(5.0, gt=0, description="Seconds a Redis reply may take; then a 503.")
    broker_url: str | None = Field(
        None,
        description="Celery's broker: redis://... or amqp://... (RabbitMQ). Unset: AGGREGATOR_REDIS_URL.",
    )
    broker_password: SecretStr | None = Field(
        None, description="The broker's password as it is: put into AGGREGATOR_BROKER_URL escaped."
    )
    data_dir: Path = Field(Path("data"), description="Embedded Redis data and append-only file, beat state.")
    feeds_file: Path = Field(
        PROJECT_ROOT / "config" / "feeds.toml", description="Feeds loaded at start; an empty file means none."
    )
    host: str = Field("127.0.0.1", description="API bind address.")
    api_published_on: str = Field(
        "", description="The host address a container's API port is published on, when it differs from "
        "the bind address. The API will not start on a non-loopback address without API keys.",
    )  # fmt: skip
    port: int = Field(8000, description="API port.")
    api_workers: int = Field(0, ge=0, description="API worker processes; 0: one per core.")
    pin_page_workers: bool = Field(True, description="`aggregator up`: a core for each page worker.")
    api_header_timeout_s: float = Field(10.0, gt=0, description="Seconds a client has to send its headers.")
    max_request_bytes: int = Field(2_000_000, ge=1024, description="Largest request body taken (413).")
    max_feeds: int = Field(100_000, ge=1, description="Feeds the service takes at most.")
    max_subscriptions: int = Field(1000, ge=1, description="Webhook subscriptions the service takes at most.")
    embedded_redis_max_mb: int = Field(
        2048, ge=64, description="Memory cap of the embedded Redis; writes then fail with a clear error."
    )
    key_prefix: str = Field(
        "agg", description="Prefix of every Redis key, so several services can share one."
    )

    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or one JSON object each."
    )
    log_level: str = Field(
        "INFO", description="Level of the service's own log lines; other libraries log warnings."
    )
    api_access_log: bool = Field(False, description="A line for each API request (uvicorn's access log).")

    # --- polling
    poll_interval_s: int = Field(300, description="Seconds between two fetches of a healthy feed.")
    schedule_tick_s: float = Field(5.0, description="How often beat looks for due feeds.")
    max_backoff_s: int = Field(6 * 3600, description="Ceiling of the per-feed error backoff.")
    ingest_batch_size: int = Field(
        50, gt=0, description="New entries handed to one ingest task; most articles clustered in one batch."
    )
    article_resend_s: float = Field(
        1800.0, gt=0, description="Seconds before a waiting article's task is resent."
    )
    article_give_up_h: float = Field(6.0, gt=0, description="Hours before a waiting article is given up.")
    task_visibility_timeout_s: int = Field(
        1200, description="Seconds before a dead worker's task goes to another; retries wait at most half."
    )

    # --- fetching
    allow_private_hosts: bool = Field(
        False, description="Allow fetching loopback/private/link-local addresses (tests, local sites)."
    )
    connect_timeout_s: float = Field(5.0, description="TCP connect timeout.")
    read_timeout_s: float = Field(10.0, description="Timeout of a single read.")
    total_timeout_s: float = Field(30.0, description="Deadline for a whole response, body included.")
    max_feed_bytes: int = Field(5_000_000, description="Cap on a decoded feed body.")
    max_page_bytes: int = Field(3_000_000, description="Cap on a decoded article page.")
    max_page_elements: int = Field(
        100_000, description="Tags a page may have before it is not parsed (the feed summary stands in)."
    )
    min_page_words: int = Field(
        50, description="Fewer words of page text (a teaser, a paywall): extraction=failed, summary instead."
    )
    host_concurrency: int = Field(
        2, ge=0, description="Requests in flight to one host, across all workers; 0 turns politeness off."
    )
    host_gap_s: float = Field(0.5, description="Least time between the starts of two requests to one host.")
    host_wait_s: float = Field(
        0.0, ge=0, description="Longest a fetch waits for its host; then its work is re-queued for its turn."
    )
    host_slow_s: float = Field(
        5.0,
        description="A request to a host slower than this, or failing (timeout, 5xx, 429), halves how many "
        "requests go to it at once (back up by one per good answer).",
    )
    max_redirects: int = Field(5, description="Redirect hops followed per request.")
    user_agent: str = Field("aggregator/0.1 (+https://example.invalid/bot)", description="User-Agent sent.")

    # --- clustering
    num_perm: int = Field(48, description="MinHash permutations.")
    lsh_bands: int = Field(
        48, description="LSH bands (rows per band: num_perm / lsh_bands); candidates rank by bands shared."
    )
    bucket_cap: int = Field(64, description="Newest entries kept per LSH bucket: bounds cost per article.")
    max_candidates: int = Field(16, description="Candidates confirmed per article, most shared bands first.")
    keywords: int = Field(24, description="Distinctive words per article fed to the LSH candidate search.")
    join_threshold: float = Field(
        0.14, description="TF-IDF cosine with a candidate story's centroid needed to join it as a rewrite."
    )
    copy_threshold: float = Field(
        0.50, description="Shingle Jaccard with a candidate at which an article joins its story as a `copy`."
    )
    copy_containment: float = Field(
        0.80, description="Share of the shorter text's shingles the other holds for a `copy` (a trimmed one)."
    )
    split_separation: float = Field(
        0.20,
        description="How much closer (mean cosine) each part must be to itself than to the other to split.",
    )
    split_min_words: int = Field(
        80, description="Median body words a story's members need before it may be split: not on headlines."
    )
    events_max_len: int = Field(1_000_000, description="Events kept in the event stream, at most.")
    events_retention_h: float = Field(168.0, description="Hours an event stays in the event stream.")
    sse_heartbeat_s: float = Field(15.0, description="Seconds between heartbeat comments on /v1/events.")
    sse_queue: int = Field(
        1000, description="Live events buffered per subscriber; a slower one falls back to reading the log."
    )
    webhook_concurrency: int = Field(
        8, ge=1, description="Deliveries in flight to one receiver (scheme, host, port), across all workers."
    )
    webhook_max_failures: int = Field(
        8, description="Failed deliveries in a row after which a webhook subscription is paused."
    )
    webhook_backoff_s: float = Field(
        2.0, description="First retry delay of a failed webhook delivery; doubles each time, with jitter."
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated keys; when set, POST and DELETE need `Authorization: Bearer <key>`.",
    )
    feed_priority: list[str] = Field(
        default_factory=list, description="Feed URLs, most trusted first: their article is the canonical."
    )
    story_window_h: float = Field(72.0, description="Hours after its last variant that a story stays open.")
    archive_horizon_h: float = Field(
        720.0,
        description="Hours a story's summary stays searchable after its last variant, so that a follow-up "
        "after the story window still joins it (capped at story_retention_h).",
    )
    archive_max_stories: int = Field(
        200_000, description="Story summaries kept for follow-ups at most; the oldest go first."
    )
    followup_threshold: float = Field(
        0.30,
        description="TF-IDF cosine with a closed story's summary that an article which joined no live "
        "story needs to join it as a follow-up (stricter than join_threshold).",
    )
    published_skew_h: float = Field(
        48.0,
        description="Hours `published` may be from when an article was first seen; further, in the future "
        "or missing, the story window counts from when it was first seen.",
    )
    story_retention_h: float = Field(
        720.0,
        description="Hours after its last change that a story, its variants and their articles are kept "
        "(at least story_window_h); 0 keeps them forever.",
    )

    @model_validator(mode="after")
    def _passwords_in_urls(self) -> Settings:
        if self.redis_password and self.redis_password.get_secret_value() and self.redis_url:
            self.redis_url = with_password(self.redis_url, self.redis_password.get_secret_value())
        if self.broker_password and self.broker_password.get_secret_value() and self.broker_url:
            self.broker_url = with_password(self.broker_url, self.broker_password.get_secret_value())
        if self.redis_cluster and self.redis_url and not self.broker_url:
            raise ValueError("a Redis Cluster cannot be Celery's broker: set AGGREGATOR_BROKER_URL")
        return self

    @property
    def broker(self) -> str:
        """Celery's broker URL: its own, else the store's Redis."""
        return self.broker_url or self.redis_url or ""

    @model_validator(mode="after")
    def _retention_outlasts_window(self) -> Settings:
        # A story deleted while still open would have its next variant start a new story.
        if 0 < self.story_retention_h < self.story_window_h:
            raise ValueError(
                f"story_retention_h ({self.story_retention_h}) must be 0 or at least story_window_h "
                f"({self.story_window_h})"
            )
        return self

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        return [k.strip() for k in value.split(",") if k.strip()] if isinstance(value, str) else value

    # --- the core's parameters
    def thresholds(self) -> Thresholds:
        from aggregator.core.clustering import Thresholds

        return Thresholds(
            join=self.join_threshold,
            copy=self.copy_threshold,
            contained=self.copy_containment,
            followup=self.followup_threshold,
            max_candidates=self.max_candidates,
        )

    def split_rule(self) -> SplitRule:
        from aggregator.core.splitting import SplitRule

        return SplitRule(separation=self.split_separation, min_words=self.split_min_words)

    def page_rules(self) -> PageRules:
        from aggregator.ingest.extract import PageRules

        return PageRules(self.max_page_bytes, self.max_page_elements, self.min_page_words)

    def feature_params(self) -> FeatureParams:
        from aggregator.core.fingerprint import FeatureParams

        return FeatureParams(keywords=self.keywords, num_perm=self.num_perm, bands=self.lsh_bands)

    @property
    def window_s(self) -> float:
        return self.story_window_h * 3600

    @property
    def archive_s(self) -> float:
        """The archive's horizon, never past the retention: a follow-up must not revive a deleted story."""
        hours = self.archive_horizon_h
        return (min(hours, self.story_retention_h) if self.story_retention_h > 0 else hours) * 3600

    @property
    def retention_s(self) -> int:
        """The retention in seconds; also how long a retired article's tombstone lives."""
        return max(1, int(self.story_retention_h * 3600))


def with_password(url: str, password: str) -> str:
    """`url` with `password` in its user part, percent-escaped: "p@ss/w:rd#1" stays one password."""
    parts = urlsplit(url)
    user = quote(unquote(parts.username or ""), safe="")
    netloc = f"{user}:{quote(password, safe='')}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


class _NoEnvironment(Settings):
    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *_: Any, **__: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def get_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (and ``AGGREGATOR_ENV_FILE`` if set), then ``overrides``."""
    env_file = os.environ.get("AGGREGATOR_ENV_FILE")
    return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]  # pydantic-settings' own kwarg


def defaults(**overrides: Any) -> Settings:
    """The defaults and `overrides`, whatever the environment says: for tests and embedding."""
    return _NoEnvironment(**overrides)


if __name__ == "__main__":
    from aggregator.envfile import example_env

    print(example_env(), end="")
