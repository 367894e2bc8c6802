"""``GET /api/health``: the legacy health document (legacy-api.md §7.1) plus database detail.

It always answers 200 with the whole document while the process can answer at all: a load
balancer wants ``/readyz``, a human wants to know *why* something is down. Fields the store
cannot fill yet (transfer totals, upstream totals) are ``null``, never a made-up 0.

Warm status (Fresh / Lagging / Stale / Cold per chain, from ``ingest_status``) is in each
chain's ``warmStatus`` and summarised in ``warm``; ``meta.queueDepth`` and
``services.notifications`` show the API's LISTEN/NOTIFY queue.

``reasons`` says why the status is not ok; the operational sections (``budgets``,
``upstreams``, ``breakers``, ``jobs``, ``analytics``, ``validation``, ``alerts``, ``pool``)
come from app.ops.health_detail and are shaped by app.rest.health_fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.ops import health, state
from app.ops import warm as ops_warm
from app.ops.health import ChainHealth, Notice, Report, WorkerHealth
from app.rest import health_fields

INGESTER_MANAGED_BY = "tokenpulse worker"


async def endpoint(request: Request) -> JSONResponse:
    report = await health.collect(state.of(request))
    return JSONResponse(document(report))


def document(report: Report) -> dict[str, Any]:
    uptime = round(report.uptime_seconds, 3)
    return {
        "status": report.status.value,
        "reasons": list(report.reasons),
        "timestamp": _iso(report.checked_at),
        "uptimeSeconds": uptime,
        "uptime": {"seconds": uptime, "startedAt": _iso(report.started_at)},
        "version": report.version,
        "schemaMode": report.schema_mode.value if report.schema_mode else None,
        "database": health.database_fields(report.database),
        "meta": _meta(report),
        "store": {
            "enabled": True,
            "ready": report.store_ready,
            "error": report.database.error or report.snapshot_error,
        },
        "warm": _warm(report),
        "chains": [chain(item) for item in report.chains],
        "services": {
            "backend": {"pid": report.pid, "status": "ok"},
            "ingester": _ingester(report),
            "notifications": report.notifications,
        },
        "warnings": [notice(item) for item in report.warnings],
        **health_fields.sections(report.detail, report.pool),
    }


def _meta(report: Report) -> dict[str, Any]:
    enabled = [item for item in report.chains if item.chain.enabled]
    return {
        "ready": report.store_ready and all(item.ready for item in enabled),
        "stale": any(item.stale for item in enabled),
        "indexLagSec": _max(item.index_lag_seconds for item in enabled),
        "totalTransfers": None,
        "queueDepth": report.notifications["queueDepth"] if report.notifications else None,
    }


def _warm(report: Report) -> dict[str, Any]:
    """The worst warm status of the enabled chains and how many are in each state."""
    items = [item.warm for item in report.chains]
    worst = ops_warm.worst(items)
    return {
        "status": worst.value if worst else None,
        "allFresh": worst is None or worst.value == "fresh",
        "chains": ops_warm.counts(items),
    }


def chain(item: ChainHealth) -> dict[str, Any]:
    """A legacy chain snapshot (§1.3) with the per-chain fields HEALTH-ENDPOINT.md promised."""
    lag = item.index_lag_seconds
    warm = item.warm
    status = warm.status
    return {
        "chainId": item.chain.id,
        "chainName": item.chain.name,
        "slug": item.chain.slug,
        "enabled": item.chain.enabled,
        "ready": item.ready,
        "stale": item.stale,
        "indexLagSeconds": lag,
        "lagHuman": None if lag is None else f"{lag:.0f}s",
        "ingestLagSeconds": item.ingest_lag_seconds,
        "totalTransfers": None,
        "upstreamTotalTransfers": None,
        "upstreamLastBlock": None,
        "upstreamUpdatedAt": None,
        "lastBlock": item.last_block,
        "lastTimestamp": int(item.last_time.timestamp()) if item.last_time else None,
        "firstTime": _iso(item.first_time),
        "lastTime": _iso(item.last_time),
        "updatedAt": _iso(item.updated_at),
        "warmStatus": warm.warm.value,
        "warmReason": warm.reading.reason,
        "head": status.head if status else None,
        "safeHead": status.safe_head if status else None,
        "headLag": warm.reading.head_lag_blocks,
        "lagSeconds": warm.reading.lag_seconds,
        "sinceSuccessSeconds": warm.reading.since_success_seconds,
        "lastSuccessAt": _iso(status.last_success_at if status else None),
        "lastErrorAt": _iso(status.last_error_at if status else None),
        "lastError": status.last_error if status else None,
        "consecutiveFailures": status.consecutive_failures if status else 0,
        "backoffUntil": _iso(status.backoff_until if status else None),
        "coverage": {
            "coveredBlocks": item.covered_blocks,
            "firstCoveredBlock": item.first_covered_block,
            "lastCoveredBlock": item.last_covered_block,
            "ranges": item.ranges,
        },
    }


def _ingester(report: Report) -> dict[str, Any]:
    enabled = [item for item in report.chains if item.chain.enabled]
    statuses = [item.warm.status for item in enabled if item.warm.status is not None]
    leader = report.leader
    return {
        "managedBy": INGESTER_MANAGED_BY,
        "status": report.ingester.value,
        "leader": leader.worker_id if leader else None,
        "workers": [worker(item) for item in report.workers],
        "lastSuccessAt": _iso(_latest(s.last_success_at for s in statuses)),
        "lastErrorAt": _iso(_latest(s.last_error_at for s in statuses)),
        "summary": {
            "chains": len(enabled),
            "chainsReady": sum(item.ready for item in enabled),
            "chainsStale": sum(item.stale for item in enabled),
            "chainsFailing": sum(s.consecutive_failures > 0 for s in statuses),
            "maxConsecutiveFailures": max((s.consecutive_failures for s in statuses), default=0),
            "maxBackoffUntil": _iso(_latest(s.backoff_until for s in statuses)),
            "maxLagSeconds": _max(item.warm.reading.lag_seconds for item in enabled),
        },
    }


def worker(item: WorkerHealth) -> dict[str, Any]:
    return {
        "workerId": item.worker_id,
        "hostname": item.hostname,
        "pid": item.pid,
        "role": item.role,
        "version": item.version,
        "startedAt": _iso(item.started_at),
        "heartbeatAt": _iso(item.heartbeat_at),
        "ageSeconds": item.age_seconds,
        "alive": item.alive,
    }


def notice(item: Notice) -> dict[str, Any]:
    return {
        "scope": item.scope,
        "code": item.code,
        "message": item.message,
        "retryable": item.retryable,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _latest(moments: Iterable[datetime | None]) -> datetime | None:
    return max((moment for moment in moments if moment is not None), default=None)


def _max(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None
