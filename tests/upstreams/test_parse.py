"""Pure parsers: Transfer logs (explorer and RPC shapes), tokentx rows, blocks, scalars.
Every malformed item is rejected with its reason code and never returned as a row."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.domain import TRANSFER_TOPIC0
from app.upstreams.logs import LogQuery, parse_logs
from app.upstreams.parse import (
    ParseError,
    RejectReason,
    decimal_quantity,
    hex_quantity,
    parse_block,
)
from app.upstreams.tokentx import TokenTxQuery, parse_token_transfers
from tests.upstreams.helpers import (
    ALICE,
    BLOCK_HASH,
    BOB,
    START,
    TOKEN,
    TX,
    block,
    explorer_log,
    rpc_log,
    tokentx_row,
    topic,
    word,
)

QUERY = LogQuery(chain_id=1, token=TOKEN.upper().replace("0X", "0x"), from_block=90, to_block=110)


def test_explorer_log_happy_path_and_bare_0x_is_zero() -> None:
    batch = parse_logs([explorer_log()], QUERY)
    [log] = batch.items
    assert (batch.received, batch.rejected, batch.skipped_erc721) == (1, (), 0)
    assert (log.log_index, log.tx_index) == (0, 0)  # "0x" means zero
    assert (log.from_address, log.to_address, log.value) == (ALICE, BOB, 1000)
    assert log.block_time == datetime.fromtimestamp(START, UTC)
    assert log.block_hash is None
    assert log.needs_block


def test_rpc_log_without_timestamp_needs_its_block() -> None:
    [log] = parse_logs([rpc_log()], QUERY).items
    assert log.block_hash == BLOCK_HASH
    assert log.block_time is None
    assert log.needs_block
    header = parse_block({**block(100), "hash": BLOCK_HASH})
    assert header is not None
    transfer = log.with_block(header).to_transfer()
    assert transfer.block_time == header.timestamp
    assert (transfer.log_index, transfer.tx_index, transfer.value) == (2, 1, Decimal(5))
    assert transfer.tx_hash == TX
    assert transfer.chain_id == 1


def test_rpc_log_with_block_timestamp_is_complete() -> None:
    [log] = parse_logs([rpc_log(blockTimestamp=hex(int(START)))], QUERY).items
    assert not log.needs_block
    assert log.to_transfer().block_hash == BLOCK_HASH


def test_with_block_refuses_another_block_or_hash() -> None:
    [log] = parse_logs([rpc_log()], QUERY).items
    other = parse_block(block(101))
    assert other is not None
    with pytest.raises(ValueError, match="block 101"):
        log.with_block(other)
    same_number = parse_block(block(100))  # hash differs from the log's blockHash
    assert same_number is not None
    with pytest.raises(ValueError, match="reorg"):
        log.with_block(same_number)
    with pytest.raises(ValueError, match="fetch the block"):
        log.to_transfer()


def test_erc721_transfers_are_skipped_and_counted() -> None:
    nft = explorer_log(topics=[TRANSFER_TOPIC0, topic(ALICE), topic(BOB), word(7)], data="0x")
    batch = parse_logs([nft, explorer_log()], QUERY)
    assert (len(batch.items), batch.skipped_erc721, batch.rejected) == (1, 1, ())


def test_blockscout_null_topic_padding_is_ignored() -> None:
    padded = explorer_log(topics=[TRANSFER_TOPIC0, topic(ALICE), topic(BOB), None])
    assert len(parse_logs([padded], QUERY).items) == 1


MALFORMED: list[tuple[Any, RejectReason]] = [
    ("not a dict", RejectReason.NOT_AN_OBJECT),
    (explorer_log(address="0x" + "99" * 20), RejectReason.WRONG_CONTRACT),
    (explorer_log(topics=["0x" + "11" * 32, topic(ALICE), topic(BOB)]), RejectReason.WRONG_TOPIC0),
    (explorer_log(topics=[]), RejectReason.WRONG_TOPIC0),
    (explorer_log(topics=[TRANSFER_TOPIC0, topic(ALICE)]), RejectReason.TOPIC_COUNT),
    (explorer_log(topics=[TRANSFER_TOPIC0, topic(ALICE), "0x1234"]), RejectReason.BAD_TOPIC),
    (
        explorer_log(topics=[TRANSFER_TOPIC0, "0x" + "ff" * 32, topic(BOB)]),
        RejectReason.BAD_ADDRESS_PADDING,
    ),
    (explorer_log(data="0x" + "00" * 31), RejectReason.BAD_DATA),
    (explorer_log(data=word(1) + "00"), RejectReason.BAD_DATA),
    (explorer_log(blockNumber="0xzz"), RejectReason.BAD_QUANTITY),
    (explorer_log(blockNumber=100), RejectReason.BAD_QUANTITY),
    (explorer_log(blockNumber=hex(89)), RejectReason.OUT_OF_RANGE),
    (explorer_log(blockNumber=hex(111)), RejectReason.OUT_OF_RANGE),
    (explorer_log(transactionHash="0x" + "ab" * 31), RejectReason.BAD_TX_HASH),
    (explorer_log(transactionHash=None), RejectReason.MISSING_FIELD),
    (rpc_log(blockHash="0x12"), RejectReason.BAD_BLOCK_HASH),
    (explorer_log(timeStamp="0x"), RejectReason.BAD_TIMESTAMP),
    (explorer_log(timeStamp="yesterday"), RejectReason.BAD_TIMESTAMP),
    (explorer_log(logIndex="-1"), RejectReason.BAD_QUANTITY),
    (rpc_log(removed=True), RejectReason.REMOVED),
]


@pytest.mark.parametrize(("item", "reason"), MALFORMED)
def test_malformed_logs_are_rejected_with_a_reason(item: Any, reason: RejectReason) -> None:
    batch = parse_logs([item, explorer_log(logIndex="0x9")], QUERY)
    assert len(batch.items) == 1  # the good neighbour survives
    [rejection] = batch.rejected
    assert (rejection.index, rejection.reason) == (0, reason)
    assert batch.received == 2


def test_duplicate_logs_in_one_batch_are_rejected() -> None:
    batch = parse_logs([explorer_log(), explorer_log()], QUERY)
    assert len(batch.items) == 1
    assert [r.reason for r in batch.rejected] == [RejectReason.DUPLICATE]


def test_open_ended_range_accepts_any_block_above_the_start() -> None:
    query = LogQuery(1, TOKEN, 90, None)
    assert len(parse_logs([explorer_log(blockNumber=hex(10**9))], query).items) == 1


TX_QUERY = TokenTxQuery(chain_id=1, token=TOKEN, start_block=100, end_block=100)


def test_tokentx_happy_path() -> None:
    [row] = parse_token_transfers([tokentx_row()], TX_QUERY).items
    assert row.value == 5901522149285533025181
    assert (row.tx_index, row.nonce, row.log_index) == (3, 7, None)
    assert (row.from_address, row.to_address, row.block_hash) == (ALICE, BOB, BLOCK_HASH)
    assert row.block_time == datetime.fromtimestamp(START, UTC)
    assert row.method_id == "0xa9059cbb"


def test_tokentx_log_index_when_present() -> None:
    rows = parse_token_transfers([tokentx_row(logIndex="4"), tokentx_row(logIndex="0x5")], TX_QUERY)
    assert [r.log_index for r in rows.items] == [4, 5]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (["a", "list"], RejectReason.NOT_AN_OBJECT),
        (tokentx_row(contractAddress="0x" + "99" * 20), RejectReason.WRONG_CONTRACT),
        (tokentx_row(blockNumber="0x64"), RejectReason.BAD_QUANTITY),
        (tokentx_row(blockNumber="101"), RejectReason.OUT_OF_RANGE),
        (tokentx_row(value="1.5"), RejectReason.BAD_QUANTITY),
        (tokentx_row(value="-1"), RejectReason.BAD_QUANTITY),
        (tokentx_row(hash="0x1"), RejectReason.BAD_TX_HASH),
        (tokentx_row(blockHash=""), RejectReason.BAD_BLOCK_HASH),
        (tokentx_row(to="0x1234"), RejectReason.BAD_ADDRESS),
        (tokentx_row(timeStamp="0"), RejectReason.BAD_TIMESTAMP),
        (tokentx_row(gasUsed="lots"), RejectReason.BAD_QUANTITY),
        ({k: v for k, v in tokentx_row().items() if k != "from"}, RejectReason.MISSING_FIELD),
    ],
)
def test_malformed_tokentx_rows_are_rejected(item: Any, reason: RejectReason) -> None:
    batch = parse_token_transfers([item], TX_QUERY)
    assert batch.items == ()
    assert [r.reason for r in batch.rejected] == [reason]


def test_block_parsing() -> None:
    header = parse_block(block(0x10, 1_700_000_000))
    assert header is not None
    assert header.number == 16
    assert header.timestamp == datetime.fromtimestamp(1_700_000_000, UTC)
    assert parse_block(None) is None
    with pytest.raises(ParseError) as caught:
        parse_block({**block(1), "hash": "0x00"})
    assert caught.value.reason is RejectReason.BAD_BLOCK_HASH


def test_scalar_quantities() -> None:
    assert hex_quantity("0x") == 0
    assert hex_quantity("0xc36b29") == 0xC36B29
    assert decimal_quantity("21265524714464") == 21265524714464
    for bad in ("12", "0x" + "f" * 65, None, 5):
        with pytest.raises(ParseError):
            hex_quantity(bad)
    for bad in ("0x10", "", " 1", "1e5"):
        with pytest.raises(ParseError):
            decimal_quantity(bad)
