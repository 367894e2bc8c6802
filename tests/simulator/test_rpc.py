"""JSON-RPC at /rpc/{chainId}: methods, tags, batches and the providers' refusal texts."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from app.domain import TRANSFER_TOPIC0
from app.simulator import Options, Simulator
from tests.simulator.conftest import TOKEN, make_sim, rpc


def result(response: Any) -> Any:
    assert response.status_code == 200
    body = response.json()
    assert "error" not in body, body
    return body["result"]


def error(response: Any, status: int = 200) -> Any:
    assert response.status_code == status
    return response.json()["error"]


def get_logs(client: TestClient, chain_id: int, lo: int, hi: int, **extra: Any) -> Any:
    query = {"fromBlock": hex(lo), "toBlock": hex(hi), "address": TOKEN, **extra}
    return rpc(client, chain_id, "eth_getLogs", query)


def test_chain_id_block_number_and_tags(shared_client: TestClient, shared_sim: Simulator) -> None:
    world = shared_sim.world
    assert result(rpc(shared_client, 137, "eth_chainId")) == "0x89"
    assert result(rpc(shared_client, 137, "net_version")) == "137"
    assert result(rpc(shared_client, 1, "eth_blockNumber")) == hex(world.head(1))
    latest = result(rpc(shared_client, 1, "eth_getBlockByNumber", "latest", False))
    safe = result(rpc(shared_client, 1, "eth_getBlockByNumber", "safe", False))
    final = result(rpc(shared_client, 1, "eth_getBlockByNumber", "finalized", False))
    assert int(latest["number"], 16) == world.head(1)
    assert int(safe["number"], 16) == world.head(1) - 32
    assert int(final["number"], 16) == world.head(1) - 64
    assert final["hash"] == world.block(1, int(final["number"], 16)).hash
    assert int(final["timestamp"], 16) == world.block(1, int(final["number"], 16)).timestamp
    cronos_final = result(rpc(shared_client, 25, "eth_getBlockByNumber", "finalized", False))
    assert int(cronos_final["number"], 16) == world.head(25)  # instant finality
    future = rpc(shared_client, 1, "eth_getBlockByNumber", hex(world.head(1) + 5), False)
    assert result(future) is None


def test_block_with_transactions(shared_client: TestClient, shared_sim: Simulator) -> None:
    log = next(shared_sim.world.logs(137, 0, shared_sim.world.head(137)))
    block = result(rpc(shared_client, 137, "eth_getBlockByNumber", hex(log.block), True))
    assert block["parentHash"] == shared_sim.world.block(137, log.block - 1).hash
    assert block["transactions"][0]["hash"] == log.tx_hash


def test_get_logs_shape_and_erc721_logs(shared_client: TestClient, shared_sim: Simulator) -> None:
    head = shared_sim.world.head(137)
    logs = result(get_logs(shared_client, 137, head - 2_000_000, head, topics=[TRANSFER_TOPIC0]))
    assert logs
    for log in logs:
        assert set(log) >= {
            "address", "topics", "data", "blockNumber", "transactionHash", "transactionIndex",
            "blockHash", "logIndex", "removed",
        }  # fmt: skip
        assert log["removed"] is False
        assert log["logIndex"].startswith("0x")
    nft = [log for log in logs if len(log["topics"]) == 4]
    assert nft
    assert all(log["data"] == "0x" for log in nft)
    genesis = shared_sim.world.ledgers[137].genesis
    mint = result(get_logs(shared_client, 137, 0, genesis + 100))[0]
    assert mint["logIndex"] == "0x0"  # RPC renders zero as 0x0 (Etherscan: "0x")
    assert mint["topics"][1] == "0x" + "0" * 64


def test_topic_filters(shared_client: TestClient, shared_sim: Simulator) -> None:
    head = shared_sim.world.head(137)
    logs = result(get_logs(shared_client, 137, head - 2_000_000, head))
    sender = logs[0]["topics"][1]
    only = result(get_logs(shared_client, 137, head - 2_000_000, head, topics=[None, sender]))
    assert only
    assert all(log["topics"][1] == sender for log in only)
    either = [None, [sender, logs[1]["topics"][1]]]
    assert len(result(get_logs(shared_client, 137, head - 2_000_000, head, topics=either))) >= len(
        only
    )
    other = get_logs(shared_client, 137, head - 2_000_000, head, address="0x" + "3" * 40)
    assert result(other) == []


def test_cronos_refuses_more_than_2000_blocks_with_the_ethermint_text(
    shared_client: TestClient, shared_sim: Simulator
) -> None:
    head = shared_sim.world.head(25)
    assert isinstance(result(get_logs(shared_client, 25, head - 2000, head)), list)  # 2,001 blocks
    refused = error(get_logs(shared_client, 25, head - 2001, head))
    assert refused == {"code": -32000, "message": "maximum [from, to] blocks distance: 2000"}
    # Ethermint clamps a toBlock beyond the head and answers [] for a fromBlock beyond it.
    assert isinstance(result(get_logs(shared_client, 25, head - 100, head + 50)), list)
    assert result(get_logs(shared_client, 25, head + 10, head + 20)) == []


def test_result_caps_name_a_range_that_fits() -> None:
    sim = make_sim(options=Options(rpc_limits={1: (None, 50), 25: (2000, 5)}))
    client = TestClient(sim.app)
    head = sim.world.head(1)
    infura = error(get_logs(client, 1, 0, head))
    assert infura["code"] == -32005
    assert infura["message"].startswith(
        "query returned more than 50 results. Try with this block range ["
    )
    lo, hi = int(infura["data"]["from"], 16), int(infura["data"]["to"], 16)
    assert infura["data"]["limit"] == 50
    assert len(result(get_logs(client, 1, lo, hi))) <= 50
    assert error(get_logs(client, 1, lo, hi + 1))["code"] == -32005  # the hint is the widest
    cronos = sim.world.head(25)
    busy = next(
        n for n in range(cronos - 2000, 0, -2000) if sim.world.count_logs(25, n, n + 2000) > 5
    )
    capped = error(get_logs(client, 25, busy, busy + 2000))
    assert capped == {"code": -32000, "message": "query returned more than 5 results"}


def test_provider_personalities() -> None:
    names = {137: "alchemy-free", 42161: "quicknode", 10: "alchemy"}
    sim = make_sim(options=Options(rpc_personalities=names, rpc_limits={10: (2000, 20)}))
    client = TestClient(sim.app)
    head = sim.world.head(137)
    refused = error(get_logs(client, 137, head - 600, head))
    assert refused["code"] == -32600
    assert refused["message"] == (
        "You can make eth_getLogs requests with up to a 500 block range. Based on your "
        f"parameters, this block range should work: [{hex(head - 600)}, {hex(head - 101)}]"
    )
    arb = sim.world.head(42161)
    quick = error(get_logs(client, 42161, arb - 20_000, arb), status=413)
    assert quick == {"code": -32614, "message": "eth_getLogs is limited to a 10,000 range"}
    op = sim.world.head(10)
    assert isinstance(result(get_logs(client, 10, op - 1_999, op)), list)  # 2K range: no cap
    alchemy = error(get_logs(client, 10, 0, op))
    assert alchemy["code"] == -32602
    assert alchemy["message"].startswith("Log response size exceeded.")
    assert "this block range should work: [0x0, 0x" in alchemy["message"]


def test_range_errors(shared_client: TestClient, shared_sim: Simulator) -> None:
    head = shared_sim.world.head(1)
    backwards = error(get_logs(shared_client, 1, head - 10, head - 20))
    assert backwards == {"code": -32000, "message": "invalid block range params"}
    future = error(get_logs(shared_client, 1, head - 10, head + 10))
    assert future == {"code": -32602, "message": "block range extends beyond current head block"}
    too_wide = error(get_logs(shared_client, 1, head - 20_000, head))
    assert too_wide == {"code": -32602, "message": "range 20001 exceeds limit of 10000"}


def test_batch_requests(shared_client: TestClient, shared_sim: Simulator) -> None:
    head = shared_sim.world.head(1)
    recent = {"fromBlock": hex(head - 100), "toBlock": "latest"}
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"},
        {"jsonrpc": "2.0", "id": "two", "method": "eth_chainId"},
        {"jsonrpc": "2.0", "method": "eth_chainId"},  # a notification: no answer
        {"jsonrpc": "2.0", "id": 3, "method": "eth_nope"},
        {"jsonrpc": "2.0", "id": 4, "method": "eth_getLogs", "params": [recent]},
    ]
    response = shared_client.post("/rpc/1", json=batch)
    assert response.status_code == 200
    answers = response.json()
    assert [a["id"] for a in answers] == [1, "two", 3, 4]
    assert answers[0]["result"] == hex(head)
    assert answers[1]["result"] == "0x1"
    assert answers[2]["error"] == {
        "code": -32601,
        "message": "the method eth_nope does not exist/is not available",
    }
    assert isinstance(answers[3]["result"], list)
    empty = shared_client.post("/rpc/1", json=[]).json()
    assert empty == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "empty batch"},
    }


def test_parse_error_and_unknown_chain(shared_client: TestClient) -> None:
    response = shared_client.post("/rpc/1", content=b"{not json")
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "parse error"},
    }
    assert (
        shared_client.post("/rpc/999", json={"id": 1, "method": "eth_chainId"}).status_code == 404
    )
