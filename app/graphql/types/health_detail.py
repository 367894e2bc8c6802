"""The operational sections of ``health``: budgets, upstream calls, breakers, jobs,
aggregates, validation and alerts (app.ops.health_detail). A null section is unknown."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.types.scalars import SafeInt


@strawberry.type(description="Calls of one key in a window against what its pacing allows.")
class BudgetWindow:
    used: SafeInt
    allowed: SafeInt | None = strawberry.field(description="Null: no limit known.")
    left: SafeInt | None


@strawberry.type(description="One API key's budget; keys are shown by fingerprint only.")
class KeyBudget:
    key_id: str
    provider: str
    label: str | None
    last_hour: BudgetWindow = strawberry.field(
        description="The UTC hour buckets overlapping the last hour (up to two)."
    )
    last_day: BudgetWindow = strawberry.field(description="The buckets of the last 24 hours.")
    today: BudgetWindow = strawberry.field(description="Today's UTC calls and daily quota.")
    rate_limited_1h: SafeInt
    rate_limited_24h: SafeInt
    rate_limit_hits: SafeInt = strawberry.field(description="Since the key was first used.")
    quota_exhausted: bool
    backoff_seconds: float


@strawberry.type(description="Upstream calls of one provider with one outcome.")
class UpstreamCalls:
    provider: str
    outcome: str
    calls_1h: SafeInt
    calls_24h: SafeInt
    avg_latency_ms_1h: float | None
    avg_latency_ms_24h: float | None
    max_latency_ms_24h: float


@strawberry.type(description="A circuit breaker, as the worker last recorded it.")
class BreakerHealth:
    name: str
    provider: str
    state: str = strawberry.field(description="closed, open or half_open.")
    failures: int
    opened_at: datetime | None
    changed_at: datetime
    open_seconds: float | None


@strawberry.type(description="Breakers; known is false before their table exists.")
class Breakers:
    known: bool
    items: list[BreakerHealth] | None


@strawberry.type(description="A scheduler job's last run, as the leader worker recorded it.")
class JobHealth:
    job: str
    worker: str | None
    last_started_at: datetime
    last_finished_at: datetime
    last_outcome: str = strawberry.field(description="ok or failed.")
    last_duration_ms: float
    last_error: str | None
    last_success_at: datetime | None
    consecutive_failures: int
    runs: SafeInt
    failures: SafeInt
    next_run_at: datetime | None


@strawberry.type(description="Scheduler jobs; known is false before their table exists.")
class Jobs:
    known: bool
    items: list[JobHealth] | None


@strawberry.type(description="How far an analytics aggregate is materialized.")
class Watermark:
    relation: str
    watermark: datetime | None = strawberry.field(description="Null: nothing materialized.")


@strawberry.type(description="The analytics aggregates' refresh state.")
class AnalyticsHealth:
    dirty_ranges: SafeInt = strawberry.field(description="Backfilled ranges awaiting refresh.")
    oldest_dirty_from: datetime | None
    watermarks: list[Watermark]
    last_refresh_at: datetime | None
    last_refresh_outcome: str | None


@strawberry.type(description="The latest validation run against the explorers.")
class ValidationHealth:
    id: SafeInt
    origin: str
    finished_at: datetime
    threshold: float
    flagged: int
    max_variance: float | None


@strawberry.type(description="An alert, open or recently resolved.")
class AlertHealth:
    id: SafeInt
    kind: str
    severity: str
    chain_id: SafeInt | None
    message: str
    occurrences: int
    created_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
