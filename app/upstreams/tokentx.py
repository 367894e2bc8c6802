"""Rows of Etherscan/Blockscout ``account/tokentx`` (ERC-20 transfers of one token).

All numbers are decimal strings here (unlike getLogs). The documented shape has no
``logIndex``, so a row cannot name its log on its own: it is exact only when the pipeline
matches it to a log (or the provider adds ``logIndex``, which some responses do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.upstreams.parse import (
    ParsedBatch,
    ParseError,
    Rejection,
    RejectReason,
    address,
    bytes32,
    decimal_quantity,
    hex_quantity,
    require,
    show,
    timestamp,
)


@dataclass(frozen=True, slots=True)
class TokenTxQuery:
    chain_id: int
    token: str
    start_block: int
    end_block: int | None  # None: "latest"


@dataclass(frozen=True, slots=True)
class TokenTransferRow:
    chain_id: int
    block_number: int
    block_time: datetime
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int | None  # only when the provider sends it
    nonce: int | None
    from_address: str
    to_address: str
    value: int  # raw token units
    gas: int | None
    gas_price: int | None
    gas_used: int | None
    cumulative_gas_used: int | None
    method_id: str | None
    function_name: str | None


def parse_token_transfers(
    items: list[object], query: TokenTxQuery
) -> ParsedBatch[TokenTransferRow]:
    rows: list[TokenTransferRow] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            rows.append(parse_token_transfer(item, query))
        except ParseError as exc:
            rejected.append(Rejection(index, exc.reason, exc.detail))
    return ParsedBatch(tuple(rows), tuple(rejected), len(items))


def parse_token_transfer(item: object, query: TokenTxQuery) -> TokenTransferRow:
    if not isinstance(item, dict):
        raise ParseError(RejectReason.NOT_AN_OBJECT, show(item))
    contract = require(item, "contractAddress")
    if not isinstance(contract, str) or contract.lower() != query.token.lower():
        raise ParseError(RejectReason.WRONG_CONTRACT, show(contract))
    block_number = decimal_quantity(require(item, "blockNumber"))
    upper_ok = query.end_block is None or block_number <= query.end_block
    if block_number < query.start_block or not upper_ok:
        raise ParseError(
            RejectReason.OUT_OF_RANGE,
            f"block {block_number} outside [{query.start_block}, {query.end_block}]",
        )
    return TokenTransferRow(
        chain_id=query.chain_id,
        block_number=block_number,
        block_time=timestamp(
            decimal_quantity(require(item, "timeStamp"), RejectReason.BAD_TIMESTAMP)
        ),
        block_hash=bytes32(require(item, "blockHash"), RejectReason.BAD_BLOCK_HASH),
        tx_hash=bytes32(require(item, "hash"), RejectReason.BAD_TX_HASH),
        tx_index=decimal_quantity(require(item, "transactionIndex")),
        log_index=_log_index(item.get("logIndex")),
        nonce=_optional_decimal(item, "nonce"),
        from_address=address(require(item, "from")),
        to_address=address(require(item, "to")),
        value=decimal_quantity(require(item, "value")),
        gas=_optional_decimal(item, "gas"),
        gas_price=_optional_decimal(item, "gasPrice"),
        gas_used=_optional_decimal(item, "gasUsed"),
        cumulative_gas_used=_optional_decimal(item, "cumulativeGasUsed"),
        method_id=_optional_text(item, "methodId"),
        function_name=_optional_text(item, "functionName"),
    )


def _log_index(value: object) -> int | None:
    # Seen as decimal in a 2026 fixture; accept hex too rather than guess wrong.
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.startswith("0x"):
        return hex_quantity(value)
    return decimal_quantity(value)


def _optional_decimal(item: dict[str, object], name: str) -> int | None:
    value = item.get(name)
    return None if value is None or value == "" else decimal_quantity(value)


def _optional_text(item: dict[str, object], name: str) -> str | None:
    value = item.get(name)
    return value if isinstance(value, str) and value else None
