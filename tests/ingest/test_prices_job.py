"""The prices job against the simulator's price APIs, with its faults: every observation
stored; one source down; one wildly wrong (excluded by deviation); all down (last-known-good,
stale); a breaker opening, refusing calls, then closing on schedule, published with its
transitions."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from app import prices as price_logic
from app.config import Config
from app.ingest import prices as job
from app.prices import view as price_view
from app.simulator import Simulator
from app.simulator.prices import BY_KEY
from app.store import breakers as breaker_store
from app.store import prices as price_store
from app.store.pool import Pool
from schedulers import jobs
from tests.ingest.helpers import make_sim, opened, sim_config

SOURCES = ["coingecko", "coinmarketcap", "coinpaprika", "dexscreener"]
POLICY = price_logic.PricePolicy(stale_seconds=600, max_deviation=0.05)


@pytest.fixture
def sim() -> Simulator:
    return make_sim()


@pytest.fixture
def config(database_url: str) -> Config:
    return sim_config(
        database_url,
        TOKENPULSE_BREAKER_FAIL_MAX="2",
        TOKENPULSE_BREAKER_RESET_SECONDS="0.3",
        TOKENPULSE_PRICE_MAX_ATTEMPTS="1",
    )


async def poll(
    pool: Pool, config: Config, sim: Simulator, state: job.PriceState
) -> dict[str, price_store.PriceObservation]:
    rows = await job.poll(pool, config, state, httpx.ASGITransport(app=sim.app))
    return {row.source: row for row in rows}


async def view(pool: Pool) -> price_logic.PriceView:
    async with pool.connection() as conn:
        inputs = await price_store.read_inputs(conn, 3600)
    breakers = price_view.source_breakers(inputs.breakers)
    return price_logic.assess(
        inputs.window, inputs.last_good, breakers, inputs.now, POLICY, SOURCES
    )


def true_price(sim: Simulator) -> Decimal:
    return Decimal(str(sim.prices.true_price(BY_KEY["bazaars"], sim.clock.now())))


async def test_every_source_polled_and_stored(pool: Pool, config: Config, sim: Simulator) -> None:
    rows = await poll(pool, config, sim, job.PriceState())
    assert sorted(rows) == SOURCES
    truth = true_price(sim)
    for row in rows.values():
        assert (row.ok, row.outcome) == (True, "ok"), row
        assert row.price_usd is not None
        assert abs(row.price_usd / truth - 1) < Decimal("0.03")  # lag and noise only
        assert row.latency_ms >= 0
    # DexScreener: our pairs only (not the WETH/BZR pair quoting WETH's price), by liquidity.
    assert rows["dexscreener"].liquidity_usd == pytest.approx(
        412_000 + 268_000 + 151_000 + 96_000 + 23_000
    )
    assert rows["coingecko"].quoted_at is not None
    best = (await view(pool)).best
    assert best is not None
    assert best.sources == tuple(SOURCES)
    assert not best.stale
    assert abs(best.price_usd / truth - 1) < Decimal("0.02")


async def test_one_source_down(pool: Pool, config: Config, sim: Simulator) -> None:
    sim.faults.add("outage", service="coinpaprika")
    rows = await poll(pool, config, sim, job.PriceState())
    assert (rows["coinpaprika"].ok, rows["coinpaprika"].outcome) == (False, "http_error")
    assert rows["coinpaprika"].detail == "HTTP 503"
    assert all(rows[s].ok for s in SOURCES if s != "coinpaprika")
    found = await view(pool)
    assert found.best is not None
    assert found.best.sources == ("coingecko", "coinmarketcap", "dexscreener")
    paprika = next(s for s in found.sources if s.source == "coinpaprika")
    assert (paprika.excluded, paprika.last_outcome, paprika.success_rate) == (
        "no_price",
        "http_error",
        0,
    )


async def test_wildly_wrong_source_is_excluded(pool: Pool, config: Config, sim: Simulator) -> None:
    sim.faults.add("wrong_price", service="coinmarketcap", factor=1000)
    rows = await poll(pool, config, sim, job.PriceState())
    assert rows["coinmarketcap"].ok  # a number is a number: the consensus judges it
    found = await view(pool)
    assert found.best is not None
    assert "coinmarketcap" not in found.best.sources
    assert abs(found.best.price_usd / true_price(sim) - 1) < Decimal("0.02")
    cmc = next(s for s in found.sources if s.source == "coinmarketcap")
    assert cmc.excluded == "deviation"
    assert cmc.deviation is not None
    assert cmc.deviation > 100


async def test_garbage_is_invalid_and_never_stored(
    pool: Pool, config: Config, sim: Simulator
) -> None:
    sim.faults.add("wrong_types", service="coingecko")  # the price arrives as a string
    sim.faults.add("malformed_json", service="coinpaprika")
    rows = await poll(pool, config, sim, job.PriceState())
    for source in ("coingecko", "coinpaprika"):
        assert (rows[source].ok, rows[source].outcome, rows[source].price_usd) == (
            False,
            "invalid",
            None,
        )
    async with pool.connection() as conn:
        good = {o.source for o in await price_store.list_last_good(conn)}
    assert good == {"coinmarketcap", "dexscreener"}


async def test_all_down_serves_last_known_good_stale(
    pool: Pool, config: Config, sim: Simulator
) -> None:
    state = job.PriceState()
    await poll(pool, config, sim, state)
    first = (await view(pool)).best
    assert first is not None
    sim.faults.add("outage", service="*")
    rows = await poll(pool, config, sim, state)
    assert not any(row.ok for row in rows.values())
    # Older than the staleness limit: as if the sources had been down for a while.
    stale = await view_at(pool, seconds_later=700)
    assert stale.best is not None
    assert stale.best.stale
    # The same last good prices, weighed by scores that fell with the failures.
    assert stale.best.sources == first.sources
    assert stale.best.price_usd in {s.price_usd for s in stale.sources}
    assert abs(stale.best.price_usd / first.price_usd - 1) < Decimal("0.02")
    assert stale.best.age_seconds >= 700
    assert {s.last_outcome for s in stale.sources} == {"http_error"}


async def view_at(pool: Pool, seconds_later: float) -> price_logic.PriceView:
    async with pool.connection() as conn:
        inputs = await price_store.read_inputs(conn, 3600)
    now = inputs.now + timedelta(seconds=seconds_later)
    return price_logic.assess(inputs.window, inputs.last_good, {}, now, POLICY, SOURCES)


async def test_breaker_opens_refuses_then_closes(
    pool: Pool, config: Config, sim: Simulator
) -> None:
    state = job.PriceState()
    fault = sim.faults.add("outage", service="coingecko")
    outcomes = [(await poll(pool, config, sim, state))["coingecko"].outcome for _ in range(3)]
    assert outcomes == ["http_error", "http_error", "breaker_open"]
    assert len(sim.calls.calls("coingecko")) == 2  # no request while open
    breakers = state.breakers_for(config)
    name = "price:coingecko simple/price"
    assert breakers.state(name) == "open"
    await job.publish_breakers(pool, [breakers])
    async with pool.connection() as conn:
        row = {r.name: r for r in await breaker_store.list_breakers(conn)}[name]
    assert (row.provider, row.state, row.transitions) == ("price", "open", 1)
    assert row.opened_at is not None
    assert (await view(pool)).sources[0].breaker == "open"
    sim.faults.remove(fault.id)
    await asyncio.sleep(0.35)  # the reset timeout (TOKENPULSE_BREAKER_RESET_SECONDS)
    assert breakers.state(name) == "half_open"
    assert (await poll(pool, config, sim, state))["coingecko"].ok  # the trial call
    assert breakers.state(name) == "closed"
    await job.publish_breakers(pool, [breakers])
    async with pool.connection() as conn:
        row = {r.name: r for r in await breaker_store.list_breakers(conn)}[name]
        moves = await breaker_store.list_transitions(conn, row.changed_at.replace(year=2000))
    assert (row.state, row.transitions, row.failures, row.opened_at) == ("closed", 3, 0, None)
    assert [(t.from_state, t.to_state) for t in reversed(moves)] == [
        ("closed", "open"), ("open", "half_open"), ("half_open", "closed")
    ]  # fmt: skip


def test_price_jobs_follow_the_settings(config: Config) -> None:
    poll_job, publish_job = jobs.price_jobs(config)
    assert (poll_job.id, poll_job.every.total_seconds()) == ("prices", 60.0)
    assert publish_job.id == "publish_breakers"
    off = dataclasses.replace(
        config, settings=config.settings.model_copy(update={"price_sources": ""})
    )
    assert [job.id for job in jobs.price_jobs(off)] == ["publish_breakers"]


async def test_publish_job_covers_the_ingestor_and_price_breakers(
    pool: Pool, config: Config, sim: Simulator
) -> None:
    ctx = jobs.JobContext(config, pool, is_leader=lambda: _true())
    sim.faults.add("outage", service="coinpaprika")
    await poll(pool, config, sim, ctx.state.prices)
    async with opened(config, pool, sim) as ingestor:
        gateway = next(iter(ingestor.wiring.gateways.values())) if ingestor.wiring else None
        assert gateway is not None
        await gateway.breakers.run("etherscan:137 logs/getLogs", _true, lambda ok: not ok)
        ctx = dataclasses.replace(ctx, ingestor=ingestor)
        await jobs.publish_breakers(ctx)
    async with pool.connection() as conn:
        rows = {row.name: row for row in await breaker_store.list_breakers(conn)}
    assert rows["etherscan:137 logs/getLogs"].state == "closed"
    assert rows["price:coinpaprika v1/tickers"].failures == 1
    assert {row.provider for row in rows.values()} == {"etherscan", "price"}


async def _true() -> bool:
    return True
