"""Etherscan V2 at /v2/api: shapes, types, pagination and the exact error texts."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.domain import TRANSFER_TOPIC0
from app.simulator import ManualWall, Simulator
from app.simulator import etherscan as etherscan_module
from app.simulator.limits import KeySpec
from tests.simulator.conftest import FREE, PRO, START, TOKEN, etherscan

TOKENTX_FIELDS = [
    "blockNumber", "timeStamp", "hash", "nonce", "blockHash", "from", "contractAddress", "to",
    "value", "tokenName", "tokenSymbol", "tokenDecimal", "transactionIndex", "gas", "gasPrice",
    "gasUsed", "cumulativeGasUsed", "input", "methodId", "functionName", "confirmations",
]  # fmt: skip
WINDOW = "Result window is too large, PageNo x Offset size must be less than or equal to 10000"


def notok(body: Any, text: str) -> None:
    assert body == {"status": "0", "message": "NOTOK", "result": text}


def logs(client: TestClient, chain_id: int = 137, **params: Any) -> Any:
    return etherscan(client, chainid=chain_id, module="logs", action="getLogs", **params)


def test_get_logs_renders_hex_strings_and_zero_as_0x(shared_client: TestClient) -> None:
    body = logs(shared_client, fromBlock=0, toBlock="latest", address=TOKEN, topic0=TRANSFER_TOPIC0)
    assert body["status"] == "1"
    assert body["message"] == "OK"
    rows = body["result"]
    assert len(rows) == 1000  # 1,000 records per call
    first = rows[0]
    assert list(first) == [
        "address", "topics", "data", "blockNumber", "blockHash", "timeStamp", "gasPrice",
        "gasUsed", "logIndex", "transactionHash", "transactionIndex",
    ]  # fmt: skip
    assert first["topics"][0] == TRANSFER_TOPIC0
    assert first["logIndex"] == "0x"  # the mint is log 0 of tx 0
    assert first["transactionIndex"] == "0x"
    for row in rows:
        for name in ("blockNumber", "timeStamp", "gasPrice", "gasUsed", "logIndex"):
            assert isinstance(row[name], str)
            assert row[name].startswith("0x")
            assert row[name] != "0x0"
    assert any(len(row["topics"]) == 4 and row["data"] == "0x" for row in rows)  # ERC-721 style


def test_get_logs_paginates_by_1000(shared_client: TestClient, shared_sim: Simulator) -> None:
    head = shared_sim.world.head(137)
    total = shared_sim.world.count_logs(137, 0, head)
    assert total > 2000
    seen = []
    page = 1
    while True:
        body = logs(shared_client, fromBlock=0, toBlock=head, page=page, offset=1000)
        if body["status"] == "0":
            break
        seen += [(r["transactionHash"], r["logIndex"]) for r in body["result"]]
        page += 1
    assert body == {"status": "0", "message": "No records found", "result": []} or (
        body["message"] == WINDOW
    )
    assert len(seen) == min(total, 10_000)
    assert len(set(seen)) == len(seen)
    assert len(logs(shared_client, fromBlock=0, toBlock=head, offset=5000)["result"]) == 1000


def test_get_logs_filters_by_topics_and_answers_no_records(shared_client: TestClient) -> None:
    first = logs(shared_client, fromBlock=0, toBlock="latest", offset=50)["result"]
    sender = first[20]["topics"][1]
    body = logs(shared_client, fromBlock=0, toBlock="latest", topic1=sender, offset=1000)
    assert body["result"]
    assert all(row["topics"][1] == sender for row in body["result"])
    either = logs(
        shared_client, fromBlock=0, toBlock="latest", topic1=sender, topic2=sender,
        topic1_2_opr="or", offset=1000,
    )["result"]  # fmt: skip
    assert len(either) >= len(body["result"])
    empty = logs(shared_client, fromBlock=0, toBlock="latest", address="0x" + "1" * 40)
    assert empty == {"status": "0", "message": "No records found", "result": []}


def tokentx(client: TestClient, chain_id: int = 137, key: str = PRO, **params: Any) -> Any:
    params.setdefault("contractaddress", TOKEN)
    return etherscan(
        client, chainid=chain_id, module="account", action="tokentx", apikey=key, **params
    )


def test_tokentx_rows_are_decimal_strings_without_log_index(
    shared_client: TestClient, shared_sim: Simulator
) -> None:
    body = tokentx(shared_client, page=1, offset=100, sort="asc")
    assert body["status"] == "1"
    rows = body["result"]
    assert len(rows) == 100
    head = shared_sim.world.head(137)
    for row in rows:
        assert list(row) == TOKENTX_FIELDS
        assert all(isinstance(value, str) for value in row.values())
        assert row["blockNumber"].isdigit()
        assert row["value"].isdigit()
        assert row["input"] == "deprecated"
        assert int(row["confirmations"]) == head - int(row["blockNumber"])
    assert rows[0]["from"] == "0x" + "0" * 40  # the mint comes first in asc order
    assert [int(r["blockNumber"]) for r in rows] == sorted(int(r["blockNumber"]) for r in rows)
    desc = tokentx(shared_client, page=1, offset=10, sort="desc")["result"]
    assert int(desc[0]["blockNumber"]) >= int(desc[-1]["blockNumber"])


def test_tokentx_window_error_puts_the_text_in_message(shared_client: TestClient) -> None:
    body = tokentx(shared_client, page=11, offset=1000)
    assert body == {"status": "0", "message": WINDOW, "result": None}
    assert tokentx(shared_client, page=10, offset=1000)["status"] == "1"


def test_tokentx_free_key_gets_at_most_1000_records(shared_client: TestClient) -> None:
    body = tokentx(shared_client, key=FREE, page=1, offset=5000)
    assert len(body["result"]) == 1000


def test_tokentx_by_address_and_empty_answer(
    shared_client: TestClient, shared_sim: Simulator
) -> None:
    holder = shared_sim.world.balances(137)[3][0]
    rows = tokentx(shared_client, address=holder, offset=1000)["result"]
    assert rows
    assert all(holder in (row["from"], row["to"]) for row in rows)
    body = tokentx(shared_client, contractaddress="0x" + "2" * 40)
    assert body == {"status": "0", "message": "No transactions found", "result": []}


def test_supply_holders_and_pro_gating(shared_client: TestClient, shared_sim: Simulator) -> None:
    supply = etherscan(
        shared_client, chainid=1, module="stats", action="tokensupply", contractaddress=TOKEN
    )
    assert supply == {"status": "1", "message": "OK", "result": str(shared_sim.world.supply(1))}
    count = etherscan(
        shared_client, chainid=1, module="token", action="tokenholdercount", contractaddress=TOKEN
    )
    assert count["result"] == str(shared_sim.world.holder_count(1))
    holders = etherscan(
        shared_client, chainid=1, module="token", action="tokenholderlist",
        contractaddress=TOKEN, page=1, offset=5,
    )["result"]  # fmt: skip
    top = shared_sim.world.balances(1)[:5]
    assert holders == [{"TokenHolderAddress": a, "TokenHolderQuantity": str(b)} for a, b in top]
    pro_text = (
        "Sorry, it looks like you are trying to access an API Pro endpoint. Contact us to "
        "upgrade to API Pro."
    )
    for key in (FREE, "test-lite-key"):
        for action in ("tokenholdercount", "tokenholderlist"):
            body = etherscan(
                shared_client, chainid=1, module="token", action=action,
                contractaddress=TOKEN, apikey=key,
            )  # fmt: skip
            notok(body, pro_text)


def test_proxy_block_number_and_finalized_block(
    shared_client: TestClient, shared_sim: Simulator
) -> None:
    body = etherscan(shared_client, chainid=1, module="proxy", action="eth_blockNumber")
    assert body == {"jsonrpc": "2.0", "id": 83, "result": hex(shared_sim.world.head(1))}
    block = etherscan(
        shared_client, chainid=1, module="proxy", action="eth_getBlockByNumber",
        tag="finalized", boolean="true",
    )["result"]  # fmt: skip
    assert int(block["number"], 16) == shared_sim.world.head(1) - 64
    assert block["hash"] == shared_sim.world.block(1, int(block["number"], 16)).hash
    bad = etherscan(
        shared_client, chainid=1, module="proxy", action="eth_getBlockByNumber", tag="12"
    )
    assert bad["error"]["code"] == -32602


def test_getblocknobytime_before_and_after(
    shared_client: TestClient, shared_sim: Simulator
) -> None:
    ts = int(START) - 86_400 + 1  # inside a 2-second Polygon block
    before = etherscan(
        shared_client, chainid=137, module="block", action="getblocknobytime",
        timestamp=ts, closest="before",
    )  # fmt: skip
    after = etherscan(
        shared_client, chainid=137, module="block", action="getblocknobytime",
        timestamp=ts, closest="after",
    )  # fmt: skip
    assert before["status"] == after["status"] == "1"
    number = int(before["result"])
    timeline = shared_sim.world.timelines[137]
    assert timeline.timestamp(number) <= ts < timeline.timestamp(number + 1)
    assert int(after["result"]) == number + 1


CHAIN_TEXT = (
    "Missing or unsupported chainid parameter (required for v2 api), please see "
    "https://api.etherscan.io/v2/chainlist for the list of supported chainids"
)


@pytest.mark.parametrize("chain", [None, "25", "999", "abc"])
def test_unsupported_chainid(shared_client: TestClient, chain: str | None) -> None:
    params = {"module": "proxy", "action": "eth_blockNumber"}
    if chain is not None:
        params["chainid"] = chain
    notok(etherscan(shared_client, **params), CHAIN_TEXT)


def test_free_key_on_a_paid_chain(shared_client: TestClient) -> None:
    body = etherscan(
        shared_client, chainid=56, module="proxy", action="eth_blockNumber", apikey=FREE
    )
    notok(
        body,
        "Free API access is not supported for this chain. Please upgrade your api plan for "
        "full chain coverage. https://etherscan.io/apis",
    )
    ok = etherscan(
        shared_client, chainid=137, module="proxy", action="eth_blockNumber", apikey=FREE
    )
    assert ok["result"].startswith("0x")


def test_key_errors_are_exact(client: TestClient) -> None:
    params = {"chainid": 1, "module": "proxy", "action": "eth_blockNumber"}
    missing = client.get("/v2/api", params=params).json()
    notok(missing, "Missing/Invalid API Key")
    notok(etherscan(client, apikey="nope", **params), "Invalid API Key (#err2)")
    for _ in range(4):
        etherscan(client, apikey="nope", **params)
    notok(
        etherscan(client, apikey="nope", **params),
        "Too many invalid api key attempts, please try again later",
    )


def test_bad_module_and_action(shared_client: TestClient) -> None:
    notok(
        etherscan(shared_client, chainid=1, module="nope", action="x"),
        "Error! Missing or invalid Module name",
    )
    notok(
        etherscan(shared_client, chainid=1, module="account", action="x"),
        "Error! Missing Or invalid Action name",
    )


def test_fourth_call_within_a_second_on_a_free_key_is_refused(
    client: TestClient, wall: ManualWall
) -> None:
    params = {"chainid": 1, "module": "proxy", "action": "eth_blockNumber", "apikey": FREE}
    answers = []
    for _ in range(4):
        answers.append(etherscan(client, **params))
        wall.tick(0.2)
    assert all("result" in a and a["result"].startswith("0x") for a in answers[:3])
    notok(answers[3], "Max calls per sec rate limit reached (3/sec)")
    wall.tick(0.5)  # the first call left the window
    assert etherscan(client, **params)["result"].startswith("0x")


def test_daily_quota_text(client: TestClient, sim: Simulator, wall: ManualWall) -> None:
    sim.keys["tiny-key"] = KeySpec.make("free", per_day=2, paid_chains=[])
    params = {"chainid": 1, "module": "proxy", "action": "eth_blockNumber", "apikey": "tiny-key"}
    for _ in range(2):
        assert "result" in etherscan(client, **params)
        wall.tick(1)
    notok(etherscan(client, **params), "Max daily rate limit reached. 2 (100%) of 2 day/limit")
    wall.tick(86_400)
    assert etherscan(client, **params)["result"].startswith("0x")


def test_keys_of_one_account_share_the_per_second_limit(client: TestClient, sim: Simulator) -> None:
    sim.keys["a-1"] = KeySpec.make("free", account="acct", paid_chains=[])
    sim.keys["a-2"] = KeySpec.make("free", account="acct", paid_chains=[])
    params = {"chainid": 1, "module": "proxy", "action": "eth_blockNumber"}
    for key in ("a-1", "a-2", "a-1"):
        assert "result" in etherscan(client, apikey=key, **params)
    notok(etherscan(client, apikey="a-2", **params), "Max calls per sec rate limit reached (3/sec)")


def test_getapilimit_uses_json_numbers(client: TestClient) -> None:
    etherscan(client, chainid=1, module="proxy", action="eth_blockNumber")
    body = etherscan(client, module="getapilimit", action="getapilimit")
    result = body["result"]
    assert result["creditsUsed"] == 2
    assert result["creditLimit"] == 1_000_000
    assert result["creditsAvailable"] == 1_000_000 - 2
    assert result["limitInterval"] == "daily"


def test_v1_endpoint_is_dead(shared_client: TestClient) -> None:
    body = shared_client.get("/api", params={"module": "proxy", "action": "eth_blockNumber"}).json()
    notok(body, "You are using a deprecated V1 endpoint, switch to Etherscan API V2.")


def test_a_call_is_logged_when_admitted_not_when_answered(
    client: TestClient, sim: Simulator, wall: ManualWall, monkeypatch: pytest.MonkeyPatch
) -> None:
    produce = etherscan_module.ACTIONS["logs/getLogs"]

    def slow(*args: Any) -> Any:
        wall.tick(0.3)  # a large answer takes the simulator a while to build
        return produce(*args)

    monkeypatch.setitem(etherscan_module.ACTIONS, "logs/getLogs", slow)
    logs(client, fromBlock=0, toBlock="latest")
    [call] = sim.calls.calls("etherscan")
    assert call.endpoint == "logs/getLogs"
    assert call.ts == START  # the rate limiter's view of it, not the answer's
