"""schedulers.jobs.run_job records every run in job_runs (app.store.job_runs): outcome,
consecutive failures reset by a success, redacted errors, and the next run time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.config import Config
from app.store import job_runs
from app.store import pool as pool_module
from schedulers import jobs


async def _leader() -> bool:
    return True


def _job(name: str, fail_with: str | None) -> jobs.Job:
    async def func(ctx: jobs.JobContext) -> None:
        if fail_with is not None:
            raise RuntimeError(fail_with)

    return jobs.Job(name, func, every=timedelta(minutes=1), misfire_grace_time=10)


async def _runs(pool: pool_module.Pool) -> dict[str, job_runs.JobRuns]:
    async with pool.connection() as conn:
        return {row.job: row for row in await job_runs.list_runs(conn)}


async def test_runs_are_recorded_with_outcome_and_failures(
    config: Config, pool: pool_module.Pool
) -> None:
    secret = config.secrets[0]  # the database URL at least: a secret that must never be stored
    ctx = jobs.JobContext(config, pool, _leader)
    soon = datetime.now(UTC) + timedelta(seconds=42)
    ctx.state.next_run = lambda job_id: soon

    await jobs.run_job(_job("flaky", None), ctx)
    await jobs.run_job(_job("flaky", f"upstream said no to {secret}"), ctx)
    await jobs.run_job(_job("flaky", "still no"), ctx)
    row = (await _runs(pool))["flaky"]
    assert (row.runs, row.failures, row.consecutive_failures) == (3, 2, 2)
    assert row.last_outcome == "failed"
    assert row.last_error == "RuntimeError: still no"
    assert row.last_success_at is not None
    assert row.next_run_at == soon
    assert row.worker is not None

    await jobs.run_job(_job("flaky", None), ctx)
    row = (await _runs(pool))["flaky"]
    assert (row.runs, row.failures, row.consecutive_failures) == (4, 2, 0)
    assert row.last_outcome == "ok"
    assert row.last_error is None


async def test_recorded_errors_are_redacted(config: Config, pool: pool_module.Pool) -> None:
    secret = config.secrets[0]
    ctx = jobs.JobContext(config, pool, _leader)
    await jobs.run_job(_job("leaky", f"cannot reach {secret}"), ctx)
    row = (await _runs(pool))["leaky"]
    assert row.last_error is not None
    assert secret not in row.last_error
    assert "***" in row.last_error


async def test_a_job_skipped_by_a_deposed_leader_is_not_recorded(
    config: Config, pool: pool_module.Pool
) -> None:
    async def deposed() -> bool:
        return False

    await jobs.run_job(_job("skipped", None), jobs.JobContext(config, pool, deposed))
    assert "skipped" not in await _runs(pool)
