"""Scheduler job runs: one summary row per job (last run, outcome, failures, next run).

Written by the leader worker after every run (schedulers.jobs.run_job), read by health, the
status page and the metrics of any API process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("job_runs")
Outcome = Literal["ok", "failed"]


@dataclass(frozen=True, slots=True)
class Run:
    """One finished run, as the worker reports it."""

    job: str
    worker: str | None
    started_at: datetime
    finished_at: datetime
    outcome: Outcome
    duration_ms: float
    error: str | None = None
    next_run_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class JobRuns:
    """A job's summary row."""

    job: str
    worker: str | None
    last_started_at: datetime
    last_finished_at: datetime
    last_outcome: str
    last_duration_ms: float
    last_error: str | None
    last_success_at: datetime | None
    consecutive_failures: int
    runs: int
    failures: int
    next_run_at: datetime | None
    updated_at: datetime


@wrap_exceptions
async def record(conn: Connection, run: Run) -> None:
    """Fold one run into its job's row (created at the job's first run)."""
    params = {
        "job": run.job,
        "worker": run.worker,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "outcome": run.outcome,
        "duration_ms": max(0.0, run.duration_ms),
        "error": run.error,
        "next_run_at": run.next_run_at,
    }
    await conn.execute(Q["record"], params)


@wrap_exceptions
async def list_runs(conn: Connection) -> list[JobRuns]:
    cur = await conn.execute(Q["list_runs"])
    return [JobRuns(**row) for row in await cur.fetchall()]
