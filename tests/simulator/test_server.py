"""run()/serve(): the simulator over real HTTP, as `tokenpulse simulate` and the demo use it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import httpx
from starlette.testclient import TestClient

from app.simulator import Options, Simulator, serve
from tests.simulator.conftest import TOKEN, etherscan, make_sim


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_answers_over_http_and_stops_on_cancel() -> None:
    sim = make_sim()
    port = _free_port()
    task = asyncio.create_task(serve(sim, host="127.0.0.1", port=port, warm=False))
    url = f"http://127.0.0.1:{port}/v2/api"
    params = {
        "chainid": "1",
        "module": "proxy",
        "action": "eth_blockNumber",
        "apikey": "demo-free-key",
    }
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    response = await client.get(url, params=params)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            assert response.json() == {"jsonrpc": "2.0", "id": 83, "result": hex(sim.world.head(1))}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_default_simulator_starts_fast_and_accepts_the_demo_key() -> None:
    started = time.perf_counter()
    sim = Simulator(seed=5)  # default density, real clock: history is generated lazily
    assert time.perf_counter() - started < 2.0
    client = TestClient(sim.app)
    for chain_id in (1, 10, 56, 137, 8453):  # the demo key covers every chain
        body = etherscan(
            client,
            chainid=chain_id,
            module="proxy",
            action="eth_blockNumber",
            apikey="demo-free-key",
        )
        assert body["result"].startswith("0x")
        client.post("/_sim/limits/reset")


def test_more_etherscan_shapes(shared_client: TestClient, shared_sim: Simulator) -> None:
    holder, balance = shared_sim.world.balances(1)[2]
    body = etherscan(
        shared_client, chainid=1, module="account", action="tokenbalance",
        contractaddress=TOKEN, address=holder, tag="latest",
    )  # fmt: skip
    assert body == {"status": "1", "message": "OK", "result": str(balance)}
    info = etherscan(
        shared_client, chainid=1, module="token", action="tokeninfo", contractaddress=TOKEN
    )
    assert info["result"][0]["symbol"] == "BZR"
    assert float(info["result"][0]["tokenPriceUSD"]) > 0
    chains = shared_client.get("/v2/chainlist").json()["result"]
    assert {c["chainid"] for c in chains} == {
        "1",
        "10",
        "56",
        "137",
        "324",
        "5000",
        "42161",
        "43114",
        "8453",
    }
    v1 = shared_client.get(
        "/cmc/v1/cryptocurrency/quotes/latest", params={"symbol": "BZR"},
        headers={"X-CMC_PRO_API_KEY": "test-pro-key"},
    ).json()  # fmt: skip
    assert v1["data"]["BZR"]["symbol"] == "BZR"  # v1 by symbol: an object, not an array


def test_free_offset_can_be_an_error() -> None:
    sim = make_sim(options=Options(free_offset="error"))
    client = TestClient(sim.app)
    body = etherscan(
        client, chainid=137, module="account", action="tokentx", contractaddress=TOKEN,
        offset=2000, apikey="test-free-key",
    )  # fmt: skip
    assert body["status"] == "0"
    assert body["result"].startswith("Error! Max records per call")
