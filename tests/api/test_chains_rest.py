"""GET /api/chains: every configured chain, its coverage, stored transfers and warm status."""

from __future__ import annotations

from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from tests.api import transfer_data
from tests.api.test_transfers_pages import ROWS


def test_chains_document(config: Config) -> None:
    transfer_data.load(config, ROWS)
    tops = transfer_data.tops(config, ROWS)
    with TestClient(create_app(config)) as client:
        response = client.get("/api/chains")
        etag = response.headers["etag"]
        assert client.get("/api/chains", headers={"If-None-Match": etag}).status_code == 304
    body = response.json()
    assert set(body) == {"chains", "availableChains", "timestamp"}
    assert [item["id"] for item in body["chains"]] == [chain.id for chain in config.chains]
    polygon = next(item for item in body["chains"] if item["id"] == 137)
    first = next(chain.first_block for chain in config.chains if chain.id == 137)
    newest = max((r for r in ROWS if r.chain_id == 137), key=lambda r: r.block_time)
    assert polygon == {
        "id": 137, "name": "Polygon", "slug": "pol", "provider": "etherscan",
        "tokenAddress": "0x85cb098bdcd3ca929d2cd18fc7a2669ff0362242", "decimals": 18,
        "firstBlock": first, "finality": "finalized", "blockTimeSeconds": 2.0, "enabled": True,
        "coverage": {
            "coveredBlocks": tops[137] - first + 1, "firstCoveredBlock": first,
            "lastCoveredBlock": tops[137], "ranges": 1, "complete": True,
        },
        "totalTransfers": sum(1 for row in ROWS if row.chain_id == 137),
        "warmStatus": "fresh", "lastBlock": newest.block_number,
        "lastTimestamp": int(newest.block_time.timestamp()),
    }  # fmt: skip
    cronos = next(item for item in body["chains"] if item["id"] == 25)
    assert cronos["totalTransfers"] == 0
    assert body["availableChains"][0] == {"id": 0, "name": "All Chains"}


def test_chains_without_a_database_is_a_503(offline: TestClient) -> None:
    response = offline.get("/api/chains")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    transfers = offline.get("/api/transfers")
    assert transfers.status_code == 503
    graphql = offline.post("/graphql", json={"query": "{ transfers { totalCount } }"})
    assert graphql.json()["errors"][0]["extensions"]["code"] == "database_unavailable"
