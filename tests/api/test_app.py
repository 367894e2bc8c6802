"""The app on a real migrated database, in both schema modes: boot, health, GraphQL, readiness."""

from __future__ import annotations

import gc
from typing import Any

from starlette.testclient import TestClient

from app import cli
from app.asgi import create_app
from app.config import Config
from tests.api.conftest import seed
from tests.conftest import make_config

CHAINS_QUERY = """
{
  version
  chains {
    id name slug provider tokenAddress decimals firstBlock finality blockTimeSeconds enabled
    coverage { coveredBlocks firstCoveredBlock lastCoveredBlock ranges }
  }
  health {
    status version uptimeSeconds startedAt checkedAt ingester
    database { ok latencyMs mode serverVersion error }
    workers { workerId hostname pid role version startedAt heartbeatAt ageSeconds alive }
    warnings { scope code message retryable }
  }
}
"""


def _graphql(client: TestClient, query: str) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_api_health_does_a_real_round_trip(client: TestClient, mode: str) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["database"]["mode"] == body["schemaMode"] == mode
    assert body["database"]["latencyMs"] >= 0
    assert body["database"]["serverVersion"]
    assert body["store"] == {"enabled": True, "ready": True, "error": None}
    assert body["services"]["backend"]["status"] == "ok"
    assert body["uptime"]["seconds"] == body["uptimeSeconds"] >= 0
    # Nothing ingested and no worker yet: serving, but not healthy.
    assert body["status"] == "degraded"
    assert body["services"]["ingester"]["status"] == "down"
    codes = {warning["code"] for warning in body["warnings"]}
    assert codes == {"INGESTER_DOWN", "STORE_DATA_NOT_READY"}
    assert len(body["chains"]) == 10
    assert all(chain["ready"] is False for chain in body["chains"])


def test_graphql_serves_chains_and_health(config: Config, mode: str) -> None:
    seed(config, blocks=100, synced=True)
    with TestClient(create_app(config)) as client:
        data = _graphql(client, CHAINS_QUERY)
    assert data["version"] == "0.1.0"
    polygon = next(chain for chain in data["chains"] if chain["id"] == 137)
    assert polygon == {
        "id": 137,
        "name": "Polygon",
        "slug": "pol",
        "provider": "ETHERSCAN",
        "tokenAddress": "0x85cb098bdcd3ca929d2cd18fc7a2669ff0362242",
        "decimals": 18,
        "firstBlock": 74_919_099,
        "finality": "finalized",
        "blockTimeSeconds": 2.0,
        "enabled": True,
        "coverage": {
            "coveredBlocks": 100,
            "firstCoveredBlock": 74_919_099,
            "lastCoveredBlock": 74_919_198,
            "ranges": 1,
        },
    }
    assert [chain["id"] for chain in data["chains"]] == sorted(c.id for c in config.chains)
    health = data["health"]
    assert health["database"]["ok"] is True
    assert health["database"]["mode"] == mode.upper()
    assert health["status"] == "DEGRADED"  # every chain is Fresh, but no worker is alive
    assert [warning["code"] for warning in health["warnings"]] == ["INGESTER_DOWN"]


def test_status_ok_with_a_live_leader_and_fresh_coverage(config: Config) -> None:
    seed(config, blocks=10, leader=True, synced=True)
    with TestClient(create_app(config)) as client:
        body = client.get("/api/health").json()
        data = _graphql(client, "{ health { status ingester workers { workerId role alive } } }")
    assert body["status"] == "ok", body["warnings"]
    assert body["warnings"] == []
    assert body["meta"]["ready"] is True
    assert body["meta"]["stale"] is False
    ingester = body["services"]["ingester"]
    assert ingester["status"] == "ok"
    assert ingester["leader"] == "test-worker-1"
    assert ingester["summary"]["chainsReady"] == ingester["summary"]["chains"] == 10
    assert ingester["summary"]["chainsStale"] == 0
    polygon = next(chain for chain in body["chains"] if chain["chainId"] == 137)
    assert polygon["coverage"]["coveredBlocks"] == 10
    assert polygon["ingestLagSeconds"] < 60
    assert polygon["warmStatus"] == "fresh"
    assert polygon["headLag"] == 0
    assert polygon["consecutiveFailures"] == 0
    assert body["warm"] == {
        "status": "fresh",
        "allFresh": True,
        "chains": {"fresh": 10, "lagging": 0, "stale": 0, "cold": 0},
    }
    assert body["meta"]["queueDepth"] == 0
    assert body["services"]["notifications"]["queueDepth"] == 0
    assert data["health"] == {
        "status": "OK",
        "ingester": "OK",
        "workers": [{"workerId": "test-worker-1", "role": "LEADER", "alive": True}],
    }


def test_readyz_when_migrated(client: TestClient, mode: str) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["ready"] is True
    assert response.json()["database"]["mode"] == mode


def test_not_migrated_is_not_ready_and_degraded(empty_database_url: str) -> None:
    with TestClient(create_app(make_config(empty_database_url))) as client:
        ready = client.get("/readyz")
        health = client.get("/api/health")
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "schema_not_migrated"
    body = health.json()
    assert health.status_code == 200
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["schemaMode"] is None
    assert [warning["code"] for warning in body["warnings"]] == ["SCHEMA_NOT_MIGRATED"]


def test_the_serving_process_freezes_its_startup_objects(config: Config) -> None:
    """`tokenpulse api` keeps startup objects out of full collections (app.asgi)."""
    assert gc.get_freeze_count() == 0
    try:
        cli.api_server(config, None, "127.0.0.1", 0)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
