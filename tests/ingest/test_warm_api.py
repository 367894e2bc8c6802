"""Warm status as the API serves it: GraphQL ``warmStatus`` and the /api/health fields, from
ingest_status rows and coverage in a real database."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.store import chains as store_chains
from app.store import coverage as store_coverage
from app.store import ingest_status as store_ingest_status
from app.store import pool as pool_module

QUERY = """{ warmStatus { chainId chainName enabled status reason lastSuccessAt
  sinceSuccessSeconds head safeHead lastCoveredBlock headLag lagSeconds consecutiveFailures
  lastError } health { notificationQueueDepth } }"""


async def _seed(config: Config) -> None:
    """Polygon synced up to its head; Ethereum synced but 100 blocks (1,200 s) short; BSC
    failing since its only sync; the rest never synced."""
    conn = await pool_module.connect(config.settings)
    async with conn:
        await store_chains.upsert_chains(conn, config.chains)
        await store_coverage.add_range(conn, 137, 1000, 2000)
        await store_ingest_status.upsert_success(conn, 137, 2000, 1968, {})
        await store_coverage.add_range(conn, 1, 1000, 2000)
        await store_ingest_status.upsert_success(conn, 1, 2100, 2036, {})
        await store_coverage.add_range(conn, 56, 1000, 2000)
        await store_ingest_status.upsert_success(conn, 56, 2000, 1999, {})
        await store_ingest_status.upsert_failure(conn, 56, "HTTP 503 from etherscan")
        await conn.commit()


def test_warm_status_query_and_health_fields(config: Config) -> None:
    asyncio.run(_seed(config))
    with TestClient(create_app(config)) as client:
        answer = client.post("/graphql", json={"query": QUERY}).json()
        body = client.get("/api/health").json()
    assert "errors" not in answer, answer
    rows: dict[int, dict[str, Any]] = {row["chainId"]: row for row in answer["data"]["warmStatus"]}
    assert len(rows) == 10
    polygon = rows[137]
    assert polygon["status"] == "FRESH"
    assert (polygon["head"], polygon["safeHead"], polygon["lastCoveredBlock"]) == (
        2000,
        1968,
        2000,
    )
    assert (polygon["headLag"], polygon["lagSeconds"]) == (0, 0.0)
    assert polygon["lastSuccessAt"] is not None
    assert polygon["sinceSuccessSeconds"] < 60
    assert rows[1]["status"] == "STALE"  # 100 blocks x 12 s = 1,200 s behind
    assert rows[1]["headLag"] == 100
    assert rows[1]["lagSeconds"] == 1200.0
    assert rows[56]["status"] == "FRESH"
    assert (rows[56]["consecutiveFailures"], rows[56]["lastError"]) == (
        1,
        "HTTP 503 from etherscan",
    )
    assert rows[10]["status"] == "COLD"
    assert rows[10]["reason"] == "never synced"
    assert answer["data"]["health"]["notificationQueueDepth"] == 0

    assert body["status"] == "degraded"
    assert body["warm"] == {
        "status": "cold",
        "allFresh": False,
        "chains": {"fresh": 2, "lagging": 0, "stale": 1, "cold": 7},
    }
    chains = {chain["chainId"]: chain for chain in body["chains"]}
    assert chains[137]["warmStatus"] == "fresh"
    assert chains[137]["stale"] is False
    assert chains[1]["warmStatus"] == "stale"
    assert chains[1]["stale"] is True
    assert chains[56]["consecutiveFailures"] == 1
    assert chains[56]["lastErrorAt"] is not None
    summary = body["services"]["ingester"]["summary"]
    assert (summary["chainsFailing"], summary["maxConsecutiveFailures"]) == (1, 1)
    assert summary["maxBackoffUntil"] is not None
    codes = {(w["scope"], w["code"]) for w in body["warnings"]}
    assert {("chain:1", "STORE_DATA_STALE"), ("chain:56", "INGESTER_FAILURES")} <= codes
    assert ("chain:10", "STORE_DATA_NOT_READY") in codes
    assert body["meta"]["queueDepth"] == 0
