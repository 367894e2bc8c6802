"""Counting a window's transfers upstream (app.upstreams.counts), the plan refusal's own error,
and eth_call totalSupply - against scripted answers, no network."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.upstreams import EtherscanClient, NotOnPlan, RpcClient, counts
from app.upstreams.errors import UpstreamRefused, UpstreamUnavailable
from tests.upstreams.helpers import TOKEN, make_rig, notok, ok, rpc_ok, tokentx_row

BASE = "https://api.etherscan.io/v2/api"
RPC_URL = "https://node.example/rpc/KEYINPATH123"
PRO_TEXT = (
    "Sorry, it looks like you are trying to access an API Pro endpoint. Contact us to upgrade "
    "to API Pro."
)


def rows(n: int, block: int = 150) -> list[dict[str, Any]]:
    return [tokentx_row(blockNumber=str(block)) for _ in range(n)]


def tokentx_server(total: int, *, cut_first: int | None = None) -> Any:
    """Pages of a window holding ``total`` rows; the first read of page 1 may be cut short."""
    state = {"cut": cut_first}

    def reply(request: httpx.Request) -> dict[str, Any]:
        page, offset = int(request.url.params["page"]), int(request.url.params["offset"])
        start = (page - 1) * offset
        n = max(0, min(offset, total - start))
        if page == 1 and state["cut"] is not None:
            n, state["cut"] = state["cut"], None
        if n == 0:
            return {"status": "0", "message": "No transactions found", "result": []}
        return ok(rows(n))

    return reply


def client_for(reply: Any) -> tuple[EtherscanClient, Any]:
    rig = make_rig(reply)
    return EtherscanClient(rig.gateway, base_url=BASE, chain_id=137, token=TOKEN), rig


@pytest.mark.parametrize(("total", "requests"), [(0, 1), (250, 2), (2_000, 4), (2_500, 4)])
async def test_pages_are_followed_and_the_count_proven(total: int, requests: int) -> None:
    client, rig = client_for(tokentx_server(total))
    assert await counts.count_token_transfers(client, 100, 200) == total
    assert len(rig.script.requests) == requests
    params = rig.script.params(0)
    assert (params["action"], params["startblock"], params["endblock"], params["sort"]) == (
        "tokentx", "100", "200", "asc",
    )  # fmt: skip


async def test_a_page_cut_in_transit_is_caught_by_the_proof_and_read_again() -> None:
    client, _rig = client_for(tokentx_server(700, cut_first=300))
    assert await counts.count_token_transfers(client, 100, 200) == 700


async def test_a_window_past_the_result_window_is_halved() -> None:
    def reply(request: httpx.Request) -> dict[str, Any]:
        lo, hi = int(request.url.params["startblock"]), int(request.url.params["endblock"])
        page, offset = int(request.url.params["page"]), int(request.url.params["offset"])
        total = 6_000 * (hi - lo + 1) // 101  # 12,000 rows over blocks 100-301
        n = max(0, min(offset, total - (page - 1) * offset))
        return ok(rows(n, lo)) if n else {"status": "0", "message": "No transactions found",
                                          "result": []}  # fmt: skip

    client, _ = client_for(reply)
    assert await counts.count_token_transfers(client, 100, 301) == 6_000 + 6_000


async def test_unreadable_rows_fail_the_count() -> None:
    client, _ = client_for(lambda request: ok([tokentx_row(hash="0xnot-a-hash")]))
    with pytest.raises(UpstreamUnavailable, match="unreadable"):
        await counts.count_token_transfers(client, 100, 200)


async def test_a_pro_endpoint_refusal_is_not_on_plan() -> None:
    client, rig = client_for([notok(PRO_TEXT)])
    with pytest.raises(NotOnPlan) as caught:
        await client.holder_count()
    assert isinstance(caught.value, UpstreamRefused)
    assert caught.value.code == "upstream_not_on_plan"
    assert len(rig.script.requests) == 1


async def test_total_supply_by_eth_call() -> None:
    rig = make_rig([rpc_ok("0x" + format(10**27, "064x"))], secrets=(RPC_URL,), name="rpc:1")
    client = RpcClient(rig.gateway, chain_id=1, token=TOKEN)
    assert await client.total_supply() == 10**27
    sent = rig.script.requests[0]
    assert b'"eth_call"' in sent.content
    assert b"0x18160ddd" in sent.content
