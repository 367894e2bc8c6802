"""The worker: leader election, heartbeats and the job scheduler, until told to stop.

Every worker keeps one dedicated connection for the leader lock, a session-level advisory
lock (settings.leader_lock_key). Whoever holds it is the leader and runs the JOBS table on an
AsyncIOScheduler; the others are standbys and try the lock every leader_poll_seconds. When a
leader dies its session ends, the server frees the lock and a standby takes over on its next
try. A leader re-checks its lock on every poll and before every job: when the connection is
gone it stops its jobs and becomes a standby again, so it never keeps acting as a second leader.

The leader also opens the ingestion runtime (app.ingest.runtime.Ingestor: HTTP client,
upstream clients, the PostgreSQL rate budget) for its jobs and closes it when it steps down.

Each worker also writes a heartbeat row (role leader/standby) every worker_heartbeat_seconds,
and deletes it when it stops cleanly. ``run_worker`` is what both ``tokenpulse worker`` and
the in-process worker of ``tokenpulse demo`` run; the caller owns signals and the stop event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import UTC, datetime
from typing import Any, Literal

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app import __version__
from app.alerting import dbwatch
from app.config import Config
from app.errors import StoreError
from app.ingest.runtime import Ingestor
from app.store import pool as store_pool
from app.store import workers
from schedulers import jobs

log = logging.getLogger(__name__)
Role = Literal["leader", "standby"]
TAKEOVER_MARGIN_SECONDS = 0.5  # covers the old leader's lock check and job cancellation
# (idle, interval) seconds of server-side keepalives on the lock session: a leader whose host
# vanished loses the lock after ~idle + 3 * interval = 11 s, not the kernel's default hours.
LOCK_KEEPALIVE = (5, 2)


async def run_worker(config: Config, *, dsn: str | None = None, stop: asyncio.Event) -> None:
    """Run one worker until ``stop`` is set; then stop the jobs and remove its heartbeat."""
    # Our run_job logs every run; APScheduler's own per-run INFO lines would double them.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    await Worker(config, dsn=dsn).run(stop)


def identity() -> workers.WorkerIdentity:
    host, pid = socket.gethostname(), os.getpid()
    return workers.WorkerIdentity(
        worker_id=f"{host}:{pid}:{secrets.token_hex(3)}",
        hostname=host,
        pid=pid,
        version=__version__,
        started_at=datetime.now(UTC),
    )


class Worker:
    def __init__(self, config: Config, *, dsn: str | None = None) -> None:
        self.config = config
        self.settings = config.settings
        self.dsn = dsn
        self.identity = identity()
        self.pool = store_pool.create(config.settings, dsn=dsn, name="worker")
        self.role: Role = "standby"
        # A lock operation slower than this counts as a lost connection.
        self.lock_timeout = max(
            self.settings.db_connect_timeout, 2 * self.settings.leader_poll_seconds
        )
        self._lock_conn: store_pool.Connection | None = None
        self._scheduler: Any = None
        self._ingestor: Ingestor | None = None
        self._job_state = jobs.JobState()
        self._running_jobs: set[asyncio.Task[Any]] = set()
        self._beat_lock = asyncio.Lock()
        self._last_problem: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        await self.pool.open(wait=False)
        log.info("worker started", extra={"worker_id": self.identity.worker_id})
        beats = asyncio.create_task(self._heartbeats(stop), name="worker-heartbeats")
        # Outside the leader's scheduler: with the database gone there is no leader, no job.
        watch = dbwatch.DatabaseWatch.for_pool(self.config, self.pool, self._leads)
        watching = asyncio.create_task(watch.run(stop), name="database-watch")
        try:
            while not stop.is_set():
                await self._elect(stop)
                await _sleep_until(stop, self.settings.leader_poll_seconds)
        finally:
            beats.cancel()
            watching.cancel()
            await asyncio.gather(beats, watching, return_exceptions=True)
            await self._step_down("worker stopping", publish=False)
            await self._goodbye()
            await self.pool.close()
            log.info("worker stopped", extra={"worker_id": self.identity.worker_id})

    async def _elect(self, stop: asyncio.Event) -> None:
        if self.role == "leader":
            if not await self._holds_lock():
                await self._step_down("lost the leader lock", lost=True)
        elif await self._try_lock():
            await self._lead(stop)

    async def _lead(self, stop: asyncio.Event) -> None:
        # The lock is ours, but a previous leader whose session the server ended may not have
        # noticed yet: it does on its next poll, and stops its jobs then. Wait that long before
        # acting, so its jobs and ours never overlap.
        await _sleep_until(stop, self.settings.leader_poll_seconds + TAKEOVER_MARGIN_SECONDS)
        if stop.is_set() or not await self._holds_lock():
            await self._close_lock_conn()
            return
        try:
            self._ingestor = await Ingestor.open(self.config, self.pool)
        except Exception as exc:  # e.g. the database went away: try again on the next poll
            self._problem("cannot start ingestion", exc)
            await self._close_lock_conn()
            return
        self.role = "leader"
        log.info("leadership acquired", extra={"worker_id": self.identity.worker_id})
        await self._beat()
        scheduler = AsyncIOScheduler(timezone=UTC)
        self._job_state = jobs.JobState()
        ctx = jobs.JobContext(
            self.config,
            self.pool,
            self.is_leader,
            self._running_jobs,
            ingestor=self._ingestor,
            state=self._job_state,
        )
        jobs.schedule(scheduler, ctx, jobs.plan(self.config))
        scheduler.start()
        self._scheduler = scheduler

    async def _step_down(self, reason: str, *, lost: bool = False, publish: bool = True) -> None:
        """Stop the jobs, say so, then free the lock: in that order, so two never overlap."""
        await self._stop_jobs(grace=0.0 if lost else jobs.STOP_GRACE_SECONDS)
        if self.role == "leader":
            log.log(
                logging.WARNING if lost else logging.INFO,
                "leadership released",
                extra={"reason": reason, "worker_id": self.identity.worker_id},
            )
            self.role = "standby"
            if publish:
                await self._beat()
        await self._close_lock_conn()

    async def _stop_jobs(self, grace: float) -> None:
        self._job_state.stop_grace = grace
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        running = list(self._running_jobs)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        ingestor, self._ingestor = self._ingestor, None
        if ingestor is not None:
            try:
                await ingestor.close()
            except Exception as exc:  # closing HTTP connections must not stop a step-down
                log.warning("could not close the ingestor", extra={"error": str(exc)})

    def _leads(self) -> bool:
        return self.role == "leader"

    async def is_leader(self) -> bool:
        """The fencing check jobs run first: still leader, and the lock session still alive."""
        return self.role == "leader" and await self._holds_lock()

    async def _holds_lock(self) -> bool:
        conn = self._lock_conn
        if conn is None:
            return False
        try:
            key = self.settings.leader_lock_key
            held = await asyncio.wait_for(workers.holds_leader_lock(conn, key), self.lock_timeout)
        except (StoreError, TimeoutError) as exc:
            self._problem("leader lock connection lost", exc)
            return False
        return held

    async def _try_lock(self) -> bool:
        try:
            conn = await self._lock_connection()
            key = self.settings.leader_lock_key
            got = await asyncio.wait_for(workers.try_leader_lock(conn, key), self.lock_timeout)
        except (StoreError, TimeoutError) as exc:
            self._problem("cannot reach the database for the leader lock", exc)
            await self._close_lock_conn()
            return False
        self._problem(None)
        return got

    async def _lock_connection(self) -> store_pool.Connection:
        if self._lock_conn is None or self._lock_conn.closed:
            conn = await asyncio.wait_for(
                store_pool.connect(self.settings, dsn=self.dsn, autocommit=True),
                self.lock_timeout,
            )
            self._lock_conn = conn
            await asyncio.wait_for(
                workers.configure_lock_session(conn, *LOCK_KEEPALIVE), self.lock_timeout
            )
        return self._lock_conn

    async def _close_lock_conn(self) -> None:
        # Ending the session frees the lock even if an explicit unlock could not be sent.
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._beat()
            await _sleep_until(stop, self.settings.worker_heartbeat_seconds)

    async def _beat(self) -> None:
        # Serialised, and the role is read inside the lock: the last row written is the truth.
        async with self._beat_lock:
            try:
                async with self.pool.connection() as conn, conn.transaction():
                    await workers.upsert_heartbeat(conn, self.identity, self.role)
            except Exception as exc:  # a missed heartbeat is logged, never fatal
                self._problem("heartbeat failed", exc)

    async def _goodbye(self) -> None:
        try:
            async with self.pool.connection() as conn, conn.transaction():
                await workers.delete_heartbeat(conn, self.identity.worker_id)
        except Exception as exc:  # the prune job removes the row later
            log.warning("could not remove the heartbeat row", extra={"error": str(exc)})

    def _problem(self, what: str | None, exc: BaseException | None = None) -> None:
        """Log a database problem once when it starts, and once when it is over."""
        text = f"{what}: {str(exc) or type(exc).__name__}" if what else None
        if text == self._last_problem:
            return
        if text is not None:
            log.warning(text, extra={"worker_id": self.identity.worker_id})
        elif self._last_problem is not None:
            log.info("database reachable again", extra={"worker_id": self.identity.worker_id})
        self._last_problem = text


async def _sleep_until(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
