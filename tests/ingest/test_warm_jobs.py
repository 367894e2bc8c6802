"""The leader's ingestion jobs and the backfill driver (app.ingest.warm): a ``tip:<id>`` job per
enabled chain, a bounded newest-first ``backfill`` job, stopping only between windows."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any, cast

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.config import Config
from app.ingest import warm
from app.store import pool as pool_module
from schedulers import jobs
from schedulers import main as worker_main
from tests.conftest import make_config
from tests.ingest.helpers import covered, make_sim, opened, sim_config, stored, truth


@pytest.fixture
def mode() -> str:
    return "portable"  # nothing here depends on the schema mode


def _context(config: Config) -> jobs.JobContext:
    async def leader() -> bool:
        return True

    return jobs.JobContext(config, cast(Any, None), leader)


def test_plan_has_a_tip_job_per_enabled_chain_and_a_backfill_job() -> None:
    config = make_config(
        TOKENPULSE_INGEST_INTERVAL_SECONDS="20", TOKENPULSE_INGEST_JITTER_SECONDS="3"
    )
    disabled = tuple(dataclasses.replace(c, enabled=c.id != 25) for c in config.chains)
    config = dataclasses.replace(config, chains=disabled)
    scheduler = AsyncIOScheduler()
    jobs.schedule(scheduler, _context(config), jobs.plan(config))
    scheduled = {job.id: job for job in scheduler.get_jobs()}
    tips = {f"tip:{chain.id}" for chain in config.enabled_chains}
    assert len(tips) == 9
    assert set(scheduled) == {
        "sync_chains", "prune_heartbeats", "backfill", "reconcile", "token_figures",
        "validate_nightly", "analytics_refresh", "prices", "publish_breakers",
        "alerts_evaluate", "alerts_deliver", "finality", "sla_report", *tips,
    }  # fmt: skip
    for name in tips:
        job = scheduled[name]
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 20)
        assert job.trigger.interval == timedelta(seconds=20)
        assert job.trigger.jitter == 3
    first_runs = sorted(scheduled[name].next_run_time for name in tips)
    assert first_runs[-1] - first_runs[0] == timedelta(seconds=8 * jobs.TIP_STAGGER_SECONDS)
    backfill = scheduled["backfill"]
    assert (backfill.max_instances, backfill.coalesce) == (1, True)
    assert backfill.trigger.interval == timedelta(seconds=60)
    refresh = scheduled["analytics_refresh"]  # TOKENPULSE_ANALYTICS_REFRESH_SECONDS
    assert (refresh.max_instances, refresh.coalesce) == (1, True)
    assert refresh.trigger.interval == timedelta(seconds=60)


def test_no_enabled_chain_no_ingestion_jobs() -> None:
    config = make_config()
    config = dataclasses.replace(
        config, chains=tuple(dataclasses.replace(c, enabled=False) for c in config.chains)
    )
    alerting, prices = jobs.alert_jobs(config), jobs.price_jobs(config)
    assert jobs.plan(config) == (*jobs.JOBS, *alerting, *prices, jobs.sla_job(config))


async def test_the_leader_schedules_a_tip_job_for_every_enabled_chain(database_url: str) -> None:
    fast = {"TOKENPULSE_LEADER_POLL_SECONDS": "0.2", "TOKENPULSE_WORKER_HEARTBEAT_SECONDS": "0.2"}
    # Port 1 refuses at once: the jobs fail fast, which is not what this test is about.
    config = make_config(database_url, TOKENPULSE_SIMULATOR_URL="http://127.0.0.1:1", **fast)
    worker = worker_main.Worker(config)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(100):
            if worker._scheduler is not None:
                break
            await asyncio.sleep(0.05)
        assert worker.role == "leader"
        ids = {job.id for job in worker._scheduler.get_jobs()}
        assert {f"tip:{chain.id}" for chain in config.enabled_chains} <= ids
        assert "backfill" in ids
        assert worker._ingestor is not None
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert worker._ingestor is None  # closed when it stepped down


def test_newest_chunk_grows_with_distance_from_the_top() -> None:
    # 2 s blocks: 6 h = 10,800 blocks; 30 days = 1,296,000.
    assert warm.newest_chunk([], 100, 2.0) is None
    assert warm.newest_chunk([(0, 999_999)], 1_000_000, 2.0) == (989_200, 999_999)
    assert warm.newest_chunk([(0, 899_999)], 1_000_000, 2.0) == (799_999, 899_999)
    assert warm.newest_chunk([(0, 4_999_999)], 9_000_000, 2.0) == (3_704_000, 4_999_999)
    assert warm.newest_chunk([(10, 20), (50, 60)], 100, 2.0) == (50, 60)  # the newest gap first


def test_below_tip_and_days_back() -> None:
    assert warm.below_tip([], 100) == []
    assert warm.below_tip([(150, 200), (300, 400)], 100) == [(100, 149), (201, 299)]
    assert warm.below_tip([(100, 400)], 100) == []
    chain = make_config().chains[3]  # Polygon, 2 s blocks
    assert warm.days_back(80_000_000, 1, chain) == 80_000_000 - 43_200
    assert warm.days_back(chain.first_block + 10, 1, chain) == chain.first_block


async def test_backfill_job_fills_newest_first_within_its_budget(
    database_url: str, pool: pool_module.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim(density=0.05)
    config = sim_config(database_url, TOKENPULSE_BACKFILL_RUN_SECONDS="60")
    polygon = next(c for c in config.chains if c.id == 137)
    async with opened(config, pool, sim) as ingestor:
        tip = await ingestor.sync_tip(137)
        only_polygon = dataclasses.replace(config, chains=(polygon,))
        calls: list[tuple[int, int]] = []
        backfill = ingestor.backfill

        async def spy(chain_id: int, lo: int, hi: int | None = None, **kw: Any) -> Any:
            calls.append((lo, hi or 0))
            return await backfill(chain_id, lo, hi, **kw)

        monkeypatch.setattr(ingestor, "backfill", spy)
        # Stop as soon as a window of the first backfill call has committed.
        first = await warm.fill_gaps(
            ingestor, pool, only_polygon, seconds=60, should_stop=lambda: bool(calls)
        )
        ranges = await covered(pool, 137)
        # Stopped after one window of the first chunk, the 6 h right below the tip's range
        # (sealed up to the block before its last transfer, see app.ingest.windows).
        assert first.stopped
        assert calls == [(tip.from_block - 10_800, tip.from_block - 1)]
        assert ranges[0][0] == tip.from_block - 10_800
        assert ranges[-1][1] == tip.head
        rest = await warm.fill_gaps(ingestor, pool, only_polygon, seconds=60)
    assert not rest.stopped
    assert rest.errors == []
    assert await covered(pool, 137) == [(polygon.first_block, tip.head)]
    rows = await stored(pool, 137)
    assert len(rows) == len(set(rows))
    assert set(rows) == truth(sim, 137)


async def test_a_spent_budget_stops_the_backfill_job(
    database_url: str, pool: pool_module.Pool
) -> None:
    sim = make_sim(density=0.05)
    small = {"TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS": "2000"}
    config = sim_config(database_url, TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS="2000", **small)
    async with opened(config, pool, sim) as ingestor:
        for chain_id in (1, 137):
            await ingestor.sync_tip(chain_id)
        # Long enough for Ethereum's first chunk (one window) on a busy machine, with the
        # chains' lanes sharing it; far too short for Polygon's history.
        totals = await warm.fill_gaps(ingestor, pool, config, seconds=1.0)
    assert totals.stopped
    assert totals.calls >= 1


async def test_cancelling_a_job_stops_its_work_after_the_window_in_flight() -> None:
    seen: list[str] = []
    window = asyncio.Event()

    async def work(should_stop: warm.ShouldStop) -> str:
        while True:
            await window.wait()  # a window in flight
            window.clear()
            seen.append("committed")
            if should_stop():
                seen.append("stopped")
                return "done"

    job = asyncio.create_task(jobs.at_window_boundary(work, lambda: 5.0))
    await asyncio.sleep(0.01)
    job.cancel()
    await asyncio.sleep(0.01)
    assert seen == []  # still waiting for its window: not interrupted
    window.set()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert seen == ["committed", "stopped"]


async def test_a_job_past_its_grace_is_cancelled_outright() -> None:
    cancelled = asyncio.Event()

    async def stuck(should_stop: warm.ShouldStop) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    job = asyncio.create_task(jobs.at_window_boundary(stuck, lambda: 0.05))
    await asyncio.sleep(0.01)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert cancelled.is_set()


async def test_a_job_that_stopped_with_work_left_runs_again_at_once() -> None:
    # A backfill run that used all its time goes on right away, not an interval later.
    runs: list[int] = []
    finished = asyncio.Event()

    async def work(ctx: jobs.JobContext) -> bool:
        runs.append(len(runs))
        if len(runs) == 3:
            finished.set()
        return len(runs) < 3  # work left after the first two runs only

    job = jobs.Job("busy", work, every=timedelta(hours=1), misfire_grace_time=60)
    scheduler = AsyncIOScheduler()
    jobs.schedule(
        scheduler, _context(make_config()), (dataclasses.replace(job, at_leadership_start=True),)
    )
    scheduler.start()
    try:
        await asyncio.wait_for(finished.wait(), timeout=10)
        await asyncio.sleep(3 * jobs.AGAIN_DELAY_SECONDS)
    finally:
        scheduler.shutdown(wait=False)
    assert runs == [0, 1, 2]  # and no fourth: the last run had nothing left


@pytest.mark.parametrize(
    ("totals", "again"),
    [
        (warm.RunTotals(calls=3, stopped=True), True),  # its time ran out
        (warm.RunTotals(calls=3, stopped=False), False),  # every gap filled
        (warm.RunTotals(calls=1, stopped=True, errors=["boom"]), False),  # failed: wait
    ],
)
async def test_the_backfill_job_asks_to_run_again_only_when_its_time_ran_out(
    monkeypatch: pytest.MonkeyPatch, totals: warm.RunTotals, again: bool
) -> None:
    async def fill_gaps(*args: Any, **kwargs: Any) -> warm.RunTotals:
        return totals

    monkeypatch.setattr(warm, "fill_gaps", fill_gaps)
    ctx = dataclasses.replace(_context(make_config()), ingestor=cast(Any, object()))
    assert await jobs.backfill(ctx) is again
