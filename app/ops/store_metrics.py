"""Gauges and counters derived from the store, exported by every API process on /metrics.

The worker writes what it does to the database (rate budget and hourly upstream call
counters, breaker rows, job runs, ingest status, heartbeats); the API reads it back through
the health report (app.ops.health) and exports it here. So the figures are cluster-wide
truths that survive worker restarts and leader changes, and Prometheus scrapes only the API.
Every API replica exports the same store-derived series: aggregate them with ``max by``.

The probe handler refreshes the report at most every REFRESH_SECONDS (app.ops.probes) and
hands it to :meth:`StoreCollector.update`; :meth:`collect` only renders what it was given, so
a scrape never waits on the database twice. Names are listed in docs/deployment.md; the
Prometheus alert rules (docker/prometheus/alerts.yml) depend on them: keep them stable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from app.ops.health import Report
    from app.ops.health_detail import Detail

STATUSES = ("ok", "degraded", "down")
WARM = ("fresh", "lagging", "stale", "cold")
BREAKER_STATES = ("closed", "half_open", "open")


def gauge(name: str, text: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"tokenpulse_{name}", text, labels=list(labels))


def counter(name: str, text: str, labels: Sequence[str] = ()) -> CounterMetricFamily:
    return CounterMetricFamily(f"tokenpulse_{name}", text, labels=list(labels))


def stamp(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def add(family: GaugeMetricFamily | CounterMetricFamily, labels: list[str], value: Any) -> None:
    if value is not None:
        family.add_metric(labels, float(value))


class StoreCollector(Collector):
    """Renders the last health report and cache statistics handed to :meth:`update`."""

    def __init__(self) -> None:
        self.report: Report | None = None
        self.caches: Mapping[str, Mapping[str, Any]] = {}
        self.updated_at: float | None = None  # time.monotonic() of the last report
        self.transfers: dict[int, int] = {}  # chain id -> stored transfers
        self.lock = asyncio.Lock()  # held by the refresh, so concurrent scrapes share one

    def update(
        self,
        report: Report | None,
        caches: Mapping[str, Mapping[str, Any]],
        transfers: Mapping[int, int] | None = None,
    ) -> None:
        """A new report (None: keep the last one), the caches' statistics, and the stored
        transfers per chain id when they could be counted with the report."""
        if report is not None:
            self.report, self.updated_at = report, time.monotonic()
            self.transfers = dict(transfers or {})
        self.caches = caches

    def collect(self) -> Iterator[Metric]:
        yield from cache_families(self.caches)
        report = self.report
        if report is None:
            return
        age = gauge("store_metrics_age_seconds", "Age of the store snapshot behind these series")
        age.add_metric([], time.monotonic() - (self.updated_at or time.monotonic()))
        yield age
        yield from status_families(report)
        yield from chain_families(report)
        yield transfer_family(report, self.transfers)
        yield from worker_families(report)
        yield from upstream_families(report.detail)
        yield from budget_families(report.detail)
        yield from breaker_families(report.detail)
        yield from job_families(report.detail)
        yield from analytics_families(report.detail)


def cache_families(caches: Mapping[str, Mapping[str, Any]]) -> Iterable[Metric]:
    hits = counter("cache_hits", "Response cache hits, by section", ["section"])
    misses = counter("cache_misses", "Response cache misses, by section", ["section"])
    entries = gauge("cache_entries", "Entries held by a response cache section", ["section"])
    for name, stats in caches.items():
        add(hits, [name], stats.get("hits"))
        add(misses, [name], stats.get("misses"))
        add(entries, [name], stats.get("entries"))
    return hits, misses, entries


def status_families(report: Report) -> Iterable[Metric]:
    status = gauge("health_status", "1 for the current health status", ["status"])
    for name in STATUSES:
        status.add_metric([name], float(report.status.value == name))
    up = gauge("database_up", "1 when the database answered the last health check")
    up.add_metric([], float(report.database.ok))
    latency = gauge("database_latency_seconds", "Round trip of the last health check")
    add(
        latency,
        [],
        None if report.database.latency_ms is None else report.database.latency_ms / 1e3,
    )
    warnings = gauge("health_warnings", "Health warnings, by code", ["code"])
    for code in sorted({item.code for item in report.warnings}):
        warnings.add_metric([code], float(sum(item.code == code for item in report.warnings)))
    return status, up, latency, warnings


def chain_families(report: Report) -> Iterable[Metric]:
    labels = ["chain_id", "chain"]
    warm = gauge("chain_warm_status", "1 for the chain's warm status", [*labels, "status"])
    families = {
        "head_lag_blocks": gauge("chain_head_lag_blocks", "Blocks the ingestion is behind", labels),
        "lag_seconds": gauge("chain_lag_seconds", "Head lag times the block time", labels),
        "since": gauge("chain_since_success_seconds", "Seconds since the last tip cycle", labels),
        "index": gauge("chain_index_lag_seconds", "Seconds since the newest transfer", labels),
        "covered": gauge("chain_covered_blocks", "Blocks in the coverage ledger", labels),
        "fails": gauge("chain_consecutive_failures", "Failed tip cycles in a row", labels),
        "rows": gauge("chain_last_cycle_inserted_rows", "Rows the last tip cycle added", labels),
    }
    for item in report.chains:
        if not item.chain.enabled:
            continue
        key = [str(item.chain.id), item.chain.slug]
        for name in WARM:
            warm.add_metric([*key, name], float(item.warm.warm.value == name))
        reading, status = item.warm.reading, item.warm.status
        cycle = (status.last_cycle or {}) if status else {}
        add(families["head_lag_blocks"], key, reading.head_lag_blocks)
        add(families["lag_seconds"], key, reading.lag_seconds)
        add(families["since"], key, reading.since_success_seconds)
        add(families["index"], key, item.index_lag_seconds)
        add(families["covered"], key, item.covered_blocks)
        add(families["fails"], key, status.consecutive_failures if status else 0)
        add(families["rows"], key, cycle.get("inserted") if isinstance(cycle, dict) else None)
    return warm, *families.values()


def transfer_family(report: Report, transfers: Mapping[int, int]) -> Metric:
    """Stored transfers per chain: its rate() is the ingestion's rows per second."""
    rows = counter("chain_transfers", "Transfers stored for the chain", ["chain_id", "chain"])
    for item in report.chains:
        add(rows, [str(item.chain.id), item.chain.slug], transfers.get(item.chain.id))
    return rows


def worker_families(report: Report) -> Iterable[Metric]:
    alive = gauge("workers_alive", "Workers with a live heartbeat, by role", ["role"])
    for role in ("leader", "standby"):
        alive.add_metric([role], float(sum(w.alive and w.role == role for w in report.workers)))
    age = gauge(
        "worker_heartbeat_age_seconds", "Age of each worker's heartbeat", ["worker_id", "role"]
    )
    for worker in report.workers:
        age.add_metric([worker.worker_id, worker.role], worker.age_seconds)
    return alive, age


def upstream_families(detail: Detail) -> Iterable[Metric]:
    labels = ["provider", "outcome"]
    calls_1h = gauge("upstream_calls_1h", "Upstream calls in the last hour's buckets", labels)
    calls_24h = gauge("upstream_calls_24h", "Upstream calls in the last 24 h", labels)
    avg = gauge("upstream_latency_avg_ms_1h", "Mean upstream latency, last hour", labels)
    peak = gauge("upstream_latency_max_ms_24h", "Slowest upstream call, last 24 h", labels)
    for item in detail.providers or ():
        key = [item.provider, item.outcome]
        add(calls_1h, key, item.calls_1h)
        add(calls_24h, key, item.calls_24h)
        add(avg, key, item.avg_latency_ms_1h)
        add(peak, key, item.max_latency_ms_24h)
    return calls_1h, calls_24h, avg, peak


def budget_families(detail: Detail) -> Iterable[Metric]:
    labels = ["provider", "key"]
    hits = counter("upstream_rate_limit_hits", "Rate-limit answers per key, ever", labels)
    limited = gauge("upstream_rate_limited_1h", "Rate-limit answers, last hour", labels)
    used = gauge("budget_used", "Calls per key in a window", [*labels, "window"])
    allowed = gauge(
        "budget_allowed", "Calls the key's pacing allows in a window", [*labels, "window"]
    )
    ratio = gauge("budget_utilization", "used / allowed per key and window", [*labels, "window"])
    backoff = gauge("budget_backoff_seconds", "Seconds the key is still backing off", labels)
    exhausted = gauge("budget_quota_exhausted", "1 when today's quota is used up", labels)
    for key in detail.keys or ():
        names = [key.provider, key.key_id]
        add(hits, names, key.rate_limit_hits)
        add(limited, names, key.rate_limited_1h)
        add(backoff, names, key.backoff_seconds)
        add(exhausted, names, int(key.quota_exhausted))
        for window, figures in (("1h", key.last_hour), ("24h", key.last_day), ("today", key.today)):
            add(used, [*names, window], figures.used)
            add(allowed, [*names, window], figures.allowed)
            if figures.allowed:
                add(ratio, [*names, window], figures.used / figures.allowed)
    return hits, limited, used, allowed, ratio, backoff, exhausted


def breaker_families(detail: Detail) -> Iterable[Metric]:
    labels = ["name", "provider"]
    known = gauge("breakers_known", "1 when breaker states are readable from the store")
    known.add_metric([], float(detail.breakers is not None))
    state = gauge("breaker_state", "1 for the breaker's state", [*labels, "state"])
    failures = gauge("breaker_failures", "Failures counted by the breaker", labels)
    opened = gauge("breaker_open_seconds", "Seconds the breaker has been open", labels)
    for item in detail.breakers or ():
        key = [item.name, item.provider]
        for name in BREAKER_STATES:
            state.add_metric([*key, name], float(item.state == name))
        add(failures, key, item.failures)
        add(opened, key, item.open_seconds or 0.0)
    return known, state, failures, opened


def job_families(detail: Detail) -> Iterable[Metric]:
    runs = counter("job_runs", "Scheduler job runs, by outcome", ["job", "outcome"])
    fails = gauge("job_consecutive_failures", "Failed runs in a row", ["job"])
    duration = gauge("job_last_duration_seconds", "Duration of the last run", ["job"])
    last = gauge("job_last_run_timestamp_seconds", "End of the last run", ["job"])
    success = gauge("job_last_success_timestamp_seconds", "End of the last good run", ["job"])
    upcoming = gauge("job_next_run_timestamp_seconds", "Next scheduled run", ["job"])
    for job in detail.jobs or ():
        add(runs, [job.job, "ok"], job.runs - job.failures)
        add(runs, [job.job, "failed"], job.failures)
        add(fails, [job.job], job.consecutive_failures)
        add(duration, [job.job], job.last_duration_ms / 1000)
        add(last, [job.job], stamp(job.last_finished_at))
        add(success, [job.job], stamp(job.last_success_at))
        add(upcoming, [job.job], stamp(job.next_run_at))
    return runs, fails, duration, last, success, upcoming


def analytics_families(detail: Detail) -> Iterable[Metric]:
    dirty = gauge("analytics_dirty_ranges", "Backfilled ranges awaiting the aggregate refresh")
    marks = gauge(
        "analytics_watermark_timestamp_seconds", "Aggregate materialized up to", ["relation"]
    )
    variance = gauge("validation_max_variance", "Largest variance in the latest validation run")
    flagged = gauge("validation_flagged", "Figures over the threshold in the latest run")
    ran = gauge("validation_last_run_timestamp_seconds", "End of the latest validation run")
    alerts = gauge(
        "alerts_open", "Open alerts (of the 20 newest), by kind and severity", ["kind", "severity"]
    )
    if detail.analytics is not None:
        add(dirty, [], detail.analytics.dirty_ranges)
        for name, moment in sorted(detail.analytics.watermarks.items()):
            add(marks, [name], stamp(moment))
    if detail.validation is not None:
        add(variance, [], detail.validation.max_variance)
        add(flagged, [], detail.validation.flagged)
        add(ran, [], stamp(detail.validation.finished_at))
    open_alerts = [a for a in detail.alerts or () if a.resolved_at is None]
    for kind, severity in sorted({(a.kind, a.severity) for a in open_alerts}):
        count = sum(a.kind == kind and a.severity == severity for a in open_alerts)
        alerts.add_metric([kind, severity], float(count))
    return dirty, marks, variance, flagged, ran, alerts
