"""Analytics on simulator data: Polygon (Etherscan) and Cronos (explorer) ingested from the
simulator, the aggregates refreshed as the job does, then every figure of /api/analytics and
GraphQL analytics against a direct computation over the stored ``transfers`` rows, for the
whole history, a custom range of its days, each chain and both together."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from decimal import Decimal

from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.domain import Transfer
from app.simulator import Simulator
from app.store import pool as pool_module
from tests.api import analytics_data as data
from tests.api.test_analytics_rest import _days, check_against_raw, get
from tests.ingest.helpers import make_sim, opened, sim_config, truth

POLYGON, CRONOS = 137, 25
RAW = (
    "select chain_id, block_time, block_number, tx_hash, log_index, from_address, to_address,"
    " value from transfers"
)


async def _ingest(config: Config, sim: Simulator) -> dict[int, int]:
    pool = pool_module.create(config.settings, name="analytics-ingest")
    await pool.open(wait=True, timeout=10)
    starts: dict[int, int] = {}
    try:
        async with opened(config, pool, sim) as ingestor:
            for chain_id in (POLYGON, CRONOS):
                report = await ingestor.sync_tip(chain_id)
                assert report.complete
                starts[chain_id] = report.from_block
    finally:
        await pool.close()
    return starts


async def _stored(config: Config) -> list[Transfer]:
    """The raw rows, read straight from the table."""
    conn = await pool_module.connect(config.settings)
    async with conn:
        cur = await conn.execute(RAW)
        rows = await cur.fetchall()
    return [
        Transfer(
            chain_id=r["chain_id"],
            block_time=r["block_time"].astimezone(UTC),
            block_number=r["block_number"],
            block_hash="0x" + "00" * 32,
            tx_hash="0x" + bytes(r["tx_hash"]).hex(),
            log_index=r["log_index"],
            from_address="0x" + bytes(r["from_address"]).hex(),
            to_address="0x" + bytes(r["to_address"]).hex(),
            value=Decimal(r["value"]),
        )
        for r in rows
    ]


def test_every_figure_matches_the_stored_simulator_transfers(database_url: str) -> None:
    sim = make_sim(density={POLYGON: 150.0, CRONOS: 60.0})
    config = sim_config(database_url, TOKENPULSE_INGEST_TIP_START_BLOCKS="150000")
    starts = asyncio.run(_ingest(config, sim))
    rows = asyncio.run(_stored(config))
    for ingested, start in starts.items():
        assert len([r for r in rows if r.chain_id == ingested]) == len(truth(sim, ingested, start))
    data.refresh(config)
    first = min(r.block_time for r in rows).date()
    last = max(r.block_time for r in rows).date()
    assert (last - first).days >= 3, "precondition: several days of history"
    with TestClient(create_app(config)) as client:
        for chain_id in (None, POLYGON, CRONOS):
            chain = {} if chain_id is None else {"chainId": str(chain_id)}
            # The simulated history ends months before today: "all" and custom ranges see it.
            body = get(client, timeRange="all", **chain)
            want = data.expected(rows, "all", chain_id)
            days = _days(min(want.days), data.today())
            check_against_raw(body, want, days)
            middle = first + timedelta(days=1)
            bounds = {"from": middle.isoformat(), "to": last.isoformat()}
            body = get(client, timeRange="custom", **bounds, **chain)
            want = data.expected(rows, "custom", chain_id, middle, last)
            check_against_raw(body, want, _days(middle, last))
            assert want.previous is not None
            if chain_id is None:
                assert want.previous[0] > 0  # the previous period holds the first day's rows
            query = "query($c: SafeInt, $f: Date, $t: Date) { analytics(range: CUSTOM,"
            query += " chainId: $c, from: $f, to: $t) { metrics { totalTransfers"
            query += " activeAddresses transfersChange } } }"
            variables = {"c": chain_id, "f": bounds["from"], "t": bounds["to"]}
            answer = client.post("/graphql", json={"query": query, "variables": variables})
            metrics = answer.json()["data"]["analytics"]["metrics"]
            legacy = body["analyticsMetrics"]
            assert metrics["totalTransfers"] == legacy["totalTransfers"] == want.transfers
            assert metrics["activeAddresses"] == want.active
            change = metrics["transfersChange"]
            assert legacy["transfersChange"] == (None if change is None else round(change, 2))
