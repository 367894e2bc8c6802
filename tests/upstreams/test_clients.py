"""The provider clients against httpx.MockTransport: request shapes (chainid in the query,
the key added per call), parsed results, and errors surfacing as UpstreamError."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.domain import TRANSFER_TOPIC0
from app.upstreams import ApiKey, EtherscanClient, ExplorerClient, Priority, RpcCall, RpcClient
from app.upstreams.errors import RangeTooLarge, UpstreamRefused
from app.upstreams.parse import RejectReason
from tests.upstreams.helpers import (
    SECRET,
    TOKEN,
    Reply,
    block,
    explorer_log,
    make_rig,
    notok,
    ok,
    rpc_error,
    rpc_log,
    rpc_ok,
    tokentx_row,
)

BASE = "https://api.etherscan.test/v2/api"
RPC_URL = "https://rpc.test/v3/url-embedded-secret-123"


def etherscan(replies: list[Any], **kwargs: Any) -> tuple[EtherscanClient, Any]:
    rig = make_rig(replies, **kwargs)
    return EtherscanClient(rig.gateway, base_url=BASE, chain_id=137, token=TOKEN.upper()), rig


async def test_get_logs_request_shape_and_parsed_batch() -> None:
    client, rig = etherscan([ok([explorer_log(), explorer_log(logIndex="0x1", data="0x12")])])
    batch = await client.get_logs(90, 110, page=2, offset=500, priority=Priority.TIP)
    params = rig.script.params()
    assert params == {
        "chainid": "137",
        "module": "logs",
        "action": "getLogs",
        "fromBlock": "90",
        "toBlock": "110",
        "address": TOKEN,
        "topic0": TRANSFER_TOPIC0,
        "page": "2",
        "offset": "500",
        "apikey": SECRET,
    }
    assert str(rig.script.requests[0].url).startswith(BASE + "?chainid=137")
    assert (len(batch.items), batch.received) == (1, 2)
    assert batch.rejected[0].reason is RejectReason.BAD_DATA


async def test_empty_logs_are_an_empty_batch() -> None:
    client, _ = etherscan([{"status": "0", "message": "No records found", "result": []}])
    batch = await client.get_logs(1, 2)
    assert (batch.items, batch.received) == ((), 0)


async def test_page_limits_are_checked_before_any_call() -> None:
    client, rig = etherscan([ok([])])
    with pytest.raises(ValueError, match="offset"):
        await client.get_logs(1, 2, offset=1001)
    with pytest.raises(RangeTooLarge, match="result window"):
        await client.token_transfers(1, 2, page=11, offset=1000)
    assert rig.script.requests == []


async def test_token_transfers() -> None:
    client, rig = etherscan([ok([tokentx_row()])])
    batch = await client.token_transfers(100, None, sort="desc")
    params = rig.script.params()
    assert (params["module"], params["action"], params["contractaddress"]) == (
        "account",
        "tokentx",
        TOKEN,
    )
    assert (params["startblock"], params["endblock"], params["sort"]) == ("100", "latest", "desc")
    assert batch.items[0].value == 5901522149285533025181


async def test_scalar_endpoints() -> None:
    replies = [
        ok("21265524714464"),
        ok("30506"),
        {"jsonrpc": "2.0", "id": 83, "result": "0xc36b29"},
        rpc_ok(block(0xC36B29)),
        ok("9251482"),
    ]
    client, rig = etherscan(replies)
    assert await client.token_supply() == 21265524714464
    assert await client.holder_count() == 30506
    assert await client.block_number() == 0xC36B29
    header = await client.block("finalized")
    assert header is not None
    assert header.number == 0xC36B29
    assert await client.block_by_time(1578638524, "before") == 9251482
    actions = [r.url.params["action"] for r in rig.script.requests]
    assert actions == [
        "tokensupply",
        "tokenholdercount",
        "eth_blockNumber",
        "eth_getBlockByNumber",
        "getblocknobytime",
    ]
    assert rig.script.params(3)["tag"] == "finalized"
    assert all(r.url.params["chainid"] == "137" for r in rig.script.requests)


async def test_block_by_number_uses_hex_and_missing_block_is_none() -> None:
    client, rig = etherscan([rpc_ok(None)])
    assert await client.block(1000) is None
    assert rig.script.params()["tag"] == "0x3e8"


async def test_pro_endpoint_on_a_free_key_is_refused() -> None:
    pro = "Sorry, it looks like you are trying to access an API Pro endpoint. Contact us"
    client, rig = etherscan([notok(pro)])
    with pytest.raises(UpstreamRefused, match="API Pro endpoint"):
        await client.holder_count()
    assert len(rig.script.requests) == 1


async def test_malformed_results_are_retried_as_transient() -> None:
    client, rig = etherscan([ok({"not": "a list"}), ok("not-a-number"), ok([explorer_log()])])
    assert len((await client.get_logs(90, 110)).items) == 1
    assert len(rig.script.requests) == 3


async def test_explorer_has_no_chainid_and_its_own_head_endpoint() -> None:
    replies: list[Reply] = [
        {"jsonrpc": "2.0", "id": 1, "result": "0x10"},
        {"status": "1", "message": "OK", "result": {"blockNumber": "123"}},
        ok([explorer_log()]),
    ]
    rig = make_rig(replies)
    client = ExplorerClient(rig.gateway, base_url=BASE, chain_id=25, token=TOKEN)
    assert await client.block_number() == 16
    assert await client.block_by_time(1_700_000_000) == 123  # Blockscout's object form
    assert len((await client.get_logs(90, 110)).items) == 1
    assert all("chainid" not in r.url.params for r in rig.script.requests)
    assert rig.script.params(0)["action"] == "eth_block_number"


def rpc(replies: Any) -> tuple[RpcClient, Any]:
    rig = make_rig(replies, secrets=(RPC_URL,))
    return RpcClient(rig.gateway, chain_id=25, token=TOKEN), rig


def sent(rig: Any, index: int = -1) -> Any:
    return json.loads(rig.script.requests[index].content)


async def test_rpc_simple_calls() -> None:
    client, rig = rpc([rpc_ok("0x19"), rpc_ok("0x64"), rpc_ok(block(100))])
    assert await client.chain_id_of_node() == 25
    assert await client.block_number() == 100
    header = await client.block("latest")
    assert header is not None
    assert header.number == 100
    request = rig.script.requests[-1]
    assert (request.method, str(request.url)) == ("POST", RPC_URL)
    assert sent(rig)["method"] == "eth_getBlockByNumber"
    assert sent(rig)["params"] == ["latest", False]


async def test_rpc_get_logs() -> None:
    client, rig = rpc([rpc_ok([rpc_log(), rpc_log(logIndex="0x3", removed=True)])])
    batch = await client.get_logs(100, 200)
    assert sent(rig)["params"] == [
        {"fromBlock": "0x64", "toBlock": "0xc8", "address": TOKEN, "topics": [TRANSFER_TOPIC0]}
    ]
    assert len(batch.items) == 1
    assert [r.reason for r in batch.rejected] == [RejectReason.REMOVED]


async def test_rpc_range_refusal_carries_the_suggestion() -> None:
    message = "query returned more than 10000 results. Try with this block range [0x64, 0x96]."
    data = {"from": "0x64", "limit": 10000, "to": "0x96"}
    client, rig = rpc([rpc_error(-32005, message, data)])
    with pytest.raises(RangeTooLarge) as caught:
        await client.get_logs(100, 5000)
    assert caught.value.suggested == (100, 150)
    assert len(rig.script.requests) == 1


async def test_cronos_distance_cap_gives_the_span() -> None:
    client, _ = rpc([rpc_error(-32000, "maximum [from, to] blocks distance: 2000")])
    with pytest.raises(RangeTooLarge) as caught:
        await client.get_logs(1, 5000)
    assert (caught.value.max_span, caught.value.suggested) == (2000, None)


def batch_reply(request: httpx.Request) -> httpx.Response:
    calls = json.loads(request.content)
    answers = [rpc_ok(block(int(c["params"][0], 16)), c["id"]) for c in reversed(calls)]
    answers[0]["result"] = None  # the highest block is not there yet
    return httpx.Response(200, json=answers)


async def test_rpc_blocks_in_batches_matched_by_id() -> None:
    client, rig = rpc(batch_reply)
    headers = await client.blocks([5, 1, 3, 2, 4, 3], batch_size=2)
    assert sorted(headers) == [1, 3]  # 2, 4 and 5 each topped a batch answered with null
    assert len(rig.script.requests) == 3
    assert [len(sent(rig, i)) for i in range(3)] == [2, 2, 1]


async def test_rpc_batch_retries_whole_batch_on_a_rate_limited_member() -> None:
    limited = [rpc_ok("0x1", 0), rpc_error(-32005, "request rate exceeded") | {"id": 1}]
    good = [rpc_ok("0x1", 0), rpc_ok("0x2", 1)]
    client, rig = rpc([httpx.Response(200, json=limited), httpx.Response(200, json=good)])
    results = await client.batch([RpcCall("eth_blockNumber", []), RpcCall("eth_chainId", [])])
    assert [r.payload for r in results] == ["0x1", "0x2"]
    assert len(rig.script.requests) == 2


async def test_rpc_batch_returns_per_member_refusals() -> None:
    answer = [rpc_ok("0x1", 0), rpc_error(-32601, "method not found") | {"id": 1}]
    client, _ = rpc([httpx.Response(200, json=answer)])
    ok_member, refused = await client.batch([RpcCall("a", []), RpcCall("b", [])])
    assert ok_member.payload == "0x1"
    assert refused.outcome == "permanent"


def test_reprs_hold_no_secrets() -> None:
    client, _ = rpc([rpc_ok("0x1")])
    key = ApiKey("rpc", "rpc:25", RPC_URL)
    assert RPC_URL not in repr(client) + repr(key) + str(key) + repr(client.gateway.keys)
