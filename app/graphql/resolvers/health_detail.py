"""Shapes app.ops.health_detail into the GraphQL types of ``health``."""

from __future__ import annotations

from app.graphql.types import health_detail as types
from app.graphql.types.scalars import SafeInt
from app.ops import health_detail as ops
from app.store.job_runs import JobRuns


def window(item: ops.Window) -> types.BudgetWindow:
    return types.BudgetWindow(
        used=SafeInt(item.used),
        allowed=None if item.allowed is None else SafeInt(item.allowed),
        left=None if item.left is None else SafeInt(item.left),
    )


def key(item: ops.KeyUsage) -> types.KeyBudget:
    return types.KeyBudget(
        key_id=item.key_id,
        provider=item.provider,
        label=item.label,
        last_hour=window(item.last_hour),
        last_day=window(item.last_day),
        today=window(item.today),
        rate_limited_1h=SafeInt(item.rate_limited_1h),
        rate_limited_24h=SafeInt(item.rate_limited_24h),
        rate_limit_hits=SafeInt(item.rate_limit_hits),
        quota_exhausted=item.quota_exhausted,
        backoff_seconds=item.backoff_seconds,
    )


def calls(item: ops.ProviderCalls) -> types.UpstreamCalls:
    return types.UpstreamCalls(
        provider=item.provider,
        outcome=item.outcome,
        calls_1h=SafeInt(item.calls_1h),
        calls_24h=SafeInt(item.calls_24h),
        avg_latency_ms_1h=item.avg_latency_ms_1h,
        avg_latency_ms_24h=item.avg_latency_ms_24h,
        max_latency_ms_24h=item.max_latency_ms_24h,
    )


def breakers(items: tuple[ops.Breaker, ...] | None) -> types.Breakers:
    shaped = None if items is None else [types.BreakerHealth(
        name=b.name, provider=b.provider, state=b.state, failures=b.failures,
        opened_at=b.opened_at, changed_at=b.changed_at, open_seconds=b.open_seconds,
    ) for b in items]  # fmt: skip
    return types.Breakers(known=items is not None, items=shaped)


def job(item: JobRuns) -> types.JobHealth:
    return types.JobHealth(
        job=item.job,
        worker=item.worker,
        last_started_at=item.last_started_at,
        last_finished_at=item.last_finished_at,
        last_outcome=item.last_outcome,
        last_duration_ms=item.last_duration_ms,
        last_error=item.last_error,
        last_success_at=item.last_success_at,
        consecutive_failures=item.consecutive_failures,
        runs=SafeInt(item.runs),
        failures=SafeInt(item.failures),
        next_run_at=item.next_run_at,
    )


def jobs(items: tuple[JobRuns, ...] | None) -> types.Jobs:
    return types.Jobs(
        known=items is not None, items=None if items is None else [job(j) for j in items]
    )


def analytics(item: ops.Analytics | None) -> types.AnalyticsHealth | None:
    if item is None:
        return None
    refresh = item.last_refresh
    return types.AnalyticsHealth(
        dirty_ranges=SafeInt(item.dirty_ranges),
        oldest_dirty_from=item.oldest_dirty_from,
        watermarks=[
            types.Watermark(relation=k, watermark=v) for k, v in sorted(item.watermarks.items())
        ],
        last_refresh_at=refresh.last_finished_at if refresh else None,
        last_refresh_outcome=refresh.last_outcome if refresh else None,
    )


def validation(item: ops.Validation | None) -> types.ValidationHealth | None:
    if item is None:
        return None
    return types.ValidationHealth(
        id=SafeInt(item.id),
        origin=item.origin,
        finished_at=item.finished_at,
        threshold=item.threshold,
        flagged=item.flagged,
        max_variance=item.max_variance,
    )


def alert(item: ops.Alert) -> types.AlertHealth:
    return types.AlertHealth(
        id=SafeInt(item.id),
        kind=item.kind,
        severity=item.severity,
        chain_id=None if item.chain_id is None else SafeInt(item.chain_id),
        message=item.message,
        occurrences=item.occurrences,
        created_at=item.created_at,
        last_seen_at=item.last_seen_at,
        resolved_at=item.resolved_at,
    )
