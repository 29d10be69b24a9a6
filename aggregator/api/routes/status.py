"""How far behind the service is (`/v1/status`), and every figure it counts in Prometheus's text format
(`/metrics`), from every process: the workers count in Redis (`store/metrics.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from aggregator.api import deps
from aggregator.api.schemas import StatusOut
from aggregator.store.metrics import Metrics
from aggregator.store.status import Status

router = APIRouter(tags=["status"])

PREFIX = "aggregator_"


@router.get("/v1/status", response_model=StatusOut)
def status(reader: deps.StatusReader) -> dict[str, Any]:
    """Queue depths by queue, articles waiting for their page or for clustering (and the oldest's age),
    feeds due and failing, and errors in the last hour."""
    return reader.read()


@router.get("/metrics", response_class=Response)
def metrics(reader: deps.StatusReader, counted: deps.MetricsStore) -> Response:
    """Every counter and histogram the service keeps, and the status's gauges, in Prometheus's format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(reader, counted))
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")


class _Figures(Collector):
    def __init__(self, reader: Status, counted: Metrics) -> None:
        self.reader = reader
        self.counted = counted

    def collect(self) -> Iterator[Metric]:
        yield from self._counters()
        yield from self._histograms()
        yield from self._gauges()

    def _counters(self) -> Iterator[Metric]:
        families: dict[str, CounterMetricFamily] = {}
        for name, labels, value in sorted(
            self.counted.counters(), key=lambda c: (c[0], sorted(c[1].items()))
        ):
            names = sorted(labels)
            if name not in families:
                families[name] = CounterMetricFamily(PREFIX + name, _about(name), labels=names)
            families[name].add_metric([labels[k] for k in names], value)
        yield from families.values()

    def _histograms(self) -> Iterator[Metric]:
        families: dict[str, HistogramMetricFamily] = {}
        for (name, labels), parts in sorted(self.counted.histograms().items()):
            if name not in families:
                families[name] = HistogramMetricFamily(
                    PREFIX + name, _about(name), labels=[k for k, _ in labels]
                )
            buckets = sorted(((le, n) for le, n in parts.items() if le not in ("sum", "count")), key=_le)
            families[name].add_metric([v for _, v in labels], buckets, parts.get("sum", 0.0))
        yield from families.values()

    def _gauges(self) -> Iterator[Metric]:
        now = self.reader.read()
        depth = GaugeMetricFamily(PREFIX + "queue_depth", "tasks waiting in each queue", labels=["queue"])
        for queue, n in now["queues"].items():
            depth.add_metric([queue], n)
        yield depth
        for name, value, about in (
            ("tasks_held", now["tasks_held"], "tasks taken by workers, running or put off until their turn"),
            ("articles_pending", now["articles"]["pending"], "articles waiting for their page"),
            ("articles_extracted", now["articles"]["extracted"], "articles waiting to be clustered"),
            ("feeds_due", now["feeds"]["due"], "feeds due for a refresh"),
            ("feeds_failing", now["feeds"]["failing"], "feeds whose last fetch failed"),
        ):
            if value is not None:  # a broker that does not count held tasks (RabbitMQ): no gauge
                yield GaugeMetricFamily(PREFIX + name, about, value=value)


def _about(name: str) -> str:
    return name.replace("_", " ")


def _le(bucket: tuple[str, float]) -> float:
    return float("inf") if bucket[0] == "+Inf" else float(bucket[0])
