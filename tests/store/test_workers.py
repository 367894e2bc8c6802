"""Workers against a real database: `tokenpulse migrate` through the CLI, leader election,
heartbeats, fencing when the lock session is lost, and the JOBS table."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, cast

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.config import Config
from app.domain import SchemaMode
from app.store import migrate, workers
from app.store import pool as pool_module
from schedulers import jobs
from schedulers import main as worker_main
from tests.conftest import make_config
from tests.e2e import helpers

FAST = {"TOKENPULSE_LEADER_POLL_SECONDS": "0.2", "TOKENPULSE_WORKER_HEARTBEAT_SECONDS": "0.2"}


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:g}s waiting for {what}")
        await asyncio.sleep(0.05)


async def heartbeats(pool: pool_module.Pool) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return await workers.list_workers(conn)


async def count_chains(pool: pool_module.Pool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("select count(*) as n from chains")
        row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


# -- tokenpulse migrate --------------------------------------------------------------------


def test_migrate_command_on_an_empty_database(empty_database_url: str, mode: str) -> None:
    env = {"TOKENPULSE_DATABASE_URL": empty_database_url, "TOKENPULSE_SCHEMA_MODE": mode}
    first = helpers.run("migrate", **env)
    assert first.returncode == 0, first.stderr
    applied = ", ".join(f"{m.version:04d}_{m.name}" for m in migrate.discover(SchemaMode(mode)))
    idempotent = len(migrate.idempotent_files(SchemaMode(mode)))
    assert first.stdout.splitlines() == [
        f"mode: {mode}; applied: {applied}; idempotent: {idempotent} file(s)",
        "chains: 10 of 10 updated",
    ]
    second = helpers.run("migrate", **env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        f"mode: {mode}; applied: nothing (up to date)",
        "chains: up to date (10)",
    ]


async def test_migrate_command_twice_is_a_noop(
    database_url: str, mode: str, pool: pool_module.Pool
) -> None:
    env = {"TOKENPULSE_DATABASE_URL": database_url}
    outputs = []
    for _ in range(2):
        done = await asyncio.to_thread(helpers.run, "migrate", **env)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.splitlines())
    assert outputs[0] == [
        f"mode: {mode}; applied: nothing (up to date)",
        "chains: 10 of 10 updated",
    ]
    assert outputs[1] == [f"mode: {mode}; applied: nothing (up to date)", "chains: up to date (10)"]
    assert await count_chains(pool) == 10


# -- leader election -----------------------------------------------------------------------


@pytest.fixture
def fast_config(database_url: str) -> Config:
    return make_config(database_url, **FAST)


@pytest.mark.parametrize("mode", ["portable"])  # election does not depend on the schema mode
async def test_worker_leads_runs_jobs_and_cleans_up(
    fast_config: Config, pool: pool_module.Pool
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker_main.run_worker(fast_config, stop=stop))

    async def leading() -> bool:
        return [row["role"] for row in await heartbeats(pool)] == ["leader"]

    async def chains_synced() -> bool:
        return await count_chains(pool) == 10

    await eventually(leading, 5, "the only worker to lead")
    await eventually(chains_synced, 5, "sync_chains to run at leadership start")
    stop.set()
    await asyncio.wait_for(task, 10)
    assert await heartbeats(pool) == []  # a clean stop removes the row
    async with pool.connection() as conn:  # and frees the lock
        assert await workers.try_leader_lock(conn, fast_config.settings.leader_lock_key)
        await workers.release_leader_lock(conn, fast_config.settings.leader_lock_key)


@pytest.mark.parametrize("mode", ["portable"])
async def test_leader_that_loses_its_lock_session_steps_down(
    fast_config: Config, pool: pool_module.Pool
) -> None:
    pair = [worker_main.Worker(fast_config), worker_main.Worker(fast_config)]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(w.run(s)) for w, s in zip(pair, stops, strict=True)]
    history: list[tuple[str, str]] = []

    async def sample() -> None:
        while True:
            history.append((pair[0].role, pair[1].role))
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    try:

        async def one_leader() -> bool:
            return sorted(w.role for w in pair) == ["leader", "standby"]

        await eventually(one_leader, 5, "one leader and one standby")
        leader = next(w for w in pair if w.role == "leader")
        assert await keepalives(leader) == ("5", "2", "3")
        await kill_lock_session(pool, fast_config.settings.leader_lock_key)

        async def fenced() -> bool:
            return not await leader.is_leader()

        async def deposed() -> bool:
            return leader.role == "standby"

        # Fenced at once (jobs check the lock before running), stepped down on its next poll.
        await eventually(fenced, 1, "the deposed leader's fencing check to fail")
        await eventually(deposed, 2, "the deposed leader to step down")
        await eventually(one_leader, 5, "a leader again after the lost session")
    finally:
        sampler.cancel()
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert ("leader", "leader") not in history


async def keepalives(worker: worker_main.Worker) -> tuple[str, str, str]:
    """The server-side keepalive settings of the worker's lock session."""
    assert worker._lock_conn is not None
    cur = await worker._lock_conn.execute(
        "select current_setting('tcp_keepalives_idle') as idle,"
        " current_setting('tcp_keepalives_interval') as interval,"
        " current_setting('tcp_keepalives_count') as count"
    )
    row = await cur.fetchone()
    assert row is not None
    return row["idle"], row["interval"], row["count"]


async def kill_lock_session(pool: pool_module.Pool, key: int) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select pg_terminate_backend(pid) as killed from pg_locks"
            " where locktype = 'advisory' and granted and objid = %s::oid",
            (key & 0xFFFFFFFF,),
        )
        assert [row["killed"] for row in await cur.fetchall()] == [True]


# -- the JOBS table ------------------------------------------------------------------------


def context(leader: bool = True, config: Config | None = None) -> jobs.JobContext:
    async def is_leader() -> bool:
        return leader

    return jobs.JobContext(cast(Config, config), cast(Any, None), is_leader)


def test_jobs_are_named_single_instance_and_coalesced() -> None:
    scheduler = AsyncIOScheduler()
    jobs.schedule(scheduler, context())
    scheduled = {job.id: job for job in scheduler.get_jobs()}
    assert set(scheduled) == {"sync_chains", "prune_heartbeats"}
    for spec in jobs.JOBS:
        job = scheduled[spec.id]
        assert (job.max_instances, job.coalesce) == (1, True)
        assert job.misfire_grace_time == spec.misfire_grace_time > 0
        assert job.trigger.interval == spec.every


async def test_a_failing_job_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture, config: Config
) -> None:
    async def explode(ctx: jobs.JobContext) -> None:
        raise RuntimeError("upstream on fire")

    spec = jobs.Job("explode", explode, every=timedelta(minutes=1), misfire_grace_time=1)
    with caplog.at_level(logging.INFO, logger="schedulers.jobs"):
        await jobs.run_job(spec, context(config=config))
    failed = [r for r in caplog.records if r.getMessage() == "job failed"]
    assert len(failed) == 1
    assert failed[0].exc_info is not None
    assert "upstream on fire" in str(failed[0].exc_info[1])


async def test_a_job_does_not_run_without_leadership() -> None:
    ran: list[str] = []

    async def record(ctx: jobs.JobContext) -> None:
        ran.append("ran")

    spec = jobs.Job("record", record, every=timedelta(minutes=1), misfire_grace_time=1)
    await jobs.run_job(spec, context(leader=False))
    assert ran == []
    await jobs.run_job(spec, context(leader=True))
    assert ran == ["ran"]


async def test_prune_heartbeats_removes_only_stale_rows(
    config: Config, pool: pool_module.Pool
) -> None:
    fresh, stale = worker_main.identity(), worker_main.identity()
    async with pool.connection() as conn, conn.transaction():
        for who in (fresh, stale):
            await workers.upsert_heartbeat(conn, who, "standby")
        await conn.execute(
            "update worker_heartbeats set heartbeat_at = now() - interval '1 hour'"
            " where worker_id = %s",
            (stale.worker_id,),
        )
    ctx = jobs.JobContext(config, pool, context().is_leader)
    await jobs.prune_heartbeats(ctx)
    assert [row["worker_id"] for row in await heartbeats(pool)] == [fresh.worker_id]
