"""Prometheus metrics of the API process, on a per-app registry.

A registry per app (not prometheus_client's global one) lets tests and tools build several
apps in one process without "Duplicated timeseries" errors. Request metrics are labelled by
route *template* (``/api/health``, never a raw path with ids in it) so that a crawler cannot
blow up the number of series.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.ops.store_metrics import StoreCollector

UNMATCHED_ROUTE = "unmatched"  # the route label of requests no route matched (404s)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# psycopg_pool.get_stats(): instant measures are gauges; everything else is a running count.
_POOL_GAUGES = {
    "pool_min": "Configured minimum number of connections",
    "pool_max": "Configured maximum number of connections",
    "pool_size": "Connections currently managed by the pool (in use, idle or being made)",
    "pool_available": "Idle connections ready to be handed out",
    "requests_waiting": "Requests currently queued for a connection",
}

PoolStats = Callable[[], Mapping[str, int]]


class _PoolCollector(Collector):
    """Reads the pool's statistics at scrape time, so they are never stale."""

    def __init__(self, stats: PoolStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        for key, help_text in _POOL_GAUGES.items():
            gauge = GaugeMetricFamily(f"tokenpulse_db_{key}", help_text)
            gauge.add_metric([], stats.get(key, 0))
            yield gauge
        events = CounterMetricFamily(
            "tokenpulse_db_pool_events",
            "Running counts from psycopg_pool get_stats() (requests_num, connections_errors...)",
            labels=["event"],
        )
        for key in sorted(stats.keys() - _POOL_GAUGES.keys()):
            events.add_metric([key], stats[key])
        yield events


class Metrics:
    """The registry and instruments of one app."""

    def __init__(self, *, version: str, pool_stats: PoolStats) -> None:
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "tokenpulse_http_requests",
            "HTTP requests answered, by route template",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "tokenpulse_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            labels,
            registry=self.registry,
        )
        build = Info("tokenpulse_build", "Version of the running code", registry=self.registry)
        build.info({"version": version, "python": platform.python_version()})
        self.registry.register(_PoolCollector(pool_stats))
        # Cluster-wide figures from the store, refreshed by the /metrics handler (app.ops.probes).
        self.store = StoreCollector()
        self.registry.register(self.store)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in KNOWN_METHODS else "other"
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
