"""The Cronos explorer at /cronos/api: Etherscan envelope with Blockscout habits."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from app.simulator import ManualWall, Simulator
from tests.simulator.conftest import TOKEN

KEY = "test-cronos-key-1"


def cronos(client: TestClient, **params: Any) -> Any:
    params.setdefault("apikey", KEY)
    return client.get("/cronos/api", params=params)


def test_block_number_logs_and_tokentx(shared_client: TestClient, shared_sim: Simulator) -> None:
    world = shared_sim.world
    head = world.head(25)
    number = cronos(shared_client, module="block", action="eth_block_number").json()
    assert number == {"jsonrpc": "2.0", "id": 1, "result": hex(head)}
    logs = cronos(
        shared_client, module="logs", action="getLogs", fromBlock=head - 9_999, toBlock=head,
        address=TOKEN,
    ).json()  # fmt: skip
    expected = world.count_logs(25, head - 9_999, head)
    if expected:
        assert logs["status"] == "1"
        assert len(logs["result"]) == min(expected, 1000)
        assert logs["result"][0]["blockNumber"].startswith("0x")
    else:
        assert logs == {"status": "0", "message": "No records found", "result": []}
    rows = cronos(
        shared_client, module="account", action="tokentx", contractaddress=TOKEN, offset=20
    ).json()
    assert rows["status"] == "1"
    first = rows["result"][0]
    assert "logIndex" in first  # Blockscout rows carry it
    blocks = [int(r["blockNumber"]) for r in rows["result"]]
    assert blocks == sorted(blocks, reverse=True)  # sort defaults to desc


def test_holders_supply_and_time(shared_client: TestClient, shared_sim: Simulator) -> None:
    holders = cronos(
        shared_client, module="token", action="getTokenHolders", contractaddress=TOKEN, offset=3
    ).json()
    top = shared_sim.world.balances(25)[:3]
    assert holders == {
        "status": "1",
        "message": "OK",
        "result": [{"address": a, "value": str(b)} for a, b in top],
    }
    supply = cronos(
        shared_client, module="stats", action="tokensupply", contractaddress=TOKEN
    ).json()
    assert supply["result"] == str(shared_sim.world.supply(25))
    ts = shared_sim.world.block(25, shared_sim.world.head(25) - 100).timestamp
    found = cronos(
        shared_client, module="block", action="getblocknobytime", timestamp=ts, closest="before"
    ).json()
    assert found == {
        "status": "1",
        "message": "OK",
        "result": {"blockNumber": str(shared_sim.world.head(25) - 100)},
    }
    unknown = cronos(
        shared_client, module="token", action="tokenholdercount", contractaddress=TOKEN
    ).json()
    assert unknown == {"message": "Unknown action", "result": None, "status": "0"}


def test_cronos_key_and_rate_limit(client: TestClient, wall: ManualWall) -> None:
    bad = cronos(client, apikey="nope", module="block", action="eth_block_number")
    assert bad.json() == {"status": "0", "message": "NOTOK", "result": "Invalid API Key"}
    answers = [cronos(client, module="block", action="eth_block_number") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[-1].headers["retry-after"] == "1"
    wall.tick(1.0)
    assert cronos(client, module="block", action="eth_block_number").status_code == 200
