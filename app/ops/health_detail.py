"""The operational detail of health: budgets, upstream calls, breakers, jobs, aggregates,
validation and recent alerts, read from the store (app.store.ops_health, app.store.job_runs).

:func:`read` runs each section in its own savepoint, so one failed read (a table another
feature has not migrated yet, a slow function) loses that section only; a section that could
not be read is ``None`` ("unknown"), never an empty list that would look healthy.
:func:`notices` is pure: what in the detail needs attention, and whether it degrades status.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from app.config import Settings
from app.errors import TokenpulseError
from app.store import job_runs as store_job_runs
from app.store import ops_health as store_ops
from app.store import pool as store_pool
from app.store.job_runs import JobRuns
from app.store.pool import Connection

T = TypeVar("T")
log = logging.getLogger(__name__)
HOUR, DAY = 3600.0, 86400.0
JOB_FAILURES_DEGRADED = 3  # a job failing this many runs in a row degrades status
ANALYTICS_JOB = "analytics_refresh"
RECENT_ALERTS = 20


@dataclass(frozen=True, slots=True)
class Window:
    """Calls of one key in a window against what its pacing allows there."""

    used: int
    allowed: int | None  # None: no limit known

    @property
    def left(self) -> int | None:
        return None if self.allowed is None else max(0, self.allowed - self.used)


@dataclass(frozen=True, slots=True)
class KeyUsage:
    key_id: str  # a fingerprint, never the key
    provider: str
    label: str | None
    last_hour: Window
    last_day: Window
    today: Window  # today's UTC calls against the daily quota
    rate_limited_1h: int
    rate_limited_24h: int
    rate_limit_hits: int  # every rate-limit answer since the key's row was created
    quota_exhausted: bool
    backoff_seconds: float


@dataclass(frozen=True, slots=True)
class ProviderCalls:
    provider: str
    outcome: str
    calls_1h: int
    calls_24h: int
    avg_latency_ms_1h: float | None
    avg_latency_ms_24h: float | None
    max_latency_ms_24h: float


@dataclass(frozen=True, slots=True)
class Breaker:
    name: str
    provider: str
    state: str  # closed, open, half_open
    failures: int
    opened_at: datetime | None
    changed_at: datetime
    open_seconds: float | None  # how long it has been open (None unless open)


@dataclass(frozen=True, slots=True)
class Analytics:
    dirty_ranges: int  # backfilled ranges waiting for the refresh job
    oldest_dirty_from: datetime | None
    watermarks: Mapping[str, datetime | None]  # aggregate -> materialized up to
    last_refresh: JobRuns | None


@dataclass(frozen=True, slots=True)
class Validation:
    id: int
    origin: str
    finished_at: datetime
    threshold: float
    flagged: int
    max_variance: float | None


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    kind: str
    severity: str
    chain_id: int | None
    message: str
    occurrences: int
    created_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Detail:
    keys: tuple[KeyUsage, ...] | None = None
    providers: tuple[ProviderCalls, ...] | None = None
    breakers: tuple[Breaker, ...] | None = None  # None: unknown (no table, or unreadable)
    jobs: tuple[JobRuns, ...] | None = None
    analytics: Analytics | None = None
    validation: Validation | None = None
    alerts: tuple[Alert, ...] | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)


async def collect(pool: store_pool.Pool, settings: Settings, wait: float) -> Detail:
    """:func:`read` in a transaction and under a deadline of its own (app.ops.health reads
    the chains and workers first), so a slow detail read never costs that part."""
    try:
        return await asyncio.wait_for(_collect(pool, settings, wait), wait + 2.0)
    except TimeoutError:
        error = "the operational detail: timed out"
    except TokenpulseError as exc:
        error = f"the operational detail: {exc.message}"
    log.warning("health detail failed", extra={"error": error})
    return Detail(errors=(error,))


async def _collect(pool: store_pool.Pool, settings: Settings, wait: float) -> Detail:
    async with store_pool.transaction(pool, wait_seconds=wait) as conn:
        return await read(conn, settings, datetime.now(UTC))


async def read(conn: Connection, settings: Settings, now: datetime) -> Detail:
    """Every section, each in a savepoint of the caller's transaction."""
    errors: list[str] = []

    async def section(name: str, fetch: Callable[[], Awaitable[T]]) -> T | None:
        try:
            async with conn.transaction():
                return await fetch()
        except TokenpulseError as exc:
            errors.append(f"{name}: {exc.message}")
            return None

    present = await section("relations", lambda: store_ops.relations(conn))
    keys = await section("budgets", lambda: store_ops.key_usage(conn))
    calls = await section("upstream calls", lambda: store_ops.provider_calls(conn))
    breakers = jobs = None
    if present is not None and present.breakers:
        breakers = await section("breakers", lambda: store_ops.list_breakers(conn))
    if present is not None and present.job_runs:
        jobs = await section("jobs", lambda: store_job_runs.list_runs(conn))
    state = await section("analytics", lambda: store_ops.analytics_state(conn))
    validation = await section("validation", lambda: store_ops.latest_validation(conn))
    alerts = await section("alerts", lambda: store_ops.recent_alerts(conn, RECENT_ALERTS))
    return Detail(
        keys=None if keys is None else tuple(key_usage(row, settings) for row in keys),
        providers=None if calls is None else tuple(provider_calls(row) for row in calls),
        breakers=None if breakers is None else tuple(breaker(row, now) for row in breakers),
        jobs=None if jobs is None else tuple(jobs),
        analytics=None if state is None else analytics(state, jobs),
        validation=None if validation is None else Validation(**validation),
        alerts=None if alerts is None else tuple(Alert(**row) for row in alerts),
        errors=tuple(errors),
    )


def allowed_calls(settings: Settings, seconds: float) -> int:
    """Calls one key may make in ``seconds`` at the configured pacing (app.ingest.wiring)."""
    interval = 1.0 / settings.upstream_calls_per_second + settings.upstream_pacing_margin_seconds
    return math.floor(seconds / interval)


def key_usage(row: Mapping[str, Any], settings: Settings) -> KeyUsage:
    quota = row["daily_quota"]
    day = allowed_calls(settings, DAY)
    return KeyUsage(
        key_id=row["key_id"],
        provider=row["provider"],
        label=row["label"],
        last_hour=Window(int(row["calls_1h"]), allowed_calls(settings, HOUR)),
        last_day=Window(int(row["calls_24h"]), day if quota is None else min(day, quota)),
        today=Window(int(row["calls_today"]), quota),
        rate_limited_1h=int(row["rate_limited_1h"]),
        rate_limited_24h=int(row["rate_limited_24h"]),
        rate_limit_hits=int(row["rate_limit_hits"]),
        quota_exhausted=bool(row["quota_exhausted"]),
        backoff_seconds=round(float(row["backoff_seconds"]), 3),
    )


def provider_calls(row: Mapping[str, Any]) -> ProviderCalls:
    def avg(total: float, calls: int) -> float | None:
        return round(total / calls, 3) if calls else None

    return ProviderCalls(
        provider=row["provider"],
        outcome=row["outcome"],
        calls_1h=int(row["calls_1h"]),
        calls_24h=int(row["calls_24h"]),
        avg_latency_ms_1h=avg(row["latency_ms_1h"], row["calls_1h"]),
        avg_latency_ms_24h=avg(row["latency_ms_24h"], row["calls_24h"]),
        max_latency_ms_24h=round(float(row["max_latency_ms_24h"]), 3),
    )


def breaker(row: Mapping[str, Any], now: datetime) -> Breaker:
    opened = row["opened_at"]
    is_open = row["state"] == "open" and opened is not None
    return Breaker(
        name=row["name"],
        provider=row["provider"],
        state=row["state"],
        failures=int(row["failures"]),
        opened_at=opened,
        changed_at=row["changed_at"],
        open_seconds=round(max(0.0, (now - opened).total_seconds()), 3) if is_open else None,
    )


def analytics(row: Mapping[str, Any], jobs: Sequence[JobRuns] | None) -> Analytics:
    refresh = next((job for job in jobs or () if job.job == ANALYTICS_JOB), None)
    return Analytics(
        dirty_ranges=int(row["dirty_ranges"]),
        oldest_dirty_from=row["oldest_dirty_from"],
        watermarks=dict(row["watermarks"]),
        last_refresh=refresh,
    )


@dataclass(frozen=True, slots=True)
class Finding:
    """A notice's parts (app.ops.health turns it into a Notice)."""

    scope: str
    code: str
    message: str
    retryable: bool
    degrades: bool


def findings(detail: Detail) -> tuple[Finding, ...]:
    found = [
        Finding("health", "HEALTH_DETAIL_PARTIAL", f"could not read {text}", True, True)
        for text in detail.errors
    ]
    found += _breaker_findings(detail.breakers or ())
    found += _job_findings(detail.jobs or ())
    found += _key_findings(detail.keys or ())
    if detail.validation is not None and detail.validation.flagged:
        found.append(_validation_finding(detail.validation))
    return tuple(found)


def _breaker_findings(breakers: Sequence[Breaker]) -> list[Finding]:
    return [
        Finding(
            f"breaker:{item.name}",
            "BREAKER_OPEN" if item.state == "open" else "BREAKER_HALF_OPEN",
            f"circuit breaker {item.name} is {item.state} after {item.failures} failure(s)",
            True,
            item.state == "open",
        )
        for item in breakers
        if item.state != "closed"
    ]


def _job_findings(jobs: Sequence[JobRuns]) -> list[Finding]:
    return [
        Finding(
            f"job:{job.job}",
            "JOB_FAILING",
            f"job {job.job} failed {job.consecutive_failures} run(s) in a row;"
            f" last error: {job.last_error or 'unknown'}",
            True,
            job.consecutive_failures >= JOB_FAILURES_DEGRADED,
        )
        for job in jobs
        if job.consecutive_failures > 0
    ]


def _key_findings(keys: Sequence[KeyUsage]) -> list[Finding]:
    found: list[Finding] = []
    for key in keys:
        scope = f"key:{key.key_id}"
        if key.quota_exhausted:
            text = f"{key.provider} key {key.label or key.key_id}: daily quota used up"
            found.append(Finding(scope, "QUOTA_EXHAUSTED", text, True, False))
        if key.rate_limited_1h:
            text = (
                f"{key.provider} key {key.label or key.key_id}:"
                f" {key.rate_limited_1h} rate-limit answer(s) in the last hour"
            )
            found.append(Finding(scope, "RATE_LIMITED", text, True, False))
    return found


def _validation_finding(item: Validation) -> Finding:
    variance = "unknown" if item.max_variance is None else f"{item.max_variance:.2%}"
    text = (
        f"validation run {item.id}: {item.flagged} figure(s) differ from the explorers by more"
        f" than {item.threshold:.2%} (largest {variance})"
    )
    return Finding("validation", "VALIDATION_VARIANCE", text, False, True)
