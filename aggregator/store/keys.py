"""Every Redis key the service uses, with its lifetime. Nothing else in the code spells a key.

Names that several keys of one operation share carry a hash tag in braces, so that on a Redis Cluster
they land in one slot and multi-key commands stay legal:
- the clustering index (buckets, records, document frequencies, the assignment lock) is one unit,
  tagged ``{idx}``: assignment reads and writes it atomically under the lock;
- a story's hash and its variant set are tagged with the story id.
"""

from __future__ import annotations

from dataclasses import dataclass

# Feeds are kept until deleted. Stories, their variant sets and their articles are kept for the retention
# (settings.story_retention_h) after the story's last change, then deleted by `store/retention.py`; each
# article leaves a tombstone (state=expired, TTL: the retention). Index entries only exist to
# find candidates for new articles; they expire with the story window (settings.story_window_h), which
# keeps the index's memory flat on an endless stream. The archive of story summaries, which finds the
# follow-ups of stories whose window closed, lives longer (settings.archive_horizon_h) and is capped in
# number of stories (settings.archive_max_stories).
ERRORS_KEEP_S = 2 * 3600  # per-minute error counts: /v1/status reads the last hour's
LOCK_TTL_MS = 30_000  # longest a crashed worker can hold the assignment lock
HOST_LEASE_MS = 60_000  # a request slot a crashed worker held frees itself after this
HOST_LIMIT_S = 600  # a host's lowered concurrency returns to the configured one after this long alone
FANOUT_LOCK_MS = 30_000  # longest a crashed worker can hold the webhook fan-out


@dataclass(frozen=True)
class Keys:
    prefix: str = "agg"

    @classmethod
    def for_cluster(cls, prefix: str) -> Keys:
        """On a Redis Cluster the prefix is the hash tag of every key (the first braces of a key name
        are its tag): one slot, so every transaction and script of the service stays legal there."""
        return cls(f"{{{prefix}}}")

    # --- feeds
    def feed(self, feed_id: str) -> str:
        """hash: url, title, etag, last_modified, last_fetched, last_status, last_error, errors, next_due"""
        return f"{self.prefix}:feed:{feed_id}"

    @property
    def feeds(self) -> str:
        """sorted set: feed id by creation time (the listing order)"""
        return f"{self.prefix}:feeds"

    @property
    def feeds_due(self) -> str:
        """sorted set: feed id by the time it is next due; a feed handed to a worker is moved ahead by
        the refresh lease (FeedStore.lease_s) until its refresh records when it is next due"""
        return f"{self.prefix}:feeds:due"

    @property
    def feeds_failing(self) -> str:
        """set: ids of the feeds whose last fetch failed"""
        return f"{self.prefix}:feeds:failing"

    @property
    def feeds_imported(self) -> str:
        """set: feed URLs already imported from the feeds file, so a deleted one stays deleted"""
        return f"{self.prefix}:feeds:imported"

    # --- articles
    def article(self, article_id: str) -> str:
        """hash: the entry as the feed gave it (state=pending), the clean article (state=extracted, then
        clustered), then, once its story is retired, only state=expired (TTL: the retention)"""
        return f"{self.prefix}:article:{article_id}"

    @property
    def pending(self) -> str:
        """sorted set: article id by when its entry was stored, until its page is extracted"""
        return f"{self.prefix}:articles:pending"

    @property
    def extracted(self) -> str:
        """sorted set: article id by when its page was extracted, until the article is clustered"""
        return f"{self.prefix}:articles:extracted"

    # --- stories
    def story(self, story_id: str) -> str:
        """hash: canonical, first_seen, updated, canonical_history"""
        return f"{self.prefix}:story:{{{story_id}}}"

    def story_variants(self, story_id: str) -> str:
        """sorted set: article id by the time it joined"""
        return f"{self.prefix}:story:{{{story_id}}}:variants"

    @property
    def stories_updated(self) -> str:
        """sorted set: story id by last update (the listing order): every change the list shows of a
        story (a variant, a revision, a new canonical, a split) moves its score, by which API processes
        keep the rows they read (`StoryViews`)"""
        return f"{self.prefix}:stories:updated"

    # --- events (trimmed to settings.events_max_len and events_retention_h)
    @property
    def events(self) -> str:
        """stream: story events (type, story, time, feed, variants, data)"""
        return f"{self.prefix}:events"

    # --- metrics (kept until deleted; the error counts expire after ERRORS_KEEP_S)
    @property
    def counters(self) -> str:
        """hash: counter series (`store/metrics.series`) -> value"""
        return f"{self.prefix}:metrics:counters"

    @property
    def histograms(self) -> str:
        """hash: histogram series, one per bucket, sum and count -> value"""
        return f"{self.prefix}:metrics:histograms"

    def errors(self, kind: str, minute: int) -> str:
        """string: errors of this kind (feeds, pages, webhooks) in this minute since the epoch"""
        return f"{self.prefix}:metrics:errors:{kind}:{minute}"

    # --- the Celery broker's (Celery names them; read only, for queue depths)
    broker_held = "unacked"  # hash: tasks workers have taken and not yet acknowledged (kombu's Redis)

    @staticmethod
    def broker_queue(queue: str) -> list[str]:
        """lists: a queue's waiting tasks, one list per priority step (kombu's Redis transport)"""
        return [queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))]

    # --- per-origin (scheme://host:port) politeness (short-lived)
    def host_inflight(self, origin: str) -> str:
        """sorted set: request tokens in flight to the origin, scored by lease expiry (ms)"""
        return f"{self.prefix}:host:{{{origin}}}:inflight"

    def host_last(self, origin: str) -> str:
        """string: ms time the last request to the origin started (TTL: the gap)"""
        return f"{self.prefix}:host:{{{origin}}}:last"

    def host_turns(self, origin: str) -> str:
        """string: ms time of the last turn handed to a request put off (TTL: until a little after it)"""
        return f"{self.prefix}:host:{{{origin}}}:turns"

    def host_limit(self, origin: str) -> str:
        """string: the origin's lowered concurrency, after slow or failed answers (TTL HOST_LIMIT_S)"""
        return f"{self.prefix}:host:{{{origin}}}:limit"

    # --- webhooks (kept until deleted)
    def subscription(self, sub_id: str) -> str:
        """hash: url, secret, types, created, state, failures, last_error, delivered"""
        return f"{self.prefix}:subscription:{sub_id}"

    @property
    def subscriptions(self) -> str:
        """sorted set: subscription id by creation time"""
        return f"{self.prefix}:subscriptions"

    @property
    def webhook_cursor(self) -> str:
        """string: id of the last event handed to webhook deliveries"""
        return f"{self.prefix}:webhooks:cursor"

    @property
    def webhook_lock(self) -> str:
        """string: holder of the fan-out (TTL FANOUT_LOCK_MS), so one worker fans out at a time"""
        return f"{self.prefix}:webhooks:lock"

    # --- clustering index (TTL: the story window)
    def buckets(self, part: int, group: int | str) -> str:
        """hash: LSH band key -> the newest ids (space-separated, capped) of the articles indexed in time
        part `part` whose keyword MinHash falls in that bucket, for the band keys of one group (see
        `store/index.py`, BUCKET_GROUPS). TTL: the story window and one part"""
        return f"{self.prefix}:{{idx}}:b:{part}:{group}"

    def record(self, ref: str) -> str:
        """string: the index entry (`store/entries.py`: article and story id, time, shingle sketch and
        TF-IDF vector, the article it joined through and whether as a copy) of the article whose short
        name (`packing.ref`) is `ref`, as the buckets name it: what the candidate search and the split
        check read, and a story of one article's centroid"""
        return f"{self.prefix}:{{idx}}:r:{ref}"

    def vector(self, article_id: str) -> str:
        """string: the member vector of an article indexed before index entries held it (read only,
        by `lua/index_candidates.lua`; such keys expire with the story window)"""
        return f"{self.prefix}:{{idx}}:v:{article_id}"

    def centroid(self, story_id: str) -> str:
        """string: the story's centroid, its terms and their summed TF-IDF weights (packed,
        `store/entries.py`); a story of one article has none (its article's entry stands in)"""
        return f"{self.prefix}:{{idx}}:c:{story_id}"

    # --- the archive of long-running stories (TTL: settings.archive_horizon_h)
    def summary(self, ref: str) -> str:
        """string: the summary (`store/entries.py`: story id, newest article, time, its centroid's
        heaviest terms) of the story whose short name (`packing.ref`) is `ref`"""
        return f"{self.prefix}:{{idx}}:sum:{ref}"

    def archive_term(self, term: int) -> str:
        """list: the refs (`packing.ref`) of the newest stories whose summary has this key term (its
        hash; capped at the bucket cap)"""
        return f"{self.prefix}:{{idx}}:at:{term}"

    @property
    def archive(self) -> str:
        """sorted set: archived story ref (`packing.ref`) by time; the oldest past
        settings.archive_max_stories go"""
        return f"{self.prefix}:{{idx}}:archive"

    @property
    def doc_freq(self) -> str:
        """hash: df slot (`terms.df_key`, at most DF_SLOTS) -> indexed articles with a term there"""
        return f"{self.prefix}:{{idx}}:dfs"

    @property
    def doc_count(self) -> str:
        """string: number of indexed articles"""
        return f"{self.prefix}:{{idx}}:docs"

    @property
    def assign_lock(self) -> str:
        """string: holder token of the story-assignment lock (TTL LOCK_TTL_MS)"""
        return f"{self.prefix}:{{idx}}:lock"
