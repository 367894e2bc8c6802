"""ERC-20 Transfer logs from Etherscan/Blockscout ``logs/getLogs`` and JSON-RPC ``eth_getLogs``.

Both shapes carry ``address, topics, data, blockNumber, transactionHash, transactionIndex,
logIndex`` as hex; the block time comes as ``timeStamp`` (explorers) or ``blockTimestamp``
(newer nodes), and the block hash only from nodes (and some explorers). A log lacking either
is returned with ``needs_block`` set: the pipeline fetches the block and calls ``with_block``.

Strict checks, each with its own rejection reason: the token contract, topic0, exactly three
topics (four is an ERC-721 Transfer: skipped and counted, not an error), zero-padded address
topics, a 32-byte value, hashes of 32 bytes, and a block inside the requested range.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from app.domain import TRANSFER_TOPIC0, Transfer
from app.upstreams.parse import (
    BlockHeader,
    ParsedBatch,
    ParseError,
    Rejection,
    RejectReason,
    bytes32,
    hex_quantity,
    require,
    show,
    timestamp,
    topic_address,
)


@dataclass(frozen=True, slots=True)
class LogQuery:
    """What was asked for; every returned log is checked against it."""

    chain_id: int
    token: str  # the token contract, any case
    from_block: int
    to_block: int | None  # None: up to the head ("latest")


@dataclass(frozen=True, slots=True)
class ParsedLog:
    chain_id: int
    block_number: int
    block_hash: str | None  # None: the source did not say; see needs_block
    block_time: datetime | None
    tx_hash: str
    log_index: int
    tx_index: int | None
    from_address: str
    to_address: str
    value: int  # raw token units

    @property
    def needs_block(self) -> bool:
        return self.block_time is None or self.block_hash is None

    def with_block(self, block: BlockHeader) -> ParsedLog:
        """Fill time and hash from the block header; refuses a header of another block."""
        if block.number != self.block_number:
            raise ValueError(f"block {block.number} given for a log of block {self.block_number}")
        if self.block_hash is not None and self.block_hash != block.hash:
            raise ValueError(f"block {block.number} hash differs from the log's (reorg?)")
        return replace(self, block_hash=block.hash, block_time=block.timestamp)

    def to_transfer(self) -> Transfer:
        if self.block_time is None or self.block_hash is None:
            raise ValueError("log lacks its block time or hash; fetch the block first")
        return Transfer(
            chain_id=self.chain_id,
            block_time=self.block_time,
            block_number=self.block_number,
            block_hash=self.block_hash,
            tx_hash=self.tx_hash,
            log_index=self.log_index,
            from_address=self.from_address,
            to_address=self.to_address,
            value=Decimal(self.value),
            tx_index=self.tx_index,
        )


class _Erc721(Exception):
    """Same topic0 as ERC-20 Transfer, but the token id is indexed: not a fungible transfer."""


def parse_logs(items: list[object], query: LogQuery) -> ParsedBatch[ParsedLog]:
    """Every valid Transfer log of the token; everything else rejected with a reason."""
    logs: list[ParsedLog] = []
    rejected: list[Rejection] = []
    seen: set[tuple[str, int]] = set()
    skipped = 0
    for index, item in enumerate(items):
        try:
            log = parse_log(item, query)
        except _Erc721:
            skipped += 1
            continue
        except ParseError as exc:
            rejected.append(Rejection(index, exc.reason, exc.detail))
            continue
        identity = (log.tx_hash, log.log_index)
        if identity in seen:
            rejected.append(Rejection(index, RejectReason.DUPLICATE, f"{identity}"))
            continue
        seen.add(identity)
        logs.append(log)
    return ParsedBatch(tuple(logs), tuple(rejected), len(items), skipped)


def parse_log(item: object, query: LogQuery) -> ParsedLog:
    """One log, or ParseError; raises _Erc721 for a 4-topic Transfer."""
    if not isinstance(item, dict):
        raise ParseError(RejectReason.NOT_AN_OBJECT, show(item))
    _check_contract(item, query.token)
    from_address, to_address = _check_topics(item)
    if item.get("removed") is True:
        raise ParseError(RejectReason.REMOVED, "log removed by a reorg")
    block_number = hex_quantity(require(item, "blockNumber"))
    _check_range(block_number, query)
    return ParsedLog(
        chain_id=query.chain_id,
        block_number=block_number,
        block_hash=_optional_hash(item),
        block_time=_optional_time(item),
        tx_hash=bytes32(require(item, "transactionHash"), RejectReason.BAD_TX_HASH),
        log_index=hex_quantity(require(item, "logIndex")),
        tx_index=_optional_quantity(item, "transactionIndex"),
        from_address=from_address,
        to_address=to_address,
        value=_value(require(item, "data")),
    )


def _check_contract(item: dict[str, object], token: str) -> None:
    contract = require(item, "address")
    if not isinstance(contract, str) or contract.lower() != token.lower():
        raise ParseError(RejectReason.WRONG_CONTRACT, show(contract))


def _check_topics(item: dict[str, object]) -> tuple[str, str]:
    topics = require(item, "topics")
    if not isinstance(topics, list):
        raise ParseError(RejectReason.BAD_TOPIC, show(topics))
    # Blockscout pads topics to four with nulls; a null is an absent topic.
    while topics and topics[-1] is None:
        topics = topics[:-1]
    if not topics or not isinstance(topics[0], str) or topics[0].lower() != TRANSFER_TOPIC0:
        raise ParseError(RejectReason.WRONG_TOPIC0, show(topics[0] if topics else None))
    if len(topics) == 4:
        raise _Erc721()
    if len(topics) != 3:
        raise ParseError(RejectReason.TOPIC_COUNT, str(len(topics)))
    return topic_address(topics[1]), topic_address(topics[2])


def _check_range(block_number: int, query: LogQuery) -> None:
    upper_ok = query.to_block is None or block_number <= query.to_block
    if block_number < query.from_block or not upper_ok:
        raise ParseError(
            RejectReason.OUT_OF_RANGE,
            f"block {block_number} outside [{query.from_block}, {query.to_block}]",
        )


def _value(data: object) -> int:
    # ERC-20 Transfer data is exactly one uint256: 32 bytes, 64 hex digits.
    return int(bytes32(data, RejectReason.BAD_DATA), 16)


def _optional_hash(item: dict[str, object]) -> str | None:
    value = item.get("blockHash")
    return None if value is None else bytes32(value, RejectReason.BAD_BLOCK_HASH)


def _optional_time(item: dict[str, object]) -> datetime | None:
    value = item.get("timeStamp", item.get("blockTimestamp"))
    if value is None:
        return None
    return timestamp(hex_quantity(value, RejectReason.BAD_TIMESTAMP))


def _optional_quantity(item: dict[str, object], name: str) -> int | None:
    value = item.get(name)
    return None if value is None else hex_quantity(value)
