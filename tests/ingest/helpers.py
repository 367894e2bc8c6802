"""Shared pieces of the ingestion tests: a simulator on a frozen simulated clock (real wall
time, so rate limits and the call log behave as in production), a configuration pointing
every chain at it, an Ingestor talking to it in-process, and ground-truth comparisons."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.config import Config
from app.ingest.runtime import Ingestor
from app.simulator import Clock, KeySpec, Options, Simulator
from app.simulator.limits import default_keys
from app.store import coverage
from app.store.pool import Pool
from app.upstreams import BudgetLedger
from tests.conftest import make_config

START = 1_780_272_000.0  # 2026-06-01T00:00:00Z: simulated "now" when a test starts
SEED = 7
SIM_URL = "http://sim"
ETHERSCAN_KEYS = ("test-etherscan-key-1", "test-etherscan-key-2")
CRONOS_KEY = "test-cronos-key-1"
# Fast settings: the simulator's limits are raised to match (see fast_sim).
FAST = {
    "TOKENPULSE_UPSTREAM_CALLS_PER_SECOND": "200",
    "TOKENPULSE_UPSTREAM_PACING_MARGIN_SECONDS": "0",
    "TOKENPULSE_RETRY_BASE_SECONDS": "0.05",
    "TOKENPULSE_RETRY_CAP_SECONDS": "0.2",
    "TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS": "100000",
    "TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS": "200000000",
    "TOKENPULSE_BREAKER_RESET_SECONDS": "0.5",
}

Row = tuple[int, str, int, str, str, int, int, str]  # chain, tx, log, from, to, value, block, hash


def make_sim(
    density: float | Mapping[int, float] = 0.01,
    *,
    per_second: int | None = 1000,
    options: Options | None = None,
) -> Simulator:
    """Simulated time frozen at START (advance it with ``sim.clock.advance``); real wall time.

    ``per_second`` raises every test key's plan (None keeps the real plans)."""
    keys = dict(default_keys())
    if per_second is not None:
        for name in (*ETHERSCAN_KEYS, CRONOS_KEY):
            keys[name] = KeySpec.make("standard", label=name, per_second=per_second)
    options = options or Options(cronos_per_second=per_second or 5)
    clock = Clock(start=START, speed=0)
    return Simulator(seed=SEED, clock=clock, density=density, keys=keys, options=options)


def warm(sim: Simulator, *chain_ids: int) -> None:
    """Generate the chains' history now, so that no call made by a test waits for it."""
    for chain_id in chain_ids:
        sim.world.ledgers[chain_id].ensure(sim.world.head(chain_id))


def sim_config(database_url: str, *, fast: bool = True, **env: str) -> Config:
    settings = dict(FAST) if fast else {}
    settings["TOKENPULSE_SIMULATOR_URL"] = SIM_URL
    settings.update(env)
    return make_config(database_url, **settings)


@asynccontextmanager
async def opened(
    config: Config,
    pool: Pool,
    sim: Simulator,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    ledger: BudgetLedger | None = None,
) -> AsyncIterator[Ingestor]:
    transport = transport or httpx.ASGITransport(app=sim.app)
    ingestor = await Ingestor.open(config, pool, transport=transport, ledger=ledger)
    try:
        yield ingestor
    finally:
        await ingestor.close()


def truth(sim: Simulator, chain_id: int, from_block: int = 0) -> set[Row]:
    """The simulator's ERC-20 transfers of a chain at its head."""
    rows: set[Row] = set()
    offset = 0
    while True:
        page = sim.truth(chain_id, "transfers", fromBlock=from_block, limit=5000, offset=offset)
        for t in page["transfers"]:
            row = (chain_id, t["txHash"], t["logIndex"], t["from"], t["to"], int(t["value"]))
            rows.add((*row, t["blockNumber"], t["blockHash"]))
        offset += len(page["transfers"])
        if offset >= page["total"]:
            return rows


async def stored(pool: Pool, chain_id: int | None = None) -> list[Row]:
    """Every stored transfer (a list: duplicates would show)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select chain_id, tx_hash, log_index, from_address, to_address, value,"
            " block_number, block_hash from transfers"
            " where %(chain)s::integer is null or chain_id = %(chain)s",
            {"chain": chain_id},
        )
        rows = await cur.fetchall()
    return [_row(r) for r in rows]


def _row(r: dict[str, Any]) -> Row:
    parties = (_hex(r["from_address"]), _hex(r["to_address"]))
    identity = (r["chain_id"], _hex(r["tx_hash"]), r["log_index"])
    return (*identity, *parties, int(r["value"]), r["block_number"], _hex(r["block_hash"]))


async def covered(pool: Pool, chain_id: int) -> list[tuple[int, int]]:
    async with pool.connection() as conn:
        return await coverage.list_ranges(conn, chain_id)


async def sql(pool: Pool, query: str, params: Any = None) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()
