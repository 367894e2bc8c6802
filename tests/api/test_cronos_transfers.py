"""GET /api/transfers?chainId=25 serves real pages: Cronos ingested from the simulator (explorer
logs, RPC headers) comes back page by page and by cursor, every stored row once, in the
API's newest-first order, with the simulator's values (issue #6: "Cronos /api/transfers
returns real pages")."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.simulator import Simulator
from app.store import pool as pool_module
from tests.ingest.helpers import make_sim, opened, sim_config, truth

CRONOS = 25
PAGE = 100


async def _ingest(config: Config, sim: Simulator) -> int:
    pool = pool_module.create(config.settings, name="cronos-ingest")
    await pool.open(wait=True, timeout=10)
    try:
        async with opened(config, pool, sim) as ingestor:
            report = await ingestor.sync_tip(CRONOS)
    finally:
        await pool.close()
    assert report.complete
    return report.from_block


def _key(item: dict[str, Any]) -> tuple[str, int]:
    return item["hash"], int(item["logIndex"])


def test_cronos_transfers_come_back_page_by_page(database_url: str) -> None:
    sim = make_sim(density={CRONOS: 400.0})
    config = sim_config(database_url, TOKENPULSE_INGEST_TIP_START_BLOCKS="20000")
    start = asyncio.run(_ingest(config, sim))
    rows = truth(sim, CRONOS, start)
    assert len(rows) > 3 * PAGE, "precondition: several pages"
    newest_first = sorted(rows, key=lambda r: (r[6], r[2]), reverse=True)
    expected = [(r[1], r[2]) for r in newest_first]
    values = {(r[1], r[2]): (r[3], r[4], str(r[5]), str(r[6])) for r in rows}

    with TestClient(create_app(config)) as client:
        seen: list[tuple[str, int]] = []
        for page in range(1, 100):
            params = {"chainId": str(CRONOS), "page": str(page), "pageSize": str(PAGE)}
            body = client.get("/api/transfers", params=params).json()
            assert body["meta"]["total"] == len(rows)
            assert len(body["data"]) == min(PAGE, len(rows) - len(seen))
            for item in body["data"]:
                assert (item["chainId"], item["chainName"]) == (CRONOS, "Cronos")
                got = (item["from"], item["to"], item["value"], item["blockNumber"])
                assert got == values[_key(item)]
            seen += [_key(item) for item in body["data"]]
            if not body["meta"]["hasMore"]:
                assert page == body["meta"]["totalPages"] == -(-len(rows) // PAGE)
                break
        assert seen == expected

        by_cursor: list[tuple[str, int]] = []
        params = {"chainId": str(CRONOS), "pageSize": str(PAGE)}
        while True:
            body = client.get("/api/transfers", params=params).json()
            by_cursor += [_key(item) for item in body["data"]]
            cursor = body["meta"]["nextCursor"]
            if cursor is None:
                break
            params["cursor"] = cursor
        assert by_cursor == expected
