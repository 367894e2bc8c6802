"""Recording each job run in the ``job_runs`` table (app.store.job_runs), for health.

The scheduler lives only in the leader's memory; this row per job is how an API process
knows each job's last run, outcome, next run and consecutive failures. Recording is best
effort: a failed write is logged and never fails or retries the job itself.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime

from app.logging import Redactor
from app.store import job_runs
from app.store import pool as store_pool

log = logging.getLogger(__name__)
ERROR_MAX_CHARS = 500  # the error column is for a glance; the full traceback is in the logs
WORKER = f"{socket.gethostname()}:{os.getpid()}"


def error_text(exc: BaseException, secrets: tuple[str, ...]) -> str:
    """The exception's class and message, secrets redacted, cut to a glanceable length."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Redactor(secrets)(text)[:ERROR_MAX_CHARS]


async def record(
    pool: store_pool.Pool,
    job: str,
    started_at: datetime,
    duration_ms: float,
    *,
    error: str | None = None,
    next_run_at: datetime | None = None,
) -> None:
    run = job_runs.Run(
        job=job,
        worker=WORKER,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        outcome="ok" if error is None else "failed",
        duration_ms=duration_ms,
        error=error,
        next_run_at=next_run_at,
    )
    try:
        async with pool.connection() as conn, conn.transaction():
            await job_runs.record(conn, run)
    except Exception as exc:  # health loses one run; the job's own outcome stands
        log.warning("could not record the job run", extra={"job": job, "error": str(exc)})
