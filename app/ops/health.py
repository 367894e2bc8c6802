"""Health assembly, shared by ``GET /api/health`` and the GraphQL ``health`` query.

``collect`` does the I/O (one real database round trip, then one read-only snapshot of chains,
coverage and worker heartbeats), each step under a short deadline so health never hangs;
``assess`` turns what was read into a report and is pure, for tests.

Status:
- ``down``: the database did not answer.
- ``degraded``: the database answers but something needs attention: schema not migrated, the
  snapshot failed, no live ingester leader, or an enabled chain not Fresh.
- ``ok``: none of the above.

On top of that, the operational detail (app.ops.health_detail: budgets, upstream calls,
breakers, scheduler jobs, aggregate watermarks, validation, alerts) adds warnings, and
degrades status for an open breaker, a job failing JOB_FAILURES_DEGRADED runs in a row, a
validation run over its threshold, or a section that could not be read. ``reasons`` lists
the warnings that made the status what it is.

Each chain's warm status (Fresh / Lagging / Stale / Cold, app.warm) is judged from its
ingestion record: time since the last successful tip cycle and how far behind the head that
cycle left it, never from the newest transfer as the legacy backend did, so a quiet token with
healthy ingestion is Fresh. ``stale`` keeps its legacy meaning for clients: Stale or Cold.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from app.config import Config
from app.domain import Chain, DatabaseStatus, SchemaMode
from app.errors import TokenpulseError
from app.ops import health_detail
from app.ops import warm as ops_warm
from app.ops.state import AppState
from app.ops.warm import ChainWarm
from app.store import chains as store_chains
from app.store import freshness as store_freshness
from app.store import ingest_status as store_ingest_status
from app.store import pool as store_pool
from app.store import workers as store_workers
from app.store.ingest_status import IngestStatus
from app.warm import Thresholds, WarmStatus

log = logging.getLogger(__name__)

DB_WAIT_MAX_SECONDS = 2.0  # longest wait for a pooled connection; caps db_connect_timeout
HEARTBEATS_PER_LIFE = 3.0  # a worker is alive while its heartbeat is younger than 3 intervals


class Status(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Notice:
    """One item of ``warnings[]``: what needs attention, and whether waiting may fix it."""

    scope: str
    code: str
    message: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class WorkerHealth:
    worker_id: str
    hostname: str
    pid: int
    role: str
    version: str
    started_at: datetime
    heartbeat_at: datetime
    age_seconds: float
    alive: bool


@dataclass(frozen=True, slots=True)
class ChainHealth:
    chain: Chain
    ready: bool
    stale: bool
    warm: ChainWarm
    covered_blocks: int = 0
    ranges: int = 0
    first_covered_block: int | None = None
    last_covered_block: int | None = None
    first_time: datetime | None = None
    last_time: datetime | None = None
    last_block: int | None = None
    updated_at: datetime | None = None  # last coverage write: the last ingestion progress
    index_lag_seconds: float | None = None  # now - newest stored transfer
    ingest_lag_seconds: float | None = None  # now - last coverage write


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the store says about chains and workers; rows as the store returns them."""

    chains: Sequence[Mapping[str, Any]] = ()
    freshness: Sequence[Mapping[str, Any]] = ()
    workers: Sequence[Mapping[str, Any]] = ()
    ingest: Sequence[IngestStatus] = ()
    error: str | None = None
    detail: health_detail.Detail = field(default_factory=health_detail.Detail)


@dataclass(frozen=True, slots=True)
class Report:
    status: Status
    version: str
    checked_at: datetime
    started_at: datetime
    uptime_seconds: float
    database: DatabaseStatus
    chains: tuple[ChainHealth, ...]
    workers: tuple[WorkerHealth, ...]
    ingester: Status
    warnings: tuple[Notice, ...]
    snapshot_error: str | None = None
    notifications: Mapping[str, Any] | None = None  # the API's LISTEN queue (app.ops.listener)
    pid: int = field(default_factory=os.getpid)
    detail: health_detail.Detail = field(default_factory=health_detail.Detail)
    reasons: tuple[str, ...] = ()  # the warnings behind a degraded or down status
    pool: Mapping[str, int] = field(default_factory=dict)  # psycopg_pool get_stats()

    @property
    def schema_mode(self) -> SchemaMode | None:
        return self.database.mode

    @property
    def store_ready(self) -> bool:
        return self.database.ok and self.database.mode is not None

    @property
    def leader(self) -> WorkerHealth | None:
        return next((w for w in self.workers if w.alive and w.role == "leader"), None)


def database_fields(status: DatabaseStatus) -> dict[str, object]:
    """The ``database`` object of /api/health and /readyz, camelCase as on the wire."""
    return {
        "ok": status.ok,
        "latencyMs": status.latency_ms,
        "mode": status.mode.value if status.mode else None,
        "serverVersion": status.server_version,
        "error": status.error,
    }


def db_wait_seconds(config: Config) -> float:
    return min(DB_WAIT_MAX_SECONDS, config.settings.db_connect_timeout)


async def check_database(state: AppState) -> DatabaseStatus:
    """A real round trip, bounded even if the server accepts but never answers."""
    wait = db_wait_seconds(state.config)
    try:
        return await asyncio.wait_for(store_pool.check_database(state.pool, wait), wait + 1.0)
    except TimeoutError:
        return DatabaseStatus(False, None, None, None, error="the database did not answer in time")


async def collect(state: AppState) -> Report:
    database = await check_database(state)
    snapshot = Snapshot()
    if database.ok and database.mode is not None:
        snapshot = await _read_snapshot(state)
        if snapshot.error is None:
            wait = db_wait_seconds(state.config)
            detail = await health_detail.collect(state.pool, state.config.settings, wait)
            snapshot = replace(snapshot, detail=detail)
    return assess(state, database, snapshot, datetime.now(UTC))


async def _read_snapshot(state: AppState) -> Snapshot:
    wait = db_wait_seconds(state.config)
    try:
        return await asyncio.wait_for(_query_snapshot(state.pool, wait), wait + 2.0)
    except TimeoutError:
        error = "reading the store snapshot timed out"
    except TokenpulseError as exc:
        error = exc.message
    log.warning("health snapshot failed", extra={"error": error})
    return Snapshot(error=error)


async def _query_snapshot(pool: store_pool.Pool, wait: float) -> Snapshot:
    async with store_pool.transaction(pool, wait_seconds=wait) as conn:
        chains = await store_chains.list_chains(conn)
        freshness = await store_freshness.list_chain_freshness(conn)
        workers = await store_workers.list_workers(conn)
        ingest = await store_ingest_status.list_all(conn)
    return Snapshot(chains=chains, freshness=freshness, workers=workers, ingest=ingest)


def assess(state: AppState, database: DatabaseStatus, snapshot: Snapshot, now: datetime) -> Report:
    limits = ops_warm.thresholds(state.config.settings)
    chains = chain_health(state.config.chains, snapshot, now, limits)
    alive_for = HEARTBEATS_PER_LIFE * state.config.settings.worker_heartbeat_seconds
    workers = tuple(worker_health(row, alive_for) for row in snapshot.workers)
    ingester = ingester_status(workers)
    found = health_detail.findings(snapshot.detail) if database.ok else ()
    base = notices(database, snapshot, chains, ingester)
    warnings = base + tuple(
        Notice(item.scope, item.code, item.message, item.retryable) for item in found
    )
    status = overall_status(database, snapshot, chains, ingester)
    if status is Status.OK and any(item.degrades for item in found):
        status = Status.DEGRADED
    return Report(
        status=status,
        version=state.version,
        checked_at=now,
        started_at=datetime.fromtimestamp(state.started_at, UTC),
        uptime_seconds=state.uptime_seconds,
        database=database,
        chains=chains,
        workers=workers,
        ingester=ingester,
        warnings=warnings,
        snapshot_error=snapshot.error,
        notifications=state.listener.stats() if state.listener else None,
        detail=snapshot.detail,
        reasons=reasons(status, base, found),
        pool=dict(state.pool.get_stats()),
    )


_NOT_DEGRADING = frozenset({"INGESTER_FAILURES"})  # a chain still Fresh despite failed cycles


def reasons(
    status: Status, base: Sequence[Notice], found: Sequence[health_detail.Finding]
) -> tuple[str, ...]:
    """The messages of the warnings that set the status (none when it is ok)."""
    if status is Status.OK:
        return ()
    own = [item.message for item in base if item.code not in _NOT_DEGRADING]
    return (*own, *(item.message for item in found if item.degrades))


def chain_health(
    configured: Sequence[Chain],
    snapshot: Snapshot,
    now: datetime,
    limits: Thresholds | None = None,
) -> tuple[ChainHealth, ...]:
    """One entry per configured chain, joined with what the store knows about it."""
    rows = {row["chain_id"]: row for row in snapshot.chains}
    fresh = {row["chain_id"]: row for row in snapshot.freshness}
    warm = ops_warm.assess(
        configured, snapshot.chains, snapshot.ingest, now, limits or Thresholds()
    )
    return tuple(
        _chain_health(item, rows.get(item.chain.id, {}), fresh.get(item.chain.id, {}), now)
        for item in warm
    )


def _chain_health(
    warm: ChainWarm, row: Mapping[str, Any], fresh: Mapping[str, Any], now: datetime
) -> ChainHealth:
    covered = int(row.get("covered_blocks") or 0)
    last_time = fresh.get("last_time")
    updated_at = fresh.get("coverage_updated_at")
    return ChainHealth(
        chain=warm.chain,
        ready=covered > 0 or last_time is not None,
        stale=warm.warm in (WarmStatus.STALE, WarmStatus.COLD),
        warm=warm,
        covered_blocks=covered,
        ranges=int(row.get("ranges") or 0),
        first_covered_block=row.get("first_covered_block"),
        last_covered_block=row.get("last_covered_block"),
        first_time=fresh.get("first_time"),
        last_time=last_time,
        last_block=fresh.get("last_block"),
        updated_at=updated_at,
        index_lag_seconds=_age(last_time, now),
        ingest_lag_seconds=_age(updated_at, now),
    )


def _age(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else round(max(0.0, (now - then).total_seconds()), 3)


def worker_health(row: Mapping[str, Any], alive_for: float) -> WorkerHealth:
    age = float(row["age_seconds"])
    return WorkerHealth(
        worker_id=row["worker_id"],
        hostname=row["hostname"],
        pid=row["pid"],
        role=row["role"],
        version=row["version"],
        started_at=row["started_at"],
        heartbeat_at=row["heartbeat_at"],
        age_seconds=round(age, 3),
        alive=age <= alive_for,
    )


def ingester_status(workers: Sequence[WorkerHealth]) -> Status:
    """ok with a live leader; degraded with live standbys only; down with nobody alive."""
    alive = [worker for worker in workers if worker.alive]
    if any(worker.role == "leader" for worker in alive):
        return Status.OK
    return Status.DEGRADED if alive else Status.DOWN


def overall_status(
    database: DatabaseStatus,
    snapshot: Snapshot,
    chains: Sequence[ChainHealth],
    ingester: Status,
) -> Status:
    if not database.ok:
        return Status.DOWN
    if database.mode is None or snapshot.error is not None or ingester is not Status.OK:
        return Status.DEGRADED
    if any(item.warm.warm is not WarmStatus.FRESH for item in chains if item.chain.enabled):
        return Status.DEGRADED
    return Status.OK


def notices(
    database: DatabaseStatus,
    snapshot: Snapshot,
    chains: Sequence[ChainHealth],
    ingester: Status,
) -> tuple[Notice, ...]:
    if not database.ok:
        detail = database.error or "no answer"
        return (Notice("store", "DATABASE_UNAVAILABLE", f"database unreachable: {detail}", True),)
    if database.mode is None:
        text = "the database schema is not migrated; run `tokenpulse migrate`"
        return (Notice("store", "SCHEMA_NOT_MIGRATED", text, False),)
    if snapshot.error is not None:
        text = f"could not read the store snapshot: {snapshot.error}"
        return (Notice("store", "STORE_SNAPSHOT_FAILED", text, True),)
    found = list(_ingester_notices(ingester))
    for item in chains:
        if item.chain.enabled:
            found += [n for n in (_chain_notice(item), _failure_notice(item)) if n is not None]
    return tuple(found)


def _ingester_notices(ingester: Status) -> Sequence[Notice]:
    if ingester is Status.DOWN:
        return (Notice("ingester", "INGESTER_DOWN", "no live worker heartbeat", True),)
    if ingester is Status.DEGRADED:
        text = "workers are alive but none holds the leader lock"
        return (Notice("ingester", "INGESTER_NO_LEADER", text, True),)
    return ()


_WARM_CODES = {
    WarmStatus.LAGGING: "CHAIN_LAGGING",
    WarmStatus.STALE: "STORE_DATA_STALE",
    WarmStatus.COLD: "STORE_DATA_NOT_READY",
}


def _chain_notice(item: ChainHealth) -> Notice | None:
    reading = item.warm.reading
    code = _WARM_CODES.get(reading.status)
    if code is None:
        return None
    text = f"{item.chain.name}: {reading.status.value}, {reading.reason}"
    return Notice(f"chain:{item.chain.id}", code, text, True)


def _failure_notice(item: ChainHealth) -> Notice | None:
    status = item.warm.status
    if status is None or status.consecutive_failures == 0:
        return None
    text = (
        f"{item.chain.name}: {status.consecutive_failures} failed tip cycle(s) in a row;"
        f" last error: {status.last_error or 'unknown'}"
    )
    return Notice(f"chain:{item.chain.id}", "INGESTER_FAILURES", text, True)
