"""transferAdded over graphql-ws (graphql-transport-ws): batches the worker commits reach the
subscribers of their chain, read once from the store; gaps and truncation are said."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from app.asgi import create_app
from app.config import Config
from app.ops.state import AppState
from app.ops.transfer_feed import FeedBatch, TransferFeed
from app.store import pool as store_pool
from app.store.notify import BatchEvent
from tests.api import transfer_data
from tests.api.test_transfers_pages import ROWS
from tests.api.test_transfers_rest import listening, wait_for
from tests.api.transfer_data import transfer

PROTOCOL = "graphql-transport-ws"
SUBSCRIPTION = """subscription($c: SafeInt) { transferAdded(chainId: $c) {
  chainId fromBlock toBlock inserted gap truncated transfers { id from to value blockNumber }
} }"""


@pytest.fixture
def api(config: Config) -> Iterator[TestClient]:
    transfer_data.load(config, ROWS)
    with TestClient(create_app(config)) as client:
        yield client


def state_of(client: TestClient) -> AppState:
    return cast(AppState, client.app.state.tokenpulse)  # type: ignore[attr-defined]


def feed_of(client: TestClient) -> TransferFeed:
    feed = state_of(client).feed
    assert feed is not None
    return feed


def start(ws: WebSocketTestSession, chain_id: int | None, id_: str = "1") -> None:
    ws.send_json({"type": "connection_init"})
    assert ws.receive_json() == {"type": "connection_ack"}
    payload = {"query": SUBSCRIPTION, "variables": {"c": chain_id}}
    ws.send_json({"id": id_, "type": "subscribe", "payload": payload})


def receive(ws: WebSocketTestSession, seconds: float = 15.0) -> dict[str, Any]:
    """The next message; the socket is closed (failing the test) if none comes in time."""
    timer = threading.Timer(seconds, ws.close)
    timer.start()
    try:
        message: dict[str, Any] = ws.receive_json()
    finally:
        timer.cancel()
    return message


def subscribed(client: TestClient, count: int = 1) -> None:
    wait_for(lambda: feed_of(client).subscribers == count, "the subscription")


def test_a_committed_batch_is_pushed_to_its_chain(api: TestClient, config: Config) -> None:
    listening(api)
    top = transfer_data.tops(config, ROWS)
    with api.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        start(ws, 137)
        subscribed(api)
        other = transfer(1, top[1] + 3, 0)  # another chain's batch: not for this subscriber
        transfer_data.commit_batch(config, [other])
        rows = [transfer(137, top[137] + 4, index, value=10**18 + index) for index in range(3)]
        transfer_data.commit_batch(config, rows)
        message = receive(ws)
        assert message["type"] == "next"
        assert message["id"] == "1"
        batch = message["payload"]["data"]["transferAdded"]
        assert batch | {"transfers": []} == {
            "chainId": 137, "fromBlock": top[137] + 4, "toBlock": top[137] + 4, "inserted": 3,
            "gap": False, "truncated": False, "transfers": [],
        }  # fmt: skip
        assert [item["value"] for item in batch["transfers"]] == [str(10**18 + i) for i in range(3)]
        assert batch["transfers"][0]["id"] == f"137:{rows[0].tx_hash}:0"
        ws.send_json({"id": "1", "type": "complete"})
    wait_for(lambda: feed_of(api).subscribers == 0, "the subscription to end")


def test_all_chains_subscribers_get_every_chain_and_truncation_is_said(
    api: TestClient, config: Config
) -> None:
    listening(api)
    feed_of(api).max_rows = 2
    top = transfer_data.tops(config, ROWS)
    with api.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        start(ws, None)
        subscribed(api)
        transfer_data.commit_batch(config, [transfer(56, top[56] + 1 + n, 0) for n in range(3)])
        batch = receive(ws)["payload"]["data"]["transferAdded"]
    assert (batch["chainId"], batch["inserted"], batch["truncated"]) == (56, 3, True)
    assert len(batch["transfers"]) == 2


def test_an_unknown_chain_is_a_coded_error(api: TestClient) -> None:
    with api.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        start(ws, 999)
        message = receive(ws)
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"] == {"code": "invalid_chain", "field": "chainId"}


def test_other_origins_cannot_open_the_socket(api: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect),
        api.websocket_connect(
            "/graphql", subprotocols=[PROTOCOL], headers={"origin": "https://evil.example"}
        ) as ws,
    ):
        ws.receive_json()


# The feed on its own: gaps, full queues, subscribers of other chains.


class _Feed(TransferFeed):
    """A feed whose store read is replaced by a fixed answer."""

    async def _read(self, event: BatchEvent) -> FeedBatch:
        return FeedBatch(event.chain_id, event.from_block, event.to_block, event.inserted, ())


def _feed(queue_size: int = 10) -> _Feed:
    return _Feed(cast(store_pool.Pool, None), queue_size=queue_size)


async def test_a_gap_is_said_to_everyone() -> None:
    feed = _feed()
    one, every = feed.subscribe(137), feed.subscribe(None)
    await feed.publish([BatchEvent(1, 5, 6, 2)], gap=True)
    assert one.queue.get_nowait().gap
    assert every.queue.get_nowait().gap
    assert every.queue.get_nowait().chain_id == 1
    assert one.queue.empty()  # chain 1's batch is not for the chain-137 subscriber


async def test_a_full_queue_turns_into_a_gap_on_the_next_batch() -> None:
    feed = _feed(queue_size=1)
    sub = feed.subscribe(137)
    for block in (1, 2, 3):
        await feed.publish([BatchEvent(137, block, block, 1)], gap=False)
    assert sub.queue.get_nowait().from_block == 1
    assert sub.missed
    await feed.publish([BatchEvent(137, 4, 4, 1)], gap=False)
    delivered = sub.queue.get_nowait()
    assert (delivered.from_block, delivered.gap) == (4, True)
    await feed.publish([BatchEvent(137, 5, 5, 0)], gap=False)  # inserted nothing: not pushed
    assert sub.queue.empty()
    sub.close()
    assert feed.subscribers == 0


async def test_batches_are_not_read_without_subscribers() -> None:
    reads: list[BatchEvent] = []

    class Counting(_Feed):
        async def _read(self, event: BatchEvent) -> FeedBatch:
            reads.append(event)
            return await super()._read(event)

    feed = Counting(cast(store_pool.Pool, None))
    await feed.publish([BatchEvent(137, 1, 1, 1)], gap=False)
    sub = feed.subscribe(56)
    await feed.publish([BatchEvent(137, 2, 2, 1), BatchEvent(56, 3, 3, 1)], gap=False)
    assert [event.chain_id for event in reads] == [56]
    got = [batch async for batch in _take(sub, 1)]
    assert got[0].chain_id == 56


async def _take(sub: Any, count: int) -> Any:
    iterator = sub.__aiter__()
    for _ in range(count):
        yield await asyncio.wait_for(iterator.__anext__(), 1)


def test_wait_for_helper_times_out() -> None:
    with pytest.raises(AssertionError, match="nothing"):
        wait_for(lambda: False, "nothing", seconds=0.05)
    started = time.monotonic()
    wait_for(lambda: True, "at once")
    assert time.monotonic() - started < 1
