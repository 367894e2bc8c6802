"""Test helpers for the upstream layer: a fake clock, payload builders following
upstreams.md formats, and a gateway wired to an httpx.MockTransport (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.domain import TRANSFER_TOPIC0
from app.upstreams import (
    ApiKey,
    Breakers,
    Classified,
    Gateway,
    InMemoryLedger,
    KeyPool,
    Limiter,
    Priority,
    RetryPolicy,
    new_http_client,
)
from app.upstreams._classify import classify_envelope
from app.upstreams._resilience import BreakerPolicy

TOKEN = "0x85cb098bdcd3ca929d2cd18fc7a2669ff0362242"
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20
TX = "0x" + "ab" * 32
BLOCK_HASH = "0x" + "cd" * 32
START = 1_780_272_000.0  # 2026-06-01T00:00:00Z
SECRET = "SECRETKEY-DO-NOT-LEAK-123456"


@dataclass
class FakeClock:
    """Time that only moves when someone sleeps: deterministic back-off and pacing."""

    now: float = START
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


def topic(address: str) -> str:
    return "0x" + "0" * 24 + address[2:]


def word(value: int) -> str:
    return f"0x{value:064x}"


def explorer_log(**overrides: Any) -> dict[str, Any]:
    """An Etherscan getLogs item: hex numbers, zero as a bare "0x", no blockHash."""
    item: dict[str, Any] = {
        "address": TOKEN,
        "topics": [TRANSFER_TOPIC0, topic(ALICE), topic(BOB)],
        "data": word(1000),
        "blockNumber": hex(100),
        "timeStamp": hex(int(START)),
        "gasPrice": "0x3b9aca00",
        "gasUsed": "0x5208",
        "logIndex": "0x",
        "transactionHash": TX,
        "transactionIndex": "0x",
    }
    item.update(overrides)
    return item


def rpc_log(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "address": TOKEN,
        "topics": [TRANSFER_TOPIC0, topic(ALICE), topic(BOB)],
        "data": word(5),
        "blockNumber": hex(100),
        "transactionHash": TX,
        "transactionIndex": "0x1",
        "blockHash": BLOCK_HASH,
        "logIndex": "0x2",
        "removed": False,
    }
    item.update(overrides)
    return item


def tokentx_row(**overrides: Any) -> dict[str, Any]:
    """An Etherscan account/tokentx item: every number a decimal string."""
    item: dict[str, Any] = {
        "blockNumber": "100",
        "timeStamp": str(int(START)),
        "hash": TX,
        "nonce": "7",
        "blockHash": BLOCK_HASH,
        "from": ALICE,
        "contractAddress": TOKEN,
        "to": BOB,
        "value": "5901522149285533025181",
        "tokenName": "Bazaars",
        "tokenSymbol": "BZR",
        "tokenDecimal": "18",
        "transactionIndex": "3",
        "gas": "100000",
        "gasPrice": "1000000000",
        "gasUsed": "51000",
        "cumulativeGasUsed": "900000",
        "input": "deprecated",
        "methodId": "0xa9059cbb",
        "functionName": "transfer(address _to, uint256 _value)",
        "confirmations": "12",
    }
    item.update(overrides)
    return item


def block(number: int, timestamp: int = int(START)) -> dict[str, Any]:
    return {
        "number": hex(number),
        "hash": "0x" + f"{number:064x}",
        "parentHash": "0x" + f"{max(0, number - 1):064x}",
        "timestamp": hex(timestamp),
        "transactions": [],
    }


def ok(result: Any) -> dict[str, Any]:
    return {"status": "1", "message": "OK", "result": result}


def notok(result: str, message: str = "NOTOK") -> dict[str, Any]:
    return {"status": "0", "message": message, "result": result}


def rpc_ok(result: Any, request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def rpc_error(code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": 1, "error": error}


Reply = httpx.Response | dict[str, Any] | list[Any] | Exception


class Script:
    """A MockTransport handler that answers from a list, recording every request."""

    def __init__(self, replies: Sequence[Reply] | Callable[[httpx.Request], Reply]) -> None:
        self.replies = replies if callable(replies) else list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if callable(self.replies):
            reply = self.replies(request)
        else:
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return httpx.Response(200, content=json.dumps(reply).encode())

    def params(self, index: int = -1) -> dict[str, str]:
        return dict(self.requests[index].url.params)

    def keys_used(self) -> list[str]:
        return [r.url.params.get("apikey", "") for r in self.requests]


@dataclass
class Rig:
    gateway: Gateway
    script: Script
    clock: FakeClock
    ledger: InMemoryLedger
    keys: KeyPool

    async def call(
        self, endpoint: str = "stats/x", priority: Priority = Priority.TIP
    ) -> Classified:
        """One envelope-style GET through the gateway, the key in the query string."""
        http = self.gateway.http

        def build(key: ApiKey) -> httpx.Request:
            return http.build_request(
                "GET", "https://api.test/v2/api", params={"apikey": key.secret}
            )

        return await self.gateway.call(endpoint, build, classify_envelope, priority)


def make_rig(
    replies: Sequence[Reply] | Callable[[httpx.Request], Reply],
    *,
    secrets: Sequence[str] = (SECRET,),
    interval: float = 0.0,
    daily_quota: int | None = None,
    policy: RetryPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    name: str = "etherscan",
    rand: Callable[[], float] = lambda: 0.5,
) -> Rig:
    clock = FakeClock()
    script = Script(replies)
    keys = KeyPool(
        [
            ApiKey("etherscan", f"etherscan#{n}", s, interval, daily_quota)
            for n, s in enumerate(secrets, 1)
        ],
        clock=clock,
        sleep=clock.sleep,
    )
    ledger = InMemoryLedger(clock)
    gateway = Gateway(
        name=name,
        http=new_http_client(transport=httpx.MockTransport(script)),
        keys=keys,
        limiter=Limiter(ledger, smoothing=False, sleep=clock.sleep),
        breakers=Breakers(breaker or BreakerPolicy(fail_max=100)),
        policy=policy or RetryPolicy(),
        sleep=clock.sleep,
        rand=rand,
        clock=clock,
        wall_clock=clock,
    )
    return Rig(gateway, script, clock, ledger, keys)
