"""GET /api/finality (legacy fields + every chain), GraphQL finality and sla, from stored rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from app.config import Config
from app.store import finality as store_finality
from app.store import pool as pool_module
from app.store.finality import Observation
from tests.api.conftest import seed

NOW = datetime.now(UTC).replace(microsecond=0)
ETH, POLYGON = 1, 137


def probe(seconds_ago: float, chain_id: int, finalized: int, **kw: object) -> Observation:
    at = NOW - timedelta(seconds=seconds_ago)
    fields: dict[str, object] = {
        "observed_at": at,
        "chain_id": chain_id,
        "source": "rpc",
        "ok": True,
        "latency_ms": 12.5,
        "outcome": "ok",
        "latest_block": finalized + 64,
        "finalized_block": finalized,
        "latest_time": at,
        "finalized_time": at - timedelta(seconds=768),
    }
    return Observation(**{**fields, **kw})  # type: ignore[arg-type]


def store(config: Config, rows: list[Observation]) -> None:
    async def write() -> None:
        conn = await pool_module.connect(config.settings)
        async with conn, conn.transaction():
            await store_finality.insert_observations(conn, rows)

    asyncio.run(write())


@pytest.fixture
def probed(config: Config) -> Config:
    seed(config, blocks=1)
    store(
        config,
        [
            probe(300, ETH, 1000, latency_ms=10.0),
            probe(200, ETH, 1010, latency_ms=20.0),  # advanced here
            probe(100, ETH, 1010, latency_ms=30.0),
            # Polygon through Etherscan: no header times for the lag, safe tag only.
            probe(
                50,
                POLYGON,
                0,
                source="etherscan",
                finalized_block=None,
                safe_block=500,
                latest_block=530,
                latest_time=None,
                finalized_time=None,
            ),
            probe(
                10,
                POLYGON,
                0,
                source="etherscan",
                ok=False,
                outcome="upstream_timeout",
                detail="timed out",
                latest_block=None,
                finalized_block=None,
                latest_time=None,
                finalized_time=None,
                latency_ms=30000.0,
            ),
        ],
    )
    return config


def test_legacy_fields_for_ethereum_and_every_chain(client: TestClient, probed: Config) -> None:
    answer = client.get("/api/finality")
    assert answer.status_code == 200
    assert answer.headers["cache-control"].startswith("public, max-age=")
    body = answer.json()
    assert (body["blockNumber"], body["blockNumberHex"], body["source"]) == (1010, "0x3f2", "rpc")
    assert body["timestamp"] == int((NOW - timedelta(seconds=100)).timestamp() * 1000)
    assert body["chainId"] == ETH
    chains = {item["chainId"]: item for item in body["chains"]}
    assert set(chains) == {chain.id for chain in probed.enabled_chains}
    eth = chains[ETH]
    assert (eth["latestBlock"], eth["finalizedBlock"], eth["finalityBlock"]) == (1074, 1010, 1010)
    assert (eth["lagBlocks"], eth["lagSeconds"], eth["lagEstimated"]) == (64, 768.0, False)
    assert eth["advancedAt"] == _iso(NOW - timedelta(seconds=200))
    # NOW is this module's import time: a long suite may run this test minutes later.
    elapsed = (datetime.now(UTC) - NOW).total_seconds()
    assert 200 <= eth["sinceAdvancedSeconds"] <= 200 + elapsed + 1
    assert (eth["lastProbeOk"], eth["lastOutcome"], eth["lastError"]) == (True, "ok", None)
    polygon = chains[POLYGON]
    assert (polygon["safeBlock"], polygon["finalizedBlock"], polygon["finalityBlock"]) == (
        500,
        None,
        500,
    )
    # No header times: lag estimated from Polygon's 2 s block time.
    assert (polygon["lagBlocks"], polygon["lagSeconds"], polygon["lagEstimated"]) == (
        30,
        60.0,
        True,
    )
    assert (polygon["lastProbeOk"], polygon["lastOutcome"], polygon["lastError"]) == (
        False,
        "upstream_timeout",
        "timed out",
    )
    # The legacy cache-health section, with its extra fields (legacy-api.md §7.3).
    section = client.get("/api/cache-health").json()["caches"]["finality"]
    assert (section["blockNumber"], section["blockNumberHex"]) == (1010, "0x3f2")
    assert (section["status"], section["ttlMs"]) == ("fresh", 15000)
    never = chains[25]  # Cronos: never probed
    assert (never["latestBlock"], never["finalityBlock"], never["lastProbeAt"]) == (
        None,
        None,
        None,
    )


def test_chain_id_picks_the_legacy_chain_and_bad_ones_are_refused(
    client: TestClient, probed: Config
) -> None:
    polygon = client.get("/api/finality?chainId=137").json()
    assert (polygon["chainId"], polygon["blockNumber"], polygon["blockNumberHex"]) == (
        137,
        500,
        "0x1f4",
    )
    cronos = client.get("/api/finality?chainId=25").json()
    assert (cronos["blockNumber"], cronos["timestamp"], cronos["source"]) == (None, None, None)
    for bad in ("999", "abc", "-1", "1" * 30):
        refused = client.get(f"/api/finality?chainId={bad}")
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["code"] == "invalid_chain"


FINALITY = """query($chainId: SafeInt) {
  finality(chainId: $chainId) {
    chainId finalityBlock lagBlocks lagSeconds lagEstimated advancedAt lastProbeOk lastError
  }
}"""


def test_graphql_finality(client: TestClient, probed: Config) -> None:
    answer = client.post("/graphql", json={"query": FINALITY, "variables": {"chainId": ETH}}).json()
    assert answer["data"]["finality"] == [
        {
            "chainId": ETH,
            "finalityBlock": 1010,
            "lagBlocks": 64,
            "lagSeconds": 768.0,
            "lagEstimated": False,
            "advancedAt": (NOW - timedelta(seconds=200)).isoformat(),  # GraphQL's DateTime
            "lastProbeOk": True,
            "lastError": None,
        }
    ]
    every = client.post("/graphql", json={"query": FINALITY}).json()["data"]["finality"]
    assert [item["chainId"] for item in every] == [chain.id for chain in probed.enabled_chains]
    bad = client.post("/graphql", json={"query": FINALITY, "variables": {"chainId": 999}}).json()
    assert bad["errors"][0]["extensions"]["code"] == "invalid_chain"


SLA = """query($window: String, $kind: String) {
  sla(window: $window, kind: $kind) {
    window kind source calls successes successRate latencyP50Ms latencyP95Ms latencyP99Ms
  }
}"""


def test_graphql_sla_from_the_stored_probes(client: TestClient, probed: Config) -> None:
    answer = client.post("/graphql", json={"query": SLA, "variables": {"window": "1h"}}).json()
    by_source = {item["source"]: item for item in answer["data"]["sla"]}
    assert by_source["rpc"] == {
        "window": "1h",
        "kind": "finality",
        "source": "rpc",
        "calls": 3,
        "successes": 3,
        "successRate": 1.0,
        "latencyP50Ms": 20.0,
        "latencyP95Ms": pytest.approx(29.0),
        "latencyP99Ms": pytest.approx(29.8),
    }
    assert by_source["etherscan"]["successRate"] == 0.5
    assert by_source["etherscan"]["latencyP50Ms"] == pytest.approx(15006.25)
    both = client.post("/graphql", json={"query": SLA}).json()["data"]["sla"]
    assert {item["window"] for item in both} == {"1h", "24h"}
    prices = client.post("/graphql", json={"query": SLA, "variables": {"kind": "price"}}).json()
    assert prices["data"]["sla"] == []
    for variables in ({"window": "7d"}, {"kind": "weather"}):
        bad = client.post("/graphql", json={"query": SLA, "variables": variables}).json()
        assert bad["errors"][0]["extensions"]["code"] == "invalid_input"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
