"""Health assembly, shared by ``GET /api/health`` and the GraphQL ``health`` query.

``collect`` does the I/O (one real database round trip, then one read-only snapshot of chains,
coverage and worker heartbeats), each step under a short deadline so health never hangs;
``assess`` turns what was read into a report and is pure, for tests.

Status:
- ``down``: the database did not answer.
- ``degraded``: the database answers but something needs attention: schema not migrated, the
  snapshot failed, no live ingester leader, or an enabled chain not ready or stale.
- ``ok``: none of the above.

Staleness is measured from the chain's last coverage write (ingestion progress), not from its
newest transfer as the legacy backend did, so a quiet token with healthy ingestion is not stale.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.config import Config
from app.domain import Chain, DatabaseStatus, SchemaMode
from app.errors import TokenpulseError
from app.ops.state import AppState
from app.store import chains as store_chains
from app.store import freshness as store_freshness
from app.store import pool as store_pool
from app.store import workers as store_workers

log = logging.getLogger(__name__)

STALE_AFTER_SECONDS = 900.0  # the legacy INGEST_STALE_THRESHOLD_SECONDS default
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
    error: str | None = None


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
    pid: int = field(default_factory=os.getpid)

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
    return Snapshot(chains=chains, freshness=freshness, workers=workers)


def assess(state: AppState, database: DatabaseStatus, snapshot: Snapshot, now: datetime) -> Report:
    chains = chain_health(state.config.chains, snapshot, now)
    alive_for = HEARTBEATS_PER_LIFE * state.config.settings.worker_heartbeat_seconds
    workers = tuple(worker_health(row, alive_for) for row in snapshot.workers)
    ingester = ingester_status(workers)
    warnings = notices(database, snapshot, chains, ingester)
    return Report(
        status=overall_status(database, snapshot, chains, ingester),
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
    )


def chain_health(
    configured: Sequence[Chain], snapshot: Snapshot, now: datetime
) -> tuple[ChainHealth, ...]:
    """One entry per configured chain, joined with what the store knows about it."""
    rows = {row["chain_id"]: row for row in snapshot.chains}
    fresh = {row["chain_id"]: row for row in snapshot.freshness}
    return tuple(
        _chain_health(chain, rows.get(chain.id, {}), fresh.get(chain.id, {}), now)
        for chain in configured
    )


def _chain_health(
    chain: Chain, row: Mapping[str, Any], fresh: Mapping[str, Any], now: datetime
) -> ChainHealth:
    covered = int(row.get("covered_blocks") or 0)
    last_time = fresh.get("last_time")
    updated_at = fresh.get("coverage_updated_at")
    ready = covered > 0 or last_time is not None
    ingest_lag = _age(updated_at, now)
    stale = not ready or ingest_lag is None or ingest_lag > STALE_AFTER_SECONDS
    return ChainHealth(
        chain=chain,
        ready=ready,
        stale=stale,
        covered_blocks=covered,
        ranges=int(row.get("ranges") or 0),
        first_covered_block=row.get("first_covered_block"),
        last_covered_block=row.get("last_covered_block"),
        first_time=fresh.get("first_time"),
        last_time=last_time,
        last_block=fresh.get("last_block"),
        updated_at=updated_at,
        index_lag_seconds=_age(last_time, now),
        ingest_lag_seconds=ingest_lag,
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
    if any(item.stale for item in chains if item.chain.enabled):
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
    found += [notice for item in chains if (notice := _chain_notice(item)) is not None]
    return tuple(found)


def _ingester_notices(ingester: Status) -> Sequence[Notice]:
    if ingester is Status.DOWN:
        return (Notice("ingester", "INGESTER_DOWN", "no live worker heartbeat", True),)
    if ingester is Status.DEGRADED:
        text = "workers are alive but none holds the leader lock"
        return (Notice("ingester", "INGESTER_NO_LEADER", text, True),)
    return ()


def _chain_notice(item: ChainHealth) -> Notice | None:
    chain = item.chain
    if not chain.enabled or not item.stale:
        return None
    scope = f"chain:{chain.id}"
    if not item.ready:
        text = f"{chain.name}: no transfers or coverage stored yet"
        return Notice(scope, "STORE_DATA_NOT_READY", text, True)
    lag = item.ingest_lag_seconds
    since = "recorded" if lag is None else f"for {lag:.0f}s"
    return Notice(scope, "STORE_DATA_STALE", f"{chain.name}: no ingestion progress {since}", True)
