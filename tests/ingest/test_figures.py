"""Upstream token figures against the simulator, last-known-good through an outage, and the
validation report (flags injected disagreement above the threshold, quiet below it), its
alerts and the nightly job."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.config import Config
from app.domain import Figure, ProviderKind
from app.ingest import figures as fetcher
from app.ingest.runtime import Ingestor
from app.ops import validation_runner
from app.ops.validation import Status
from app.simulator import KeySpec, Simulator
from app.store import alerts, figures, validation
from app.store.pool import Pool
from schedulers import jobs
from tests.ingest.helpers import make_sim, opened, sim_config, warm

ETH, POLYGON, CRONOS = 1, 137, 25


def only(config: Config, *chain_ids: int) -> Config:
    """The configuration with only these chains enabled (fewer calls per run)."""
    chains = tuple(dataclasses.replace(c, enabled=c.id in chain_ids) for c in config.chains)
    return dataclasses.replace(config, chains=chains)


def by_figure(attempts: list[Any], chain_id: int) -> dict[Figure, Any]:
    return {a.figure: a for a in attempts if a.chain_id == chain_id}


async def latest(pool: Pool, chain_id: int) -> dict[Figure, figures.UpstreamFigure]:
    async with pool.connection() as conn:
        return {f.figure: f for f in await figures.latest_good(conn, chain_id=chain_id)}


@pytest.fixture
def sim() -> Simulator:
    sim = make_sim(density={ETH: 10, POLYGON: 200, CRONOS: 5})
    warm(sim, ETH, POLYGON, CRONOS)
    return sim


async def test_figures_equal_the_simulators_truth(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    # 10 days of Polygon at 200 transfers a day: about 2,000 rows, three tokentx pages.
    config = only(sim_config(database_url, TOKENPULSE_FIGURES_WINDOW_HOURS="240"), POLYGON, CRONOS)
    async with opened(config, pool, sim) as ingestor:
        attempts = await fetcher.fetch_all(ingestor)
    for chain_id in (POLYGON, CRONOS):
        got = by_figure(attempts, chain_id)
        assert got[Figure.SUPPLY].value == int(sim.truth(chain_id, "supply")["supply"])
        window = got[Figure.TRANSFERS]
        assert window.block_hi == sim.world.finalized(chain_id)  # nothing covered yet
        truth = sim.truth(chain_id, "transfers", fromBlock=window.block_lo,
                          toBlock=window.block_hi, limit=0)  # fmt: skip
        assert window.value == truth["total"] > 0
    assert by_figure(attempts, POLYGON)[Figure.TRANSFERS].value > 1_000  # paged
    assert (
        by_figure(attempts, POLYGON)[Figure.HOLDERS].value
        == (sim.truth(POLYGON, "holder-count")["holderCount"])
    )
    cronos_holders = by_figure(attempts, CRONOS)[Figure.HOLDERS]
    assert (cronos_holders.value, cronos_holders.error) == (None, "not_offered")
    stored = await latest(pool, POLYGON)
    assert {f: (s.value, s.stale) for f, s in stored.items()} == {
        a.figure: (a.value, False) for a in by_figure(attempts, POLYGON).values()
    }


async def test_rpc_chains_count_logs_and_call_total_supply(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    # 48 h of Ethereum blocks (14,400) is past the node's 10,000-block cap: counted in halves.
    config = only(sim_config(database_url, TOKENPULSE_FIGURES_WINDOW_HOURS="48"), ETH)
    rpc_chains = tuple(
        dataclasses.replace(c, provider=ProviderKind.RPC) if c.id == ETH else c
        for c in config.chains
    )
    config = dataclasses.replace(config, chains=rpc_chains)
    async with opened(config, pool, sim) as ingestor:
        got = by_figure(await fetcher.fetch_all(ingestor), ETH)
    assert {a.source for a in got.values()} == {"rpc"}
    assert got[Figure.SUPPLY].value == int(sim.truth(ETH, "supply")["supply"])
    assert got[Figure.HOLDERS].error == "not_offered"
    window = got[Figure.TRANSFERS]
    assert window.block_hi - window.block_lo + 1 == 14_400
    get_logs = [c for c in sim.calls.calls("rpc") if c.endpoint == "eth_getLogs"]
    assert len(get_logs) == 3  # refused whole, then two halves
    truth = sim.truth(ETH, "transfers", fromBlock=window.block_lo, toBlock=window.block_hi,
                      limit=0)  # fmt: skip
    assert window.value == truth["total"] > 0


async def test_free_plan_holder_count_is_unavailable_not_zero(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    sim.keys["test-free-key"] = KeySpec.make("free", label="test-free", per_second=1000)
    config = only(sim_config(database_url, TOKENPULSE_ETHERSCAN_API_KEYS="test-free-key"), POLYGON)
    async with opened(config, pool, sim) as ingestor:
        got = by_figure(await fetcher.fetch_all(ingestor), POLYGON)
    holders = got[Figure.HOLDERS]
    assert (holders.ok, holders.value, holders.error) == (False, None, "upstream_not_on_plan")
    assert "API Pro endpoint" in (holders.detail or "")
    assert got[Figure.SUPPLY].ok
    assert got[Figure.TRANSFERS].ok
    stored = (await latest(pool, POLYGON))[Figure.HOLDERS]
    assert (stored.value, stored.stale, stored.last_error) == (None, True, "upstream_not_on_plan")


async def test_an_outage_keeps_the_last_good_values_marked_stale(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    config = only(sim_config(database_url), POLYGON)
    async with opened(config, pool, sim) as ingestor:
        good = by_figure(await fetcher.fetch_all(ingestor), POLYGON)
        sim.faults.add("outage", service="etherscan")
        down = by_figure(await fetcher.fetch_all(ingestor), POLYGON)  # never raises
    assert all(not attempt.ok and attempt.value is None for attempt in down.values())
    assert {a.error for a in down.values()} <= {"upstream_unavailable", "upstream_circuit_open"}
    stored = await latest(pool, POLYGON)
    for figure, found in stored.items():
        assert found.value == good[figure].value  # the last good value, never 0
        assert found.stale
        assert not found.last_ok
        assert found.last_error == down[figure].error
        assert found.fetched_at is not None
        assert found.fetched_at < found.last_attempt_at
        assert found.age_seconds is not None
        assert found.age_seconds >= 0
    async with pool.connection() as conn:
        history = await figures.list_recent(conn, POLYGON, Figure.SUPPLY)
    assert [row["ok"] for row in history] == [False, True]


async def test_keys_never_reach_the_store_the_report_or_the_logs(
    database_url: str, pool: Pool, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "tp-unknown-secret-key-0123456789"
    config = only(sim_config(database_url, TOKENPULSE_ETHERSCAN_API_KEYS=secret), POLYGON)
    sim.faults.add("timeout", service="etherscan", endpoint="stats/tokensupply", seconds=0.01)
    async with opened(config, pool, sim) as ingestor:
        got = by_figure(await fetcher.fetch_all(ingestor), POLYGON)
    assert all(not attempt.ok for attempt in got.values())
    outcome = await validation_runner.run(pool, config, origin="cli")
    async with pool.connection() as conn:
        cur = await conn.execute("select detail from upstream_figures")
        details = [row["detail"] for row in await cur.fetchall()]
        cur = await conn.execute("select report::text as r, markdown from validation_reports")
        reports = await cur.fetchall()
    assert any("Invalid API Key" in (d or "") for d in details)
    stored = " ".join([*(d or "" for d in details), reports[0]["r"], reports[0]["markdown"]])
    assert secret not in stored
    assert secret not in outcome.markdown
    assert secret not in caplog.text


async def backfilled(config: Config, pool: Pool, sim: Simulator, chain_id: int) -> Ingestor:
    async with opened(config, pool, sim) as ingestor:
        chain = next(c for c in config.chains if c.id == chain_id)
        await ingestor.backfill(chain_id, chain.first_block)
        await ingestor.sync_tip(chain_id)
    return ingestor


async def validate(config: Config, pool: Pool, sim: Simulator) -> validation_runner.Outcome:
    async with opened(config, pool, sim) as ingestor:
        await fetcher.fetch_all(ingestor)
    return await validation_runner.run(pool, config, origin="cli")


def statuses(outcome: validation_runner.Outcome) -> dict[str, Status]:
    return {c.figure.value: c.status for c in outcome.report.comparisons}


async def test_the_report_flags_disagreement_above_2_percent_and_is_quiet_below(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    config = only(sim_config(database_url), ETH)
    await backfilled(config, pool, sim, ETH)

    clean = await validate(config, pool, sim)
    assert statuses(clean) == {"transfers": "ok", "holders": "ok", "supply": "ok"}
    assert all(c.variance == 0 for c in clean.report.comparisons)

    sim.options.skews = {"holders": 0.05, "supply": 0.03}
    flagged = await validate(config, pool, sim)
    assert statuses(flagged) == {"transfers": "ok", "holders": "flagged", "supply": "flagged"}
    assert len(flagged.report.flagged) == 2
    assert "## Flagged" in flagged.markdown
    again = await validate(config, pool, sim)  # still flagged: the open alerts are refreshed
    async with pool.connection() as conn:
        open_alerts = await alerts.list_open(conn, "validation_variance")
        stored = await validation.find_latest(conn)
    assert sorted(a.dedupe_key for a in open_alerts) == [
        "validation_variance:1:holders", "validation_variance:1:supply",
    ]  # fmt: skip
    assert all(a.occurrences == 2 and a.chain_id == ETH for a in open_alerts)
    assert stored is not None
    assert stored.id == again.report_id
    assert stored.flagged == 2
    assert stored.report["comparisons"][1]["status"] == "flagged"

    sim.options.skews = {"holders": 0.01, "supply": -0.01}
    quiet = await validate(config, pool, sim)
    assert statuses(quiet) == {"transfers": "ok", "holders": "ok", "supply": "ok"}
    assert quiet.report.flagged == ()
    async with pool.connection() as conn:
        assert await alerts.list_open(conn) == []  # resolved


async def test_incomplete_coverage_is_not_comparable_not_flagged(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    config = only(sim_config(database_url), ETH)
    async with opened(config, pool, sim) as ingestor:
        await ingestor.sync_tip(ETH)  # the recent past only: no history back to first_block
    sim.options.skews = {"holders": 0.5}
    outcome = await validate(config, pool, sim)
    by = {c.figure.value: c for c in outcome.report.comparisons}
    assert by["holders"].status is Status.NOT_COMPARABLE
    assert by["holders"].reason is not None
    assert "incomplete" in by["holders"].reason
    assert by["transfers"].status is Status.OK  # its window lies inside the covered range
    assert outcome.report.flagged == ()


async def test_the_nightly_job_fetches_and_stores_a_report(
    database_url: str, pool: Pool, sim: Simulator
) -> None:
    config = only(sim_config(database_url), ETH, CRONOS)

    async def leader() -> bool:
        return True

    async with opened(config, pool, sim) as ingestor:
        ctx = jobs.JobContext(config, pool, leader, ingestor=ingestor)
        await jobs.validate_nightly(ctx)
    async with pool.connection() as conn:
        stored = await validation.find_latest(conn)
        found = await figures.latest_good(conn)
    assert stored is not None
    assert stored.origin == "nightly"
    assert {(f.chain_id, f.figure) for f in found} == {
        (c, f) for c in (ETH, CRONOS) for f in Figure
    }
    assert len(stored.report["comparisons"]) == 6


def test_the_figure_and_nightly_jobs_are_scheduled() -> None:
    config = sim_config(
        "postgresql://unused", TOKENPULSE_VALIDATE_HOUR_UTC="4",
        TOKENPULSE_FIGURES_INTERVAL_SECONDS="600",
    )  # fmt: skip

    async def leader() -> bool:
        return True

    scheduler = AsyncIOScheduler()
    jobs.schedule(scheduler, jobs.JobContext(config, Any, leader), jobs.plan(config))  # type: ignore[arg-type]
    scheduled = {job.id: job for job in scheduler.get_jobs()}
    nightly, fetch = scheduled["validate_nightly"], scheduled["token_figures"]
    assert str(nightly.trigger.fields[5]) == "4"
    assert str(nightly.trigger.fields[6]) == "0"
    assert str(nightly.trigger.timezone) == "UTC"
    assert (nightly.max_instances, nightly.coalesce) == (1, True)
    assert fetch.trigger.interval == timedelta(seconds=600)
    assert (fetch.max_instances, fetch.coalesce) == (1, True)
