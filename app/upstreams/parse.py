"""Pure parsing primitives shared by every provider: numbers, hashes, blocks, rejections.

Nothing here does I/O. Scalar parsers raise :class:`ParseError` (a ValueError) with a stable
reason code; item parsers (app.upstreams.logs, app.upstreams.tokentx) turn it into a
:class:`Rejection`, so one malformed item is counted and logged, never returned as a row.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

T = TypeVar("T")
_HEX_QUANTITY = re.compile(r"^0x[0-9a-fA-F]{0,64}$")
_DECIMAL = re.compile(r"^[0-9]{1,78}$")
_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
MAX_TIMESTAMP = 2**32  # year 2106: anything later is garbage, not a block time


class RejectReason(enum.StrEnum):
    """Why an item was refused; stable codes for counters and logs."""

    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_CONTRACT = "wrong_contract"
    WRONG_TOPIC0 = "wrong_topic0"
    TOPIC_COUNT = "topic_count"
    BAD_TOPIC = "bad_topic"
    BAD_ADDRESS_PADDING = "bad_address_padding"
    BAD_ADDRESS = "bad_address"
    BAD_DATA = "bad_data"
    BAD_QUANTITY = "bad_quantity"
    OUT_OF_RANGE = "out_of_range"
    BAD_TX_HASH = "bad_tx_hash"
    BAD_BLOCK_HASH = "bad_block_hash"
    BAD_TIMESTAMP = "bad_timestamp"
    REMOVED = "removed"
    DUPLICATE = "duplicate"


class ParseError(ValueError):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int  # position in the upstream's result list
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class ParsedBatch(Generic[T]):
    """Valid items, rejections, and how many items the upstream sent (for paging)."""

    items: tuple[T, ...]
    rejected: tuple[Rejection, ...]
    received: int
    skipped_erc721: int = 0  # same topic0 but 4 topics: an NFT, not ours to count


@dataclass(frozen=True, slots=True)
class BlockHeader:
    number: int
    hash: str
    parent_hash: str
    timestamp: datetime


def show(value: object) -> str:
    """A short, printable form of an offending value for a rejection detail."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def require(item: dict[str, object], name: str) -> object:
    if name not in item or item[name] is None:
        raise ParseError(RejectReason.MISSING_FIELD, name)
    return item[name]


def hex_quantity(value: object, reason: RejectReason = RejectReason.BAD_QUANTITY) -> int:
    """A JSON-RPC QUANTITY; Etherscan renders zero as a bare ``"0x"``, which means 0."""
    if not isinstance(value, str) or not _HEX_QUANTITY.match(value):
        raise ParseError(reason, show(value))
    return int(value[2:] or "0", 16)


def decimal_quantity(value: object, reason: RejectReason = RejectReason.BAD_QUANTITY) -> int:
    """Etherscan account/token modules send numbers as decimal strings."""
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise ParseError(reason, show(value))
    return int(value)


def bytes32(value: object, reason: RejectReason) -> str:
    """A 32-byte hash as lowercase 0x-hex."""
    if not isinstance(value, str) or not _BYTES32.match(value):
        raise ParseError(reason, show(value))
    return value.lower()


def address(value: object) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ParseError(RejectReason.BAD_ADDRESS, show(value))
    return value.lower()


def topic_address(value: object) -> str:
    """An indexed address topic: 32 bytes whose first 12 are zero padding."""
    topic = bytes32(value, RejectReason.BAD_TOPIC)
    if topic[2:26] != "0" * 24:
        raise ParseError(RejectReason.BAD_ADDRESS_PADDING, topic)
    return "0x" + topic[26:]


def timestamp(seconds: int) -> datetime:
    if not 0 < seconds < MAX_TIMESTAMP:
        raise ParseError(RejectReason.BAD_TIMESTAMP, str(seconds))
    return datetime.fromtimestamp(seconds, UTC)


def parse_block(value: object) -> BlockHeader | None:
    """A block object from eth_getBlockByNumber; None when the node has no such block."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ParseError(RejectReason.NOT_AN_OBJECT, show(value))
    return BlockHeader(
        number=hex_quantity(require(value, "number")),
        hash=bytes32(require(value, "hash"), RejectReason.BAD_BLOCK_HASH),
        parent_hash=bytes32(require(value, "parentHash"), RejectReason.BAD_BLOCK_HASH),
        timestamp=timestamp(hex_quantity(require(value, "timestamp"), RejectReason.BAD_TIMESTAMP)),
    )
