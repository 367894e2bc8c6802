"""The figures the simulator reports: eth_call totalSupply/balanceOf, and the skew knob that
makes the upstreams disagree with the truth on purpose (for the validation suite)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from app.simulator import Simulator
from tests.simulator.conftest import TOKEN, etherscan, rpc


def call(client: TestClient, chain_id: int, data: str, to: str = TOKEN) -> Any:
    return rpc(client, chain_id, "eth_call", {"to": to, "data": data}, "latest").json()


def supply_of(client: TestClient, chain_id: int) -> int:
    body = etherscan(client, chainid=chain_id, module="stats", action="tokensupply",
                     contractaddress=TOKEN)  # fmt: skip
    return int(body["result"])


def holders_of(client: TestClient, chain_id: int) -> int:
    body = etherscan(client, chainid=chain_id, module="token", action="tokenholdercount",
                     contractaddress=TOKEN)  # fmt: skip
    return int(body["result"])


def test_eth_call_total_supply_and_balance_of(client: TestClient, sim: Simulator) -> None:
    supply = int(sim.truth(137, "supply")["supply"])
    assert int(call(client, 137, "0x18160ddd")["result"], 16) == supply
    holder = sim.truth(137, "holders", limit=1)["holders"][0]
    data = "0x70a08231" + "0" * 24 + holder["address"][2:]
    assert int(call(client, 137, data)["result"], 16) == int(holder["balance"])
    assert call(client, 137, "0x12345678")["error"]["message"] == "execution reverted"
    assert call(client, 137, "0x18160ddd", to="0x" + "11" * 20)["result"] == "0x"


def test_skews_change_what_upstreams_report_not_the_truth(
    client: TestClient, sim: Simulator
) -> None:
    supply = int(sim.truth(137, "supply")["supply"])
    holders = sim.truth(137, "holder-count")["holderCount"]
    sim.options.skews = {"holders": 0.05, "supply:137": -0.01}
    assert holders_of(client, 137) == round(holders * 1.05)
    assert supply_of(client, 137) == round(supply * 0.99)
    assert int(call(client, 137, "0x18160ddd")["result"], 16) == round(supply * 0.99)
    assert supply_of(client, 1) == int(sim.truth(1, "supply")["supply"])  # other chains: exact
    assert sim.truth(137, "holder-count")["holderCount"] == holders
    sim.options.skews = {}
    assert holders_of(client, 137) == holders


def test_skews_through_the_admin_api(client: TestClient, sim: Simulator) -> None:
    holders = sim.truth(137, "holder-count")["holderCount"]
    response = client.put("/_sim/skews", json={"holders:137": 0.1})
    assert response.status_code == 200
    assert client.get("/_sim/skews").json() == {"skews": {"holders:137": 0.1}}
    assert holders_of(client, 137) == round(holders * 1.1)
    for bad in ({"volume": 0.1}, {"holders": "x"}, {"supply": -1}, [1]):
        assert client.put("/_sim/skews", json=bad).status_code == 400
    assert client.put("/_sim/skews", json={}).json() == {"skews": {}}
    assert holders_of(client, 137) == holders
