"""The JOBS table: every job the leader schedules, by name, with its trigger and limits.

Jobs are single-instance and coalesced (a slow run never overlaps the next, a backlog runs
once), each has an explicit misfire grace time, and each runs through :func:`run_job`, which
re-checks leadership first (a deposed leader must not write) and logs failures instead of
raising them into the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from app.config import Config
from app.store import chains, workers
from app.store import pool as store_pool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job may use: the configuration, the worker's pool and a leadership check."""

    config: Config
    pool: store_pool.Pool
    is_leader: Callable[[], Awaitable[bool]]
    # The tasks of the runs in progress, so a leader stepping down can wait for them to end.
    running: set[asyncio.Task[Any]] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    func: Callable[[JobContext], Awaitable[None]]
    every: timedelta
    misfire_grace_time: int  # seconds a run may start late before it is skipped
    at_leadership_start: bool = False  # also run as soon as this worker becomes leader

    def trigger(self) -> Any:
        # A fresh trigger per schedule: IntervalTrigger anchors on its creation time.
        return IntervalTrigger(seconds=self.every.total_seconds(), timezone=UTC)


def stale_after(config: Config) -> float:
    """Seconds without a heartbeat after which a worker's row is considered dead."""
    return max(3 * config.settings.worker_heartbeat_seconds, 15.0)


async def sync_chains(ctx: JobContext) -> None:
    """Mirror the configured chains into the database (a new chain appears without a migrate)."""
    async with ctx.pool.connection() as conn, conn.transaction():
        changed = await chains.upsert_chains(conn, ctx.config.chains)
    log.info("chains synced", extra={"changed": changed})


async def prune_heartbeats(ctx: JobContext) -> None:
    """Delete the rows of workers that stopped without saying goodbye (killed, host lost)."""
    async with ctx.pool.connection() as conn, conn.transaction():
        deleted = await workers.delete_stale(conn, stale_after(ctx.config))
    if deleted:
        log.info("stale heartbeats pruned", extra={"deleted": deleted})


JOBS: tuple[Job, ...] = (
    Job(
        "sync_chains",
        sync_chains,
        every=timedelta(minutes=10),
        misfire_grace_time=300,
        at_leadership_start=True,
    ),
    Job("prune_heartbeats", prune_heartbeats, every=timedelta(minutes=1), misfire_grace_time=30),
)


def schedule(scheduler: Any, ctx: JobContext, jobs: tuple[Job, ...] = JOBS) -> None:
    """Add every job to a (not yet started) AsyncIOScheduler."""
    now = datetime.now(UTC)
    for job in jobs:
        first_run = {"next_run_time": now} if job.at_leadership_start else {}
        scheduler.add_job(
            run_job,
            trigger=job.trigger(),
            args=[job, ctx],
            id=job.id,
            name=job.id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=job.misfire_grace_time,
            **first_run,
        )


async def run_job(job: Job, ctx: JobContext) -> None:
    """Run one job; never raises, except cancellation (the leader is stepping down)."""
    task = asyncio.current_task()
    if task is not None:
        ctx.running.add(task)
        task.add_done_callback(ctx.running.discard)
    try:
        if not await ctx.is_leader():
            log.warning("job skipped: no longer the leader", extra={"job": job.id})
            return
        started = time.perf_counter()
        await job.func(ctx)
    except asyncio.CancelledError:
        log.info("job cancelled", extra={"job": job.id})
        raise
    except Exception:
        log.exception("job failed", extra={"job": job.id})
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    log.info("job done", extra={"job": job.id, "duration_ms": duration_ms})
