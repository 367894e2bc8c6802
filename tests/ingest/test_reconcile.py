"""Reconciliation (app.ingest.reconcile) against the simulator: a clean window is recorded
clean; a gap the coverage ledger does not know about, an extra row and a corrupted row are
found and repaired to the ground truth in one transaction; an outage, a garbage answer or a
disagreeing source are recorded and leave the data untouched; the job takes chains in turn
(Cronos first), honours its settings and stays within the rate budget."""

from __future__ import annotations

import dataclasses
import itertools
import random
from datetime import timedelta
from typing import Any

import pytest

from app.config import Config
from app.errors import ConfigError
from app.ingest import independent, reconcile, wiring
from app.ingest.runtime import Ingestor
from app.simulator import Simulator
from app.store import ingest_status, transfers
from app.store import reconcile as store
from app.store.pool import Pool
from app.store.reconcile import RunRecord
from app.upstreams import InMemoryLedger
from schedulers import jobs
from tests.conftest import make_config
from tests.ingest.helpers import FAST, SIM_URL, make_sim, opened, sql, stored, truth

POLYGON, CRONOS = 137, 25
DENSITY = {POLYGON: 1000.0, CRONOS: 1000.0}  # transfers a day: scores to hundreds a window
HISTORY = 12_000  # blocks stored below the tip's cold start
WINDOW = 3_000
SETTINGS = {
    "TOKENPULSE_RECONCILE_WINDOW_BLOCKS": str(WINDOW),
    "TOKENPULSE_RECONCILE_WINDOWS": "1",
    "TOKENPULSE_RECONCILE_SEED": "11",
}
SECOND_RPC = f"{POLYGON}={SIM_URL}/rpc/{POLYGON}"  # another URL of the simulator's node
# (chain, extra settings, the source recorded, how rows are matched)
CASES = [
    pytest.param(POLYGON, {}, "etherscan:tokentx", "multiset", id="polygon-tokentx"),
    pytest.param(CRONOS, {}, "rpc:eth_getLogs", "identity", id="cronos-rpc"),
    pytest.param(
        POLYGON,
        {"TOKENPULSE_INGEST_RPC_CHAINS": "137", "TOKENPULSE_RECONCILE_RPC_URLS": SECOND_RPC},
        "rpc2:eth_getLogs",
        "identity",
        id="polygon-rpc-second-url",
    ),
    pytest.param(
        CRONOS,
        {"TOKENPULSE_RECONCILE_SOURCE": "tokentx"},
        "explorer:tokentx",
        "identity",
        id="cronos-tokentx",
    ),
]


@pytest.fixture
def mode() -> str:
    return "portable"  # the window queries are mode-independent (tests/store runs both)


def config_for(database_url: str, **env: str) -> Config:
    return make_config(
        database_url, **(FAST | {"TOKENPULSE_SIMULATOR_URL": SIM_URL} | SETTINGS | env)
    )


async def ingest(ingestor: Ingestor, sim: Simulator, chain_id: int) -> int:
    """A tip cycle, then backfill HISTORY blocks below it; returns the first stored block."""
    tip = await ingestor.sync_tip(chain_id)
    assert tip.complete
    start = tip.from_block - HISTORY
    fill = await ingestor.backfill(chain_id, start)
    assert fill.complete
    assert set(await stored(ingestor.pool, chain_id)) == truth(sim, chain_id, start)
    return start


async def newest_window(pool: Pool, chain_id: int) -> tuple[int, int]:
    """The window a run checks first: the newest WINDOW blocks at or below finality."""
    async with pool.connection() as conn:
        status = await ingest_status.find(conn, chain_id)
    assert status is not None
    assert status.safe_head is not None
    return status.safe_head - WINDOW + 1, status.safe_head


async def runs(pool: Pool, chain_id: int | None = None) -> list[store.ReconciliationRun]:
    async with pool.connection() as conn:
        return await store.list_runs(conn, chain_id)


async def balances_match(pool: Pool, chain_id: int) -> bool:
    """Whether the holder balances (0006_balances, when present) equal what the stored
    transfers add up to."""
    found = await sql(pool, "select to_regclass('balances') is not null as present")
    if not found[0]["present"]:
        return True
    off = await sql(
        pool,
        """
        with sides as (
            select to_address as address, value as received, 0::numeric as sent, 1 as n
            from transfers where chain_id = %(c)s
            union all
            select from_address, 0::numeric, value,
                   case when from_address = to_address then 0 else 1 end
            from transfers where chain_id = %(c)s
        ), sums as (
            select address, sum(received) as r, sum(sent) as s, sum(n) as n
            from sides group by address
        )
        select count(*) as off
        from sums full join (select * from balances where chain_id = %(c)s) as b using (address)
        where sums.r is distinct from b.received or sums.s is distinct from b.sent
           or sums.n is distinct from b.transfers
        """,
        {"c": chain_id},
    )
    return int(off[0]["off"]) == 0


async def delete_rows(pool: Pool, chain_id: int, lo: int, hi: int) -> int:
    """A gap the coverage ledger does not know about (balances kept in step)."""
    async with pool.connection() as conn, conn.transaction():
        return await store.delete_window(conn, chain_id, lo, hi)


@pytest.mark.parametrize(("chain_id", "env", "source", "compared_by"), CASES)
async def test_a_clean_store_records_clean_windows(
    database_url: str, pool: Pool, chain_id: int, env: dict[str, str], source: str, compared_by: str
) -> None:
    sim = make_sim(density=DENSITY)
    config = config_for(database_url, TOKENPULSE_RECONCILE_WINDOWS="3", **env)
    async with opened(config, pool, sim) as ingestor:
        start = await ingest(ingestor, sim, chain_id)
        before = await stored(pool, chain_id)
        found = await reconcile.reconcile_chain(ingestor, chain_id, random.Random(3))
        asked: list[bool] = []

        def after_one() -> bool:  # a leader stepping down: stop between windows
            asked.append(True)
            return len(asked) > 1

        stopped = await reconcile.reconcile_chain(
            ingestor, chain_id, random.Random(3), should_stop=after_one
        )
    assert len(stopped) == 1
    assert len(found) == 3
    lo, hi = await newest_window(pool, chain_id)
    assert (found[0].block_lo, found[0].block_hi) == (lo, hi)
    for run in found:
        assert start <= run.block_lo <= run.block_hi <= hi
        assert run.block_hi - run.block_lo + 1 == WINDOW
        assert (run.source, run.compared_by, run.error, run.repaired) == (
            source, compared_by, None, False,
        )  # fmt: skip
        assert (run.missing, run.extra, run.mismatched) == (0, 0, 0)
        assert run.upstream_count is not None
        assert run.stored_count == run.upstream_count > 0
    recorded = await runs(pool, chain_id)
    assert len(recorded) == 4
    assert {r.outcome for r in recorded} == {"clean"}
    assert await stored(pool, chain_id) == before


@pytest.mark.parametrize(("chain_id", "env", "source", "compared_by"), CASES)
async def test_a_silent_gap_is_found_and_repaired(
    database_url: str, pool: Pool, chain_id: int, env: dict[str, str], source: str, compared_by: str
) -> None:
    sim = make_sim(density=DENSITY)
    config = config_for(database_url, **env)
    async with opened(config, pool, sim) as ingestor:
        start = await ingest(ingestor, sim, chain_id)
        lo, hi = await newest_window(pool, chain_id)
        deleted = await delete_rows(pool, chain_id, lo + 500, lo + 1500)
        assert deleted > 0
        await sql(pool, "delete from analytics_dirty returning id")  # what ingestion recorded
        [run] = await reconcile.reconcile_chain(ingestor, chain_id, random.Random(1))
    assert (run.block_lo, run.block_hi, run.source, run.compared_by) == (
        lo,
        hi,
        source,
        compared_by,
    )
    # The simulator's history is months old: the repaired window awaits an analytics refresh.
    assert await sql(pool, "select chain_id from analytics_dirty") == [{"chain_id": chain_id}] * 2
    assert (run.missing, run.extra, run.mismatched) == (deleted, 0, 0)
    assert run.upstream_count == run.stored_count + deleted
    assert run.repaired
    assert run.error is None
    assert (run.rows_deleted, run.rows_inserted) == (run.stored_count, run.upstream_count)
    rows = await stored(pool, chain_id)
    assert len(rows) == len(set(rows))
    assert set(rows) == truth(sim, chain_id, start)
    assert await balances_match(pool, chain_id)
    [recorded] = await runs(pool, chain_id)
    assert recorded.outcome == "repaired"
    assert dataclasses.astuple(recorded)[: len(dataclasses.fields(RunRecord))] == (
        dataclasses.astuple(run)
    )


@pytest.mark.parametrize(("chain_id", "env", "source", "compared_by"), CASES)
async def test_extra_and_corrupted_rows_are_found_and_removed(
    database_url: str, pool: Pool, chain_id: int, env: dict[str, str], source: str, compared_by: str
) -> None:
    sim = make_sim(density=DENSITY)
    config = config_for(database_url, **env)
    async with opened(config, pool, sim) as ingestor:
        start = await ingest(ingestor, sim, chain_id)
        lo, hi = await newest_window(pool, chain_id)
        kind = ingestor.sources[chain_id].kind
        async with pool.connection() as conn, conn.transaction():
            window = await store.list_window(conn, chain_id, lo, hi)
            victim = window[len(window) // 2]
            block = [row for row in window if row.block_number == victim.block_number]
            await store.delete_window(conn, chain_id, victim.block_number, victim.block_number)
            corrupted = dataclasses.replace(victim, value=victim.value + 1)
            fake = dataclasses.replace(window[0], tx_hash="0x" + "ab" * 32, log_index=3)
            rewritten = [corrupted if row == victim else row for row in block]
            await transfers.copy_transfers(conn, [*rewritten, fake], kind)
        [run] = await reconcile.reconcile_chain(ingestor, chain_id, random.Random(1))
    assert (run.missing, run.extra, run.mismatched) == (0, 1, 1)
    assert run.stored_count == (run.upstream_count or 0) + 1
    assert run.repaired
    assert run.error is None
    assert set(await stored(pool, chain_id)) == truth(sim, chain_id, start)
    assert await balances_match(pool, chain_id)


FAILURES = [
    pytest.param(POLYGON, "etherscan", "account/tokentx", "outage", {}, id="polygon-outage"),
    pytest.param(
        POLYGON, "etherscan", "account/tokentx", "malformed_json", {}, id="polygon-malformed"
    ),
    pytest.param(POLYGON, "etherscan", "account/tokentx", "wrong_types", {}, id="polygon-garbage"),
    pytest.param(CRONOS, "rpc", None, "outage", {}, id="cronos-rpc-outage"),
    pytest.param(CRONOS, "cronos", "account/tokentx", "wrong_types", {}, id="cronos-garbage"),
]


@pytest.mark.parametrize(("chain_id", "service", "endpoint", "kind", "spec"), FAILURES)
async def test_a_failed_fetch_is_recorded_and_touches_nothing(
    database_url: str,
    pool: Pool,
    chain_id: int,
    service: str,
    endpoint: str | None,
    kind: str,
    spec: dict[str, Any],
) -> None:
    sim = make_sim(density=DENSITY)
    env = {"TOKENPULSE_RECONCILE_SOURCE": "tokentx"} if service == "cronos" else {}
    config = config_for(database_url, TOKENPULSE_RETRY_MAX_ATTEMPTS="2", **env)
    async with opened(config, pool, sim) as ingestor:
        await ingest(ingestor, sim, chain_id)
        lo, hi = await newest_window(pool, chain_id)
        # A gap a careless repair would "fix" with whatever the broken answer said.
        assert await delete_rows(pool, chain_id, lo + 500, lo + 1500) > 0
        before = await stored(pool, chain_id)
        sim.faults.add(kind, service=service, endpoint=endpoint, chain_id=chain_id, **spec)
        [run] = await reconcile.reconcile_chain(ingestor, chain_id, random.Random(1))
    assert run.error is not None
    assert run.error.startswith("upstream_")
    assert not run.repaired
    assert (run.upstream_count, run.missing, run.extra, run.mismatched) == (None,) * 4
    assert run.stored_count == len([r for r in before if lo <= r[6] <= hi])
    assert await stored(pool, chain_id) == before
    [recorded] = await runs(pool, chain_id)
    assert (recorded.outcome, recorded.error) == ("failed", run.error)


async def test_sources_that_disagree_leave_the_data_alone(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=DENSITY)
    config = config_for(database_url)
    async with opened(config, pool, sim) as ingestor:
        await ingest(ingestor, sim, POLYGON)
        before = await stored(pool, POLYGON)
        # tokentx pages cut short in transit: the store looks like it has extra rows, but
        # the ingestion path (proven whole) agrees with the store, not with tokentx.
        sim.faults.add("truncated_page", service="etherscan", endpoint="account/tokentx", keep=0.5)
        [run] = await reconcile.reconcile_chain(ingestor, POLYGON, random.Random(1))
    assert run.extra
    assert run.extra > 0
    assert not run.missing
    assert (run.error, run.repaired) == (reconcile.SOURCES_DISAGREE, False)
    assert await stored(pool, POLYGON) == before


def test_windows_are_the_newest_final_one_and_seeded_older_ones() -> None:
    ranges = [(100, 4_999), (6_000, 20_000)]
    final = reconcile.final_ranges([*ranges, (30_000, 30_500)], safe_head=19_000)
    assert final == [(100, 4_999), (6_000, 19_000)]
    picked = reconcile.pick_windows(final, 1_000, 5, random.Random("7:0"))
    assert picked[0] == (18_001, 19_000)
    assert len(picked) == 5
    assert picked == reconcile.pick_windows(final, 1_000, 5, random.Random("7:0"))
    for lo, hi in picked:
        assert any(r_lo <= lo <= hi <= r_hi for r_lo, r_hi in final)
        assert hi - lo + 1 <= 1_000
    spans = sorted(picked)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    assert reconcile.pick_windows([(5, 9)], 1_000, 3, random.Random(1)) == [(5, 9)]
    assert reconcile.pick_windows([], 1_000, 3, random.Random(1)) == []
    settings = make_config(TOKENPULSE_RECONCILE_SEED="7").settings
    assert reconcile.sampler(settings, 4).random() == reconcile.sampler(settings, 4).random()
    assert reconcile.sampler(settings, 4).random() != reconcile.sampler(settings, 5).random()


def test_the_reconcile_job_follows_its_settings() -> None:
    config = make_config(TOKENPULSE_RECONCILE_INTERVAL_SECONDS="120")
    [job] = [job for job in jobs.plan(config) if job.id == "reconcile"]
    assert (job.every, job.misfire_grace_time) == (timedelta(seconds=120), 120)
    off = make_config(TOKENPULSE_RECONCILE_WINDOWS="0")
    assert "reconcile" not in {job.id for job in jobs.plan(off)}
    order = reconcile.chain_order(config)
    assert order[0] == CRONOS
    assert sorted(order) == sorted(chain.id for chain in config.enabled_chains)


async def test_the_job_takes_chains_in_turn_within_the_rate_budget(
    database_url: str, pool: Pool
) -> None:
    sim = make_sim(density=DENSITY)
    async with opened(config_for(database_url), pool, sim) as fast:
        await ingest(fast, sim, CRONOS)
        await ingest(fast, sim, POLYGON)
    lo, _ = await newest_window(pool, POLYGON)
    await delete_rows(pool, POLYGON, lo + 500, lo + 1500)  # so the run repairs (more calls)
    # The real pace: one call a second per key (TOKENPULSE_UPSTREAM_CALLS_PER_SECOND default).
    paced = make_config(database_url, TOKENPULSE_SIMULATOR_URL=SIM_URL, **SETTINGS)
    polygon_first = dataclasses.replace(
        paced, chains=tuple(c for c in paced.chains if c.id in (CRONOS, POLYGON))
    )
    assert reconcile.chain_order(polygon_first) == [CRONOS, POLYGON]
    sim.calls.clear()

    async def leader() -> bool:
        return True

    async with opened(polygon_first, pool, sim) as ingestor:
        ctx = jobs.JobContext(polygon_first, pool, leader, ingestor=ingestor)
        await jobs.run_job(jobs.reconcile_job(polygon_first), ctx)
        assert {r.chain_id for r in await runs(pool)} == {CRONOS}
        await jobs.run_job(jobs.reconcile_job(polygon_first), ctx)
    assert ctx.state.reconcile_turn == 2
    found = await runs(pool)
    assert sorted((r.chain_id, r.outcome) for r in found) == [
        (CRONOS, "clean"),
        (POLYGON, "repaired"),
    ]
    assert all(r.block_hi - r.block_lo + 1 == WINDOW for r in found)
    per_key = sim.calls.max_per_second(lambda call: f"{call.service}:{call.key}")
    assert per_key
    assert max(per_key.values()) <= 1, per_key
    assert sum(1 for call in sim.calls.calls("etherscan") if call.endpoint == "account/tokentx")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {POLYGON: "etherscan:tokentx", CRONOS: "rpc:eth_getLogs"}),
        ({"TOKENPULSE_RECONCILE_SOURCE": "tokentx"}, {CRONOS: "explorer:tokentx"}),
        ({"TOKENPULSE_RECONCILE_SOURCE": "rpc"}, {POLYGON: "rpc:eth_getLogs"}),
        ({"TOKENPULSE_INGEST_RPC_CHAINS": "137"}, {POLYGON: "rpc:eth_getLogs:same"}),
        (
            {"TOKENPULSE_INGEST_RPC_CHAINS": "137", "TOKENPULSE_RECONCILE_RPC_URLS": SECOND_RPC},
            {POLYGON: "rpc2:eth_getLogs", CRONOS: "rpc:eth_getLogs"},
        ),
        ({"TOKENPULSE_RECONCILE_RPC_URLS": SECOND_RPC}, {POLYGON: "rpc2:eth_getLogs"}),
        (
            {"TOKENPULSE_RECONCILE_RPC_URLS": SECOND_RPC, "TOKENPULSE_RECONCILE_SOURCE": "tokentx"},
            {POLYGON: "etherscan:tokentx"},
        ),
    ],
)
async def test_the_independent_source_of_each_chain(
    env: dict[str, str], expected: dict[int, str]
) -> None:
    config = make_config(TOKENPULSE_SIMULATOR_URL="http://sim", **env)
    http, _, sources = wiring.build(config, InMemoryLedger())
    try:
        for chain_id, source in expected.items():
            found = independent.for_source(sources[chain_id], config.settings)
            assert found.source == source
    finally:
        await http.aclose()


def test_second_rpc_urls_are_checked_and_kept_secret() -> None:
    url = "https://polygon.example/v2/s3cr3t-key"
    config = make_config(TOKENPULSE_RECONCILE_RPC_URLS=f" 137 = {url}/ ,25=http://cronos.example")
    settings = config.settings
    assert settings.reconcile_rpc_url_map == {137: url, 25: "http://cronos.example"}
    assert url in config.secrets
    assert "s3cr3t" not in repr(settings)
    with pytest.raises(ConfigError, match="TOKENPULSE_RECONCILE_RPC_URLS") as refused:
        make_config(TOKENPULSE_RECONCILE_RPC_URLS="137=ftp://s3cr3t.example")
    assert "s3cr3t" not in str(refused.value)
