"""Queue depths as Celery's broker holds them: a Redis (kombu's lists and its "unacked" hash) or
RabbitMQ (each queue's message count). Read only: Celery owns the broker's data."""

from __future__ import annotations

from typing import Any

import redis

from aggregator.dispatch import QUEUES
from aggregator.errors import StorageError
from aggregator.store.connection import connect, converts_errors
from aggregator.store.keys import Keys


class BrokerQueues:
    """`read()`: tasks waiting in each queue, and the tasks workers hold (taken, not acknowledged;
    None where the broker does not say, as with RabbitMQ)."""

    def __init__(self, url: str, client: redis.Redis | None = None) -> None:
        """`client`: the store's own, when the broker is that Redis (not closed here); else one is
        made for the broker and closed with `close`."""
        self.url = url
        self.amqp = url.startswith(("amqp://", "amqps://", "pyamqp://"))
        self.owned = client is None and not self.amqp
        self.r: Any = None if self.amqp else client or connect(url)

    def read(self) -> tuple[dict[str, int], int | None]:
        return self._amqp() if self.amqp else self._redis()

    @converts_errors
    def _redis(self) -> tuple[dict[str, int], int | None]:
        pipe = self.r.pipeline(transaction=False)
        for queue in QUEUES:
            for key in Keys.broker_queue(queue):
                pipe.llen(key)
        pipe.hlen(Keys.broker_held)
        res = iter(pipe.execute())
        per = len(Keys.broker_queue(""))
        queues = {q: sum(next(res) for _ in range(per)) for q in QUEUES}
        return queues, next(res)

    def _amqp(self) -> tuple[dict[str, int], int | None]:
        from kombu import Connection

        conn = Connection(self.url, connect_timeout=5)
        try:
            with conn:
                channel = conn.default_channel
                queues = {}
                for queue in QUEUES:
                    try:
                        queues[queue] = channel.queue_declare(queue, passive=True).message_count
                    except conn.channel_errors:  # not declared yet: no worker has consumed it
                        queues[queue] = 0
                        channel = conn.channel()
                return queues, None
        except (OSError, *conn.connection_errors) as exc:
            raise StorageError(f"broker: {exc}") from exc

    def close(self) -> None:
        if self.owned:
            self.r.close()
