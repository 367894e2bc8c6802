"""What Etherscan V2 and Blockscout-compatible explorers share: the ``{status, message,
result}`` envelope, ``module``/``action`` GET requests with ``apikey``, getLogs, tokentx and
tokensupply.

The key is added per request from the key pool, never stored in a URL the client keeps.
Converting a result (parsing) happens inside the gateway's interpretation step, so a
malformed payload counts as a transient failure and is retried like a 5xx.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal, TypeVar, cast

import httpx

from app.domain import TRANSFER_TOPIC0
from app.upstreams._budget import ApiKey, Priority
from app.upstreams._classify import Classified, Outcome, classify_envelope
from app.upstreams._gateway import Gateway
from app.upstreams.errors import RangeTooLarge
from app.upstreams.logs import LogQuery, ParsedLog, parse_logs
from app.upstreams.parse import ParsedBatch, ParseError, decimal_quantity
from app.upstreams.tokentx import TokenTransferRow, TokenTxQuery, parse_token_transfers

log = logging.getLogger(__name__)
T = TypeVar("T")
B = TypeVar("B", bound=ParsedBatch[Any])
Envelope = Callable[[object], Classified]
MAX_OFFSET = 1000  # records per request (Etherscan Free tier since 2026-07, Blockscout getLogs)
RESULT_WINDOW = 10_000  # page x offset must stay within this


def converted(found: Classified, convert: Callable[[Any], Any]) -> Classified:
    """``found`` with its payload parsed; a payload that will not parse is transient."""
    if not found.succeeded:
        return found
    try:
        return replace(found, payload=convert(found.payload))
    except (ParseError, ValueError, TypeError) as exc:
        return Classified(Outcome.TRANSIENT, reason=f"malformed result: {exc}")


def as_list(payload: object) -> list[object]:
    if not isinstance(payload, list):
        raise ValueError(f"expected a list result, got {type(payload).__name__}")
    return payload


def block_number_result(payload: object) -> int:
    """getblocknobytime: Etherscan sends a decimal string, Blockscout ``{"blockNumber": …}``."""
    if isinstance(payload, dict):
        payload = payload.get("blockNumber")
    if not isinstance(payload, str) or not payload.isdigit():
        raise ValueError(f"expected a decimal block number, got {payload!r}")
    return int(payload)


def log_rejections(batch: B, upstream: str, endpoint: str, chain_id: int) -> B:
    """Log what the parser refused (it is pure and cannot); returns the batch unchanged."""
    if batch.rejected:
        reasons = Counter(r.reason.value for r in batch.rejected)
        first = batch.rejected[0]
        log.warning(
            "upstream items rejected",
            extra={
                "upstream": upstream,
                "endpoint": endpoint,
                "chain_id": chain_id,
                "reasons": dict(reasons),
                "example": f"#{first.index} {first.reason.value}: {first.detail}",
            },
        )
    return batch


class EnvelopeClient:
    """Base of EtherscanClient and ExplorerClient; one instance per chain."""

    def __init__(self, gateway: Gateway, *, base_url: str, chain_id: int, token: str) -> None:
        self.gateway = gateway
        self.base_url = base_url
        self.chain_id = chain_id
        self.token = token.lower()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(chain_id={self.chain_id}, gateway={self.gateway.name!r})"

    def chain_params(self) -> dict[str, str]:
        """Parameters every request carries (Etherscan V2: chainid)."""
        return {}

    async def get_logs(
        self,
        from_block: int,
        to_block: int,
        *,
        page: int = 1,
        offset: int = MAX_OFFSET,
        priority: Priority = Priority.BACKFILL,
    ) -> ParsedBatch[ParsedLog]:
        """Transfer logs of the token in ``[from_block, to_block]`` (one page)."""
        self._check_page("logs/getLogs", page, offset)
        query = LogQuery(self.chain_id, self.token, from_block, to_block)
        params = {
            "module": "logs",
            "action": "getLogs",
            "fromBlock": str(from_block),  # decimal, not hex, on these APIs
            "toBlock": str(to_block),
            "address": self.token,
            "topic0": TRANSFER_TOPIC0,
            "page": str(page),
            "offset": str(offset),
        }
        batch = await self.fetch(
            "logs/getLogs", params, lambda p: parse_logs(as_list(p), query), priority
        )
        return log_rejections(batch, self.gateway.name, "logs/getLogs", self.chain_id)

    async def token_transfers(
        self,
        start_block: int,
        end_block: int | None = None,
        *,
        page: int = 1,
        offset: int = MAX_OFFSET,
        sort: Literal["asc", "desc"] = "asc",
        priority: Priority = Priority.BACKFILL,
    ) -> ParsedBatch[TokenTransferRow]:
        """account/tokentx rows of the token; ``end_block`` None means ``latest``."""
        self._check_page("account/tokentx", page, offset)
        query = TokenTxQuery(self.chain_id, self.token, start_block, end_block)
        params = {
            "module": "account",
            "action": "tokentx",
            "contractaddress": self.token,
            "startblock": str(start_block),
            "endblock": "latest" if end_block is None else str(end_block),
            "page": str(page),
            "offset": str(offset),
            "sort": sort,
        }
        batch = await self.fetch(
            "account/tokentx",
            params,
            lambda p: parse_token_transfers(as_list(p), query),
            priority,
        )
        return log_rejections(batch, self.gateway.name, "account/tokentx", self.chain_id)

    async def token_supply(self, *, priority: Priority = Priority.RECONCILIATION) -> int:
        """stats/tokensupply: total supply in raw units (Etherscan and Blockscout alike)."""
        params = {"module": "stats", "action": "tokensupply", "contractaddress": self.token}
        return await self.fetch("stats/tokensupply", params, decimal_quantity, priority)

    async def block_by_time(
        self,
        unix_seconds: int,
        closest: Literal["before", "after"] = "before",
        *,
        priority: Priority = Priority.BACKFILL,
    ) -> int:
        params = {
            "module": "block",
            "action": "getblocknobytime",
            "timestamp": str(unix_seconds),
            "closest": closest,
        }
        return await self.fetch("block/getblocknobytime", params, block_number_result, priority)

    async def fetch(
        self,
        endpoint: str,
        params: dict[str, str],
        convert: Callable[[Any], T],
        priority: Priority,
        envelope: Envelope = classify_envelope,
    ) -> T:
        """One call: build per key, classify with ``envelope``, parse with ``convert``."""
        query = {**self.chain_params(), **params}

        def build(key: ApiKey) -> httpx.Request:
            return self.gateway.http.build_request(
                "GET", self.base_url, params={**query, "apikey": key.secret}
            )

        def interpret(body: object) -> Classified:
            return converted(envelope(body), convert)

        # A breaker per chain: Etherscan V2 serves every chain from one host and key pool,
        # but a chain's backend can fail alone.
        result = await self.gateway.call(
            endpoint, build, interpret, priority, scope=str(self.chain_id)
        )
        return cast(T, result.payload)

    def _check_page(self, endpoint: str, page: int, offset: int) -> None:
        if page < 1 or not 1 <= offset <= MAX_OFFSET:
            raise ValueError(f"page must be >= 1 and offset in 1..{MAX_OFFSET}")
        if page * offset > RESULT_WINDOW:
            # The upstream would refuse it; say so without spending a call.
            raise RangeTooLarge(
                f"page x offset = {page * offset} exceeds the {RESULT_WINDOW} result window",
                provider=self.gateway.name,
                endpoint=endpoint,
            )
