"""The evaluator against a real database: the pending period, refresh, resolve, a chain made
stale, rate-limit spikes from the running count, and the breaker and price rules with their
tables present and absent (they belong to another feature: migration 0013)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.alerting import evaluator
from app.alerting.evaluator import Memory, Outcome
from app.config import Config
from app.store import alerts, job_runs
from app.store import pool as store_pool
from tests.alerting.helpers import execute, polygon_only, seed_healthy
from tests.conftest import make_config

KEY = "etherscan:0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[Config, store_pool.Pool]]:
    config = polygon_only(
        make_config(
            database_url,
            TOKENPULSE_ALERT_PENDING_SECONDS="60",
            TOKENPULSE_ALERT_RATE_LIMIT_HITS="5",
            TOKENPULSE_ALERT_RATE_LIMIT_WINDOW_SECONDS="300",
            TOKENPULSE_ALERT_BREAKER_OPEN_SECONDS="120",
            TOKENPULSE_ALERT_WORKER_STALLED_SECONDS="3600",
        )
    )
    db = store_pool.create(config.settings)
    await db.open(wait=True, timeout=10)
    try:
        await seed_healthy(db, config)
        yield config, db
    finally:
        await db.close()


def no_pending(config: Config) -> Config:
    settings = config.settings.model_copy(update={"alert_pending_seconds": 0.0})
    return dataclasses.replace(config, settings=settings)


async def open_alerts(db: store_pool.Pool) -> dict[str, alerts.Alert]:
    async with db.connection() as conn:
        return {a.dedupe_key: a for a in await alerts.list_open(conn)}


async def test_a_stale_chain_waits_out_the_pending_period_then_resolves(
    world: tuple[Config, store_pool.Pool],
) -> None:
    config, db = world
    clock, memory = Clock(), Memory()

    async def evaluate() -> Outcome:
        return await evaluator.evaluate_once(db, config, memory, clock=clock)

    assert await evaluate() == Outcome()
    await execute(
        db, "update ingest_status set last_success_at = now() - interval '20 min' "
        "where chain_id = 137",
    )  # fmt: skip
    assert await evaluate() == Outcome(pending=("chain_stale:137",))
    clock.now += 59
    assert await evaluate() == Outcome(pending=("chain_stale:137",))
    clock.now += 1
    assert await evaluate() == Outcome(raised=("chain_stale:137",))
    held = (await open_alerts(db))["chain_stale:137"]
    assert (held.kind, held.severity, held.chain_id) == ("chain_stale", "critical", 137)
    assert held.message.startswith("Polygon (137) is stale: last successful sync 1200")
    # A new leader (empty memory) refreshes what is open at once, no pending period.
    assert await evaluator.evaluate_once(db, config, Memory(), clock=clock) == Outcome(
        refreshed=("chain_stale:137",)
    )
    assert (await open_alerts(db))["chain_stale:137"].occurrences == 2
    await execute(db, "update ingest_status set last_success_at = now() where chain_id = 137")
    assert await evaluate() == Outcome(resolved=("chain_stale:137",))
    assert await open_alerts(db) == {}


async def test_alerts_raised_elsewhere_are_left_alone(
    world: tuple[Config, store_pool.Pool],
) -> None:
    config, db = world
    async with db.connection() as conn, conn.transaction():
        await alerts.raise_alert(
            conn, kind="validation_variance", dedupe_key="validation_variance:137:supply",
            message="Polygon supply differs by 3.00%",
        )  # fmt: skip
    assert await evaluator.evaluate_once(db, config, Memory()) == Outcome()
    assert set(await open_alerts(db)) == {"validation_variance:137:supply"}


async def test_rate_limit_spike_from_the_running_count(
    world: tuple[Config, store_pool.Pool],
) -> None:
    config, db = world
    config = no_pending(config)
    await execute(
        db,
        "insert into rate_budget (key_id, provider, label, next_allowed_at, day, rate_limit_hits)"
        " values (%s, 'etherscan', 'key 1', now(), current_date, 100)",
        [KEY],
    )
    clock, memory = Clock(), Memory()

    async def hits(total: int, after: float) -> Outcome:
        await execute(db, "update rate_budget set rate_limit_hits = %s", [total])
        clock.now += after
        return await evaluator.evaluate_once(db, config, memory, clock=clock)

    assert await hits(100, 0) == Outcome()  # a history of 100 is not a spike
    assert await hits(104, 100) == Outcome()
    assert await hits(105, 100) == Outcome(raised=(f"rate_limit_spike:{KEY}",))
    message = (await open_alerts(db))[f"rate_limit_spike:{KEY}"].message
    assert message == "etherscan key key 1 was refused 5 times (429 or quota) in the last 5 min"
    # Samples at +0 (100), +100 (104), +200 (105): at +350 the window's base is still +0.
    assert await hits(105, 150) == Outcome(refreshed=(f"rate_limit_spike:{KEY}",))
    # At +450 it is the sample of +100 (104): 2 refusals in the window, quiet again.
    assert await hits(106, 100) == Outcome(resolved=(f"rate_limit_spike:{KEY}",))


async def test_breaker_and_price_rules_read_their_tables(
    world: tuple[Config, store_pool.Pool],
) -> None:
    config, db = world
    config = no_pending(config)
    await execute(
        db,
        "insert into upstream_breakers (name, provider, state, failures, opened_at, changed_at,"
        " updated_at) values ('etherscan tokentx', 'etherscan', 'open', 5,"
        " now() - interval '10 min', now() - interval '10 min', now()),"
        " ('explorer logs', 'explorer', 'open', 5, now() - interval '1 min', now(), now())",
    )
    await execute(
        db,
        "insert into price_observations (observed_at, source, ok, latency_ms, price_usd, outcome,"
        " detail) values (now() - interval '1 min', 'coingecko', false, 10000, null, 'timeout',"
        " 'timed out'), (now(), 'dexscreener', false, 20, null, 'rate_limited', 'HTTP 429'),"
        " (now() - interval '1 hour', 'coinpaprika', true, 20, 1.5, 'ok', null)",
    )
    outcome = await evaluator.evaluate_once(db, config, Memory())
    assert outcome == Outcome(raised=("breaker_open:etherscan tokentx", "prices_failing"))
    held = await open_alerts(db)
    assert held["prices_failing"].message == (
        "every price source failed in the last 10 min "
        "(coingecko: timeout, dexscreener: rate_limited)"
    )
    assert held["breaker_open:etherscan tokentx"].message == (
        "circuit breaker etherscan tokentx (etherscan) open for 600s after 5 failures"
    )
    await execute(
        db,
        "insert into price_observations (observed_at, source, ok, latency_ms, price_usd, outcome)"
        " values (now(), 'coinpaprika', true, 20, 1.5, 'ok')",
    )
    await execute(db, "update upstream_breakers set state = 'closed', opened_at = null")
    outcome = await evaluator.evaluate_once(db, config, Memory())
    assert outcome == Outcome(resolved=("breaker_open:etherscan tokentx", "prices_failing"))


async def test_without_the_breaker_and_price_tables_those_rules_are_skipped(
    world: tuple[Config, store_pool.Pool],
) -> None:
    config, db = world
    await execute(db, "drop table if exists upstream_breakers, price_observations cascade")
    await execute(db, "update ingest_status set last_success_at = now() - interval '2 hours'")
    fast = no_pending(config)
    # The other rules still run.
    assert await evaluator.evaluate_once(db, fast, Memory()) == Outcome(
        raised=("worker_stalled", "chain_stale:137")
    )


async def test_worker_stalled_from_the_job_runs(world: tuple[Config, store_pool.Pool]) -> None:
    config, db = world
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    async with db.connection() as conn, conn.transaction():
        for job, at in (("prune_heartbeats", long_ago), ("alerts_evaluate", datetime.now(UTC))):
            run = job_runs.Run(job, "test:1", at, at, "ok", 1.0)
            await job_runs.record(conn, run)
    outcome = await evaluator.evaluate_once(db, no_pending(config), Memory())
    assert outcome == Outcome(raised=("worker_stalled",))
    message = (await open_alerts(db))["worker_stalled"].message
    assert message.startswith("no successful scheduler job run for 720")
