"""``health`` and ``version``: the same assessment as ``GET /api/health``."""

from __future__ import annotations

from typing import Any

from app.domain import DatabaseStatus
from app.graphql.context import Info
from app.graphql.resolvers import health_detail as detail
from app.graphql.resolvers import warm as warm_resolvers
from app.graphql.types.health import DatabaseHealth, Health, HealthWarning, Worker, WorkerRole
from app.ops import health as ops_health
from app.ops import health_detail as ops_detail


async def health(info: Info) -> Health:
    return from_report(await ops_health.collect(info.context.state))


def version(info: Info) -> str:
    return info.context.state.version


def from_report(report: ops_health.Report) -> Health:
    return Health(
        status=report.status,
        version=report.version,
        uptime_seconds=round(report.uptime_seconds, 3),
        started_at=report.started_at,
        checked_at=report.checked_at,
        database=_database(report.database),
        ingester=report.ingester,
        workers=[_worker(item) for item in report.workers],
        warnings=[
            HealthWarning(
                scope=item.scope, code=item.code, message=item.message, retryable=item.retryable
            )
            for item in report.warnings
        ],
        notification_queue_depth=(
            report.notifications["queueDepth"] if report.notifications else None
        ),
        reasons=list(report.reasons),
        chains=[warm_resolvers.from_item(item.warm) for item in report.chains],
        **_detail(report.detail),
    )


def _detail(item: ops_detail.Detail) -> dict[str, Any]:
    return {
        "budgets": None if item.keys is None else [detail.key(k) for k in item.keys],
        "upstreams": None if item.providers is None else [detail.calls(c) for c in item.providers],
        "breakers": detail.breakers(item.breakers),
        "jobs": detail.jobs(item.jobs),
        "analytics": detail.analytics(item.analytics),
        "validation": detail.validation(item.validation),
        "alerts": None if item.alerts is None else [detail.alert(a) for a in item.alerts],
    }


def _database(status: DatabaseStatus) -> DatabaseHealth:
    return DatabaseHealth(
        ok=status.ok,
        latency_ms=status.latency_ms,
        mode=status.mode,
        server_version=status.server_version,
        error=status.error,
    )


def _worker(item: ops_health.WorkerHealth) -> Worker:
    return Worker(
        worker_id=item.worker_id,
        hostname=item.hostname,
        pid=item.pid,
        role=WorkerRole(item.role),
        version=item.version,
        started_at=item.started_at,
        heartbeat_at=item.heartbeat_at,
        age_seconds=item.age_seconds,
        alive=item.alive,
    )
