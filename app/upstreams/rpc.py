"""Plain JSON-RPC: eth_chainId, eth_blockNumber, eth_getBlockByNumber, eth_getLogs, eth_call
(totalSupply), batches.

The endpoint URL plays the part of the API key: it often embeds one (Infura, Alchemy), so it
is held as an :class:`~app.upstreams._budget.ApiKey` secret, paced and fingerprinted like one,
and several URLs for a chain rotate like several keys.

A batch is one HTTP request, so it costs one slot of the budget. If any member was rate
limited or failed transiently the whole batch is retried (reads are idempotent); other
per-member outcomes are returned to the caller.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

import httpx

from app.domain import TRANSFER_TOPIC0
from app.upstreams._budget import ApiKey, Priority
from app.upstreams._classify import Classified, Outcome, classify_rpc
from app.upstreams._envelope import as_list, converted, log_rejections
from app.upstreams._gateway import Gateway
from app.upstreams.errors import UpstreamRefused
from app.upstreams.etherscan import BlockTag, block_tag
from app.upstreams.logs import LogQuery, ParsedLog, parse_logs
from app.upstreams.parse import BlockHeader, ParsedBatch, hex_quantity, parse_block

T = TypeVar("T")
_RETRY_WHOLE_BATCH = (Outcome.RATE_LIMITED, Outcome.QUOTA_EXHAUSTED, Outcome.TRANSIENT)


TOTAL_SUPPLY = "0x18160ddd"  # the selector of ERC-20 totalSupply()


def uint256_result(payload: object) -> int:
    """An eth_call answer holding one uint256 (32 bytes, hex)."""
    if not isinstance(payload, str) or len(payload) != 66:
        raise ValueError(f"expected a 32-byte uint256, got {payload!r:.80}")
    return hex_quantity(payload)


@dataclass(frozen=True, slots=True)
class RpcCall:
    method: str
    params: list[Any]


def batch_result(
    body: object, size: int, convert: Callable[[Any], Any] | None = None
) -> Classified:
    """Classify a batch response: OK with one Classified per call, in request order.

    ``convert`` parses each OK member's result; one that will not parse fails the batch as
    transient, so it is retried like any malformed payload.
    """
    if not isinstance(body, list):
        return classify_rpc(body)  # a single error object answers the whole batch
    by_id = {
        item["id"]: item for item in body if isinstance(item, dict) and type(item.get("id")) is int
    }
    members = [
        classify_rpc(by_id[i])
        if i in by_id
        else Classified(Outcome.TRANSIENT, reason="malformed response: batch member missing")
        for i in range(size)
    ]
    if convert is not None:
        members = [converted(member, convert) for member in members]
    for member in members:
        if member.outcome in _RETRY_WHOLE_BATCH:
            return replace(member, reason=f"batch member: {member.reason}")
    return Classified(Outcome.OK, payload=members)


class RpcClient:
    def __init__(self, gateway: Gateway, *, chain_id: int, token: str) -> None:
        self.gateway = gateway
        self.chain_id = chain_id
        self.token = token.lower()
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"RpcClient(chain_id={self.chain_id}, gateway={self.gateway.name!r})"

    async def chain_id_of_node(self, *, priority: Priority = Priority.TIP) -> int:
        """eth_chainId: check the endpoint serves the chain we think it does."""
        return await self.request(RpcCall("eth_chainId", []), hex_quantity, priority)

    async def block_number(self, *, priority: Priority = Priority.TIP) -> int:
        return await self.request(RpcCall("eth_blockNumber", []), hex_quantity, priority)

    async def block(
        self, tag: BlockTag = "latest", *, priority: Priority = Priority.TIP
    ) -> BlockHeader | None:
        call = RpcCall("eth_getBlockByNumber", [block_tag(tag), False])
        return await self.request(call, parse_block, priority)

    async def total_supply(self, *, priority: Priority = Priority.RECONCILIATION) -> int:
        """The token's ``totalSupply()`` at the latest block (eth_call), raw units."""
        call = RpcCall("eth_call", [{"to": self.token, "data": TOTAL_SUPPLY}, "latest"])
        return await self.request(call, uint256_result, priority)

    async def get_logs(
        self, from_block: int, to_block: int, *, priority: Priority = Priority.BACKFILL
    ) -> ParsedBatch[ParsedLog]:
        """Transfer logs of the token in ``[from_block, to_block]``; RangeTooLarge to split."""
        query = LogQuery(self.chain_id, self.token, from_block, to_block)
        log_filter = {
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "address": self.token,
            "topics": [TRANSFER_TOPIC0],
        }
        call = RpcCall("eth_getLogs", [log_filter])
        batch = await self.request(call, lambda p: parse_logs(as_list(p), query), priority)
        return log_rejections(batch, self.gateway.name, "rpc/eth_getLogs", self.chain_id)

    async def blocks(
        self,
        numbers: Sequence[int],
        *,
        batch_size: int = 50,
        priority: Priority = Priority.BACKFILL,
    ) -> dict[int, BlockHeader]:
        """Headers of many blocks in batches (e.g. to time-stamp logs); absent ones left out."""
        found: dict[int, BlockHeader] = {}
        wanted = sorted(set(numbers))
        for start in range(0, len(wanted), batch_size):
            chunk = wanted[start : start + batch_size]
            calls = [RpcCall("eth_getBlockByNumber", [hex(n), False]) for n in chunk]
            for member in await self.batch(calls, convert=parse_block, priority=priority):
                header = self._member(member)
                if header is not None:
                    found[header.number] = header
        return found

    async def batch(
        self,
        calls: Sequence[RpcCall],
        *,
        convert: Callable[[Any], Any] | None = None,
        priority: Priority = Priority.BACKFILL,
    ) -> list[Classified]:
        """One Classified per call, in call order; OK payloads parsed by ``convert``."""
        body = [
            {"jsonrpc": "2.0", "id": i, "method": c.method, "params": c.params}
            for i, c in enumerate(calls)
        ]

        def interpret(decoded: object) -> Classified:
            return batch_result(decoded, len(calls), convert)

        result = await self.gateway.call("rpc/batch", self._builder(body), interpret, priority)
        return cast(list[Classified], result.payload)

    async def request(self, call: RpcCall, convert: Callable[[Any], T], priority: Priority) -> T:
        body = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": call.method,
            "params": call.params,
        }

        def interpret(decoded: object) -> Classified:
            return converted(classify_rpc(decoded), convert)

        result = await self.gateway.call(
            f"rpc/{call.method}", self._builder(body), interpret, priority
        )
        return cast(T, result.payload)

    def _builder(self, body: object) -> Callable[[ApiKey], httpx.Request]:
        def build(key: ApiKey) -> httpx.Request:
            return self.gateway.http.build_request("POST", key.secret, json=body)

        return build

    def _member(self, member: Classified) -> Any:
        if member.outcome is not Outcome.OK:
            raise UpstreamRefused(member.reason, provider=self.gateway.name, endpoint="rpc/batch")
        return member.payload
