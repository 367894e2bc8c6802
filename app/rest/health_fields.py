"""The operational sections of ``GET /api/health`` (app.ops.health_detail), camelCase.

A section the store could not give is ``null`` (breakers before their migration, say), an
empty list means "none": a client can tell "unknown" from "all clear".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.ops.health_detail import (
    Alert,
    Analytics,
    Breaker,
    Detail,
    KeyUsage,
    ProviderCalls,
    Validation,
    Window,
)
from app.store.job_runs import JobRuns


def sections(detail: Detail, pool: Mapping[str, int]) -> dict[str, Any]:
    return {
        "budgets": _list(detail.keys, key_usage),
        "upstreams": _list(detail.providers, provider_calls),
        "breakers": {
            "known": detail.breakers is not None,
            "items": _list(detail.breakers, breaker),
        },
        "jobs": {"known": detail.jobs is not None, "items": _list(detail.jobs, job)},
        "analytics": None if detail.analytics is None else analytics(detail.analytics),
        "validation": None if detail.validation is None else validation(detail.validation),
        "alerts": _list(detail.alerts, alert),
        "pool": dict(pool),
        "detailErrors": list(detail.errors),
    }


def _list(items: Any, shape: Any) -> list[dict[str, Any]] | None:
    return None if items is None else [shape(item) for item in items]


def window(item: Window) -> dict[str, Any]:
    return {"used": item.used, "allowed": item.allowed, "left": item.left}


def key_usage(item: KeyUsage) -> dict[str, Any]:
    return {
        "keyId": item.key_id,
        "provider": item.provider,
        "label": item.label,
        "lastHour": window(item.last_hour),
        "lastDay": window(item.last_day),
        "today": window(item.today),
        "rateLimited1h": item.rate_limited_1h,
        "rateLimited24h": item.rate_limited_24h,
        "rateLimitHits": item.rate_limit_hits,
        "quotaExhausted": item.quota_exhausted,
        "backoffSeconds": item.backoff_seconds,
    }


def provider_calls(item: ProviderCalls) -> dict[str, Any]:
    return {
        "provider": item.provider,
        "outcome": item.outcome,
        "calls1h": item.calls_1h,
        "calls24h": item.calls_24h,
        "avgLatencyMs1h": item.avg_latency_ms_1h,
        "avgLatencyMs24h": item.avg_latency_ms_24h,
        "maxLatencyMs24h": item.max_latency_ms_24h,
    }


def breaker(item: Breaker) -> dict[str, Any]:
    return {
        "name": item.name,
        "provider": item.provider,
        "state": item.state,
        "failures": item.failures,
        "openedAt": iso(item.opened_at),
        "changedAt": iso(item.changed_at),
        "openSeconds": item.open_seconds,
    }


def job(item: JobRuns) -> dict[str, Any]:
    return {
        "job": item.job,
        "worker": item.worker,
        "lastStartedAt": iso(item.last_started_at),
        "lastFinishedAt": iso(item.last_finished_at),
        "lastOutcome": item.last_outcome,
        "lastDurationMs": item.last_duration_ms,
        "lastError": item.last_error,
        "lastSuccessAt": iso(item.last_success_at),
        "consecutiveFailures": item.consecutive_failures,
        "runs": item.runs,
        "failures": item.failures,
        "nextRunAt": iso(item.next_run_at),
    }


def analytics(item: Analytics) -> dict[str, Any]:
    refresh = item.last_refresh
    return {
        "dirtyRanges": item.dirty_ranges,
        "oldestDirtyFrom": iso(item.oldest_dirty_from),
        "watermarks": {name: iso(moment) for name, moment in sorted(item.watermarks.items())},
        "lastRefreshAt": iso(refresh.last_finished_at if refresh else None),
        "lastRefreshOutcome": refresh.last_outcome if refresh else None,
    }


def validation(item: Validation) -> dict[str, Any]:
    return {
        "id": item.id,
        "origin": item.origin,
        "finishedAt": iso(item.finished_at),
        "threshold": item.threshold,
        "flagged": item.flagged,
        "maxVariance": item.max_variance,
    }


def alert(item: Alert) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "severity": item.severity,
        "chainId": item.chain_id,
        "message": item.message,
        "occurrences": item.occurrences,
        "createdAt": iso(item.created_at),
        "lastSeenAt": iso(item.last_seen_at),
        "resolvedAt": iso(item.resolved_at),
    }


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
