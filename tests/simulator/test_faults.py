"""Faults (per service, endpoint, chain, duration) and the admin API under /_sim/."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from app.simulator import ManualWall, Simulator
from tests.simulator.conftest import FREE, PRO, TOKEN, etherscan, rpc

TOKENTX = {"chainid": 137, "module": "account", "action": "tokentx", "contractaddress": TOKEN}


def test_outage_is_a_503_for_its_duration_only(
    client: TestClient, sim: Simulator, wall: ManualWall
) -> None:
    sim.faults.add("outage", service="etherscan", chain_id=137, duration=10)
    down = client.get("/v2/api", params={**TOKENTX, "apikey": PRO})
    assert down.status_code == 503
    assert "503 Service Temporarily Unavailable" in down.text
    other_chain = etherscan(client, chainid=1, module="proxy", action="eth_blockNumber")
    assert other_chain["result"].startswith("0x")
    wall.tick(11)
    assert client.get("/v2/api", params={**TOKENTX, "apikey": PRO}).status_code == 200
    logged = [(c.outcome, c.status, c.label) for c in sim.calls.calls("etherscan")]
    pro = "test-pro"
    assert logged == [("fault:outage", 503, pro), ("ok", 200, pro), ("ok", 200, pro)]


def test_malformed_json(client: TestClient, sim: Simulator) -> None:
    sim.faults.add("malformed_json", service="rpc", endpoint="eth_blockNumber", count=1)
    broken = rpc(client, 1, "eth_blockNumber")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    assert rpc(client, 1, "eth_blockNumber").json()["result"].startswith("0x")  # count used up


def test_wrong_types(client: TestClient, sim: Simulator) -> None:
    sim.faults.add("wrong_types", service="etherscan", endpoint="account/tokentx")
    body = etherscan(client, **TOKENTX, offset=5)
    assert body["status"] == 1
    assert isinstance(body["result"][0]["blockNumber"], int)
    assert isinstance(body["result"][0]["value"], int)
    sim.faults.add("wrong_types", service="dexscreener")
    pairs = client.get(f"/dexscreener/latest/dex/tokens/{TOKEN}").json()["pairs"]
    assert isinstance(pairs[0]["liquidity"]["usd"], str)


def test_truncated_page(client: TestClient, sim: Simulator) -> None:
    sim.faults.add("truncated_page", service="etherscan", endpoint="account/tokentx", keep=0.3)
    body = etherscan(client, **TOKENTX, page=1, offset=100)
    assert body["status"] == "1"
    assert len(body["result"]) == 30


def test_wildly_wrong_price_from_one_source(client: TestClient, sim: Simulator) -> None:
    def gecko() -> float:
        params = {"ids": "bazaars", "vs_currencies": "usd"}
        return float(
            client.get("/coingecko/api/v3/simple/price", params=params).json()["bazaars"]["usd"]
        )

    def paprika() -> float:
        return float(
            client.get("/coinpaprika/v1/tickers/bzr-bazaars").json()["quotes"]["USD"]["price"]
        )

    normal_gecko, normal_paprika = gecko(), paprika()
    sim.faults.add("wrong_price", service="coingecko", factor=1000)
    assert gecko() == pytest.approx(normal_gecko * 1000)
    assert paprika() == pytest.approx(normal_paprika)


def test_429_storm_on_price_apis_and_etherscan(client: TestClient, sim: Simulator) -> None:
    sim.faults.add("rate_limit_storm", service="dexscreener", duration=60)
    storm = client.get(f"/dexscreener/latest/dex/tokens/{TOKEN}")
    assert storm.status_code == 429
    assert storm.headers["retry-after"] == "60"
    sim.faults.add("rate_limit_storm", service="etherscan")
    body = etherscan(client, chainid=1, module="proxy", action="eth_blockNumber", apikey=FREE)
    assert body == {
        "status": "0",
        "message": "NOTOK",
        "result": "Max calls per sec rate limit reached (3/sec)",
    }


def test_query_timeout_latency_and_timeout(client: TestClient, sim: Simulator) -> None:
    sim.faults.add("query_timeout", service="etherscan", endpoint="logs/getLogs", count=1)
    body = etherscan(
        client, chainid=1, module="logs", action="getLogs", fromBlock=0, toBlock="latest"
    )
    assert body["result"] == "Query Timeout occured. Please select a smaller result dataset"
    sim.faults.add("latency", service="rpc", ms=1, count=1)
    assert rpc(client, 1, "eth_blockNumber").status_code == 200
    sim.faults.add("timeout", service="rpc", seconds=0.01, count=1)
    assert rpc(client, 1, "eth_blockNumber").status_code == 504
    assert [c.outcome for c in sim.calls.calls("rpc")] == ["ok", "fault:timeout"]


def test_admin_faults_round_trip(client: TestClient) -> None:
    spec = {"kind": "http_error", "service": "coinpaprika", "status": 502, "duration": 30}
    added = client.post("/_sim/faults", json=spec)
    assert added.status_code == 201
    fault = added.json()["faults"][0]
    assert fault["params"] == {"status": 502}
    assert client.get("/coinpaprika/v1/tickers/bzr-bazaars").status_code == 502
    assert [f["id"] for f in client.get("/_sim/faults").json()["faults"]] == [fault["id"]]
    assert client.delete(f"/_sim/faults/{fault['id']}").status_code == 200
    assert client.get("/coinpaprika/v1/tickers/bzr-bazaars").status_code == 200
    assert client.post("/_sim/faults", json={"kind": "nope"}).status_code == 400


def test_admin_reorg_changes_hashes_above_the_fork(client: TestClient, sim: Simulator) -> None:
    head = sim.world.head(137)
    before = [sim.world.block(137, n).hash for n in range(head - 5, head + 1)]
    answer = client.post("/_sim/reorg", json={"chainId": 137, "depth": 3})
    assert answer.status_code == 200
    assert answer.json()["forkPoint"] == head - 3
    after = [
        rpc(client, 137, "eth_getBlockByNumber", hex(n), False).json()["result"]["hash"]
        for n in range(head - 5, head + 1)
    ]
    assert after[:3] == before[:3]
    assert all(a != b for a, b in zip(after[3:], before[3:], strict=True))
    assert client.post("/_sim/reorg", json={"chainId": 12345, "depth": 1}).status_code == 404


def test_admin_truth(client: TestClient, sim: Simulator) -> None:
    summary = client.get("/_sim/truth/56").json()
    assert summary["supply"] == summary["sumOfBalances"]
    holders = client.get("/_sim/truth/56/holders", params={"limit": 5}).json()
    assert len(holders["holders"]) == 5
    assert holders["holderCount"] == client.get("/_sim/truth/56/holder-count").json()["holderCount"]
    assert client.get("/_sim/truth/56/supply").json()["supply"] == str(sim.world.supply(56))
    transfers = client.get("/_sim/truth/56/transfers", params={"limit": 3}).json()
    assert transfers["total"] == summary["transfers"]
    assert transfers["transfers"][0]["from"] == "0x" + "0" * 40
    assert client.get("/_sim/truth/999/supply").status_code == 404
    assert client.get("/_sim/truth/56/nonsense").status_code == 404


def test_admin_keys_and_clock(client: TestClient, sim: Simulator) -> None:
    added = client.post("/_sim/keys", json={"key": "brand-new", "plan": "standard"})
    assert added.status_code == 201
    assert "brand-new" not in json.dumps(client.get("/_sim/keys").json())  # fingerprints only
    body = etherscan(
        client,
        chainid=1,
        module="token",
        action="tokenholdercount",
        contractaddress=TOKEN,
        apikey="brand-new",
    )
    assert body["status"] == "1"
    head = sim.world.head(1)
    assert client.post("/_sim/clock", json={"advance": 120}).status_code == 200
    assert sim.world.head(1) == head + 10
    assert client.post("/_sim/keys", json={"key": "x", "plan": "gold"}).status_code == 400


def test_call_log_maxima_match_what_was_sent(
    client: TestClient, sim: Simulator, wall: ManualWall
) -> None:
    pattern = [(0.0, 5), (0.5, 2), (1.2, 3), (3.0, 1)]  # (time offset, calls sent then)
    start = wall.t
    for offset, count in pattern:
        wall.t = start + offset
        for _ in range(count):
            etherscan(client, chainid=1, module="proxy", action="eth_blockNumber", apikey=FREE)
    for _ in range(2):
        rpc(client, 1, "eth_blockNumber")
    summary = client.get("/_sim/calls").json()
    assert summary["count"] == 13
    by_key = summary["maxPerSecond"]["byKey"]
    free = next(fp for fp, label in summary["labels"].items() if label == "test-free")
    assert by_key[free] == 7  # 5 at t and 2 at t+0.5 fall in one second
    assert summary["maxPerSecond"]["admittedByKey"][free] == 3  # the limiter let 3 through
    assert summary["maxPerSecond"]["byEndpoint"]["etherscan:proxy/eth_blockNumber"] == 7
    assert summary["maxPerSecond"]["byEndpoint"]["rpc:eth_blockNumber"] == 2
    assert FREE not in json.dumps(summary)  # keys are stored as fingerprints
    outcomes = [c["outcome"] for c in summary["calls"] if c["service"] == "etherscan"]
    assert outcomes[:5] == ["ok", "ok", "ok", "rate_limited", "rate_limited"]
    assert client.delete("/_sim/calls").status_code == 200
    assert client.get("/_sim/calls").json()["count"] == 0
