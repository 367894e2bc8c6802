"""The transfers API's pure parts: cursors, input checks, legacy parameters, HTTP validators,
statement composition (values only ever as parameters)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from psycopg import sql

from app.errors import InvalidInput
from app.ops import cursors, lookups
from app.ops import transfer_inputs as inputs
from app.ops.lookups import SearchKind
from app.ops.transfer_connection import build_filter
from app.rest import http_cache, transfer_params
from app.store import transfer_sql
from app.store.transfer_sql import Key, Order, PageRequest, TransferFilter
from tests.conftest import TEST_ENV, make_config

CONFIG = make_config(**TEST_ENV)
KEY: Key = (
    datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
    137,
    80_000_000,
    7,
    "0x" + "ab" * 32,
)
F = TransferFilter(chain_id=137, address="0x" + "11" * 20)


def test_cursor_round_trip_is_exact() -> None:
    cursor = cursors.encode(KEY, Order.NEWEST_FIRST, F)
    assert cursors.decode(cursor, Order.NEWEST_FIRST, F, "after") == KEY
    assert len(cursor) < 100
    assert "=" not in cursor


@pytest.mark.parametrize("position", range(0, 67, 3))
def test_any_altered_byte_is_refused(position: int) -> None:
    raw = bytearray(base64.urlsafe_b64decode(cursors.encode(KEY, Order.NEWEST_FIRST, F) + "=="))
    raw[position] ^= 0x01
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(inputs.InvalidCursor) as caught:
        cursors.decode(forged, Order.NEWEST_FIRST, F, "after")
    assert (caught.value.code, caught.value.field, caught.value.status) == (
        "invalid_cursor",
        "after",
        400,
    )


@pytest.mark.parametrize(
    "cursor", ["", "x", "%%%%", "é" * 10, "A" * 500, base64.urlsafe_b64encode(b"\0" * 67).decode()]
)
def test_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(inputs.InvalidCursor):
        cursors.decode(cursor, Order.NEWEST_FIRST, F, "before")


def test_a_cursor_only_continues_its_own_query() -> None:
    cursor = cursors.encode(KEY, Order.NEWEST_FIRST, F)
    with pytest.raises(inputs.InvalidCursor, match="another query"):
        cursors.decode(cursor, Order.OLDEST_FIRST, F, "after")
    with pytest.raises(inputs.InvalidCursor, match="another query"):
        cursors.decode(cursor, Order.NEWEST_FIRST, TransferFilter(chain_id=137), "after")


def test_build_filter_normalises_and_checks() -> None:
    found = build_filter(
        CONFIG,
        chain_id=137,
        address="0x" + "AB" * 20,
        since=datetime(2026, 1, 1),  # noqa: DTZ001 - a naive time is taken as UTC
        until=datetime(2026, 1, 2, 3, tzinfo=timezone(timedelta(hours=3))),
        min_value=0,
        max_value=2**256 - 1,
    )
    assert found.address == "0x" + "ab" * 20
    assert found.since == datetime(2026, 1, 1, tzinfo=UTC)
    assert found.until == datetime(2026, 1, 2, tzinfo=UTC)


def test_sizes_are_clamped_not_refused() -> None:
    assert inputs.size(None, default=25, maximum=1000, field="first") == 25
    assert inputs.size(0, default=25, maximum=1000, field="first") == 0
    assert inputs.size(10**9, default=25, maximum=1000, field="first") == 1000
    with pytest.raises(inputs.InvalidPageSize):
        inputs.size(-1, default=25, maximum=1000, field="first")


def test_every_refusal_is_an_invalid_input_with_a_code_and_field() -> None:
    for cls in (
        inputs.InvalidAddress, inputs.InvalidTxHash, inputs.InvalidChain, inputs.InvalidBlockRange,
        inputs.InvalidTimeRange, inputs.InvalidValueRange, inputs.InvalidCursor, inputs.InvalidPage,
        inputs.InvalidPageSize, inputs.InvalidSort, inputs.InvalidQuery,
    ):  # fmt: skip
        error = cls("x", field="f")
        assert isinstance(error, InvalidInput)
        assert (error.status, error.field) == (400, "f")
        assert error.code.startswith("invalid_")
        assert cls.__doc__


def test_legacy_parameters_defaults() -> None:
    query = transfer_params.parse(CONFIG, {})
    assert query == transfer_params.TransfersQuery(
        TransferFilter(), Order.NEWEST_FIRST, 1, 25, True, None
    )
    assert transfer_params.parse(CONFIG, {"includeTotals": "FALSE"}).include_totals is False
    assert transfer_params.parse(CONFIG, {"includeTotals": "0"}).include_totals is True
    block = transfer_params.parse(CONFIG, {"block": "12", "startBlock": "1", "endBlock": "99"})
    assert (block.filter.from_block, block.filter.to_block) == (12, 12)
    assert transfer_params.parse(CONFIG, {"page": "3", "pageSize": "10"}).offset == 20


@pytest.mark.parametrize(
    ("header", "hit"),
    [
        (None, False),
        ('"a"', True),
        ('W/"a"', True),
        ('"b", "a"', True),
        ("*", True),
        ('"b"', False),
        ("a", False),
    ],
)
def test_if_none_match(header: str | None, hit: bool) -> None:
    assert http_cache.matches(header, '"a"') is hit


def test_etag_is_strong_and_follows_the_body() -> None:
    assert http_cache.etag_of(b"x") == http_cache.etag_of(b"x") != http_cache.etag_of(b"y")
    assert http_cache.etag_of(b"x").startswith('"')


@pytest.mark.parametrize(
    ("text", "kind", "normalised"),
    [
        ("0x" + "AB" * 20, SearchKind.ADDRESS, "0x" + "ab" * 20),
        (" 0x" + "CD" * 32 + " ", SearchKind.TRANSACTION, "0x" + "cd" * 32),
        ("007", SearchKind.BLOCK, "7"),
    ],
)
def test_search_detection(text: str, kind: SearchKind, normalised: str) -> None:
    assert lookups.detect(text) == (kind, normalised)


def test_statements_carry_values_as_parameters_only() -> None:
    evil = "0x" + "ab" * 32
    f = TransferFilter(
        tx_hash=evil, address="0x" + "cd" * 20, min_value=5, from_block=1, to_block=2
    )
    request = PageRequest(f, Order.NEWEST_FIRST, 10, after=KEY)
    for statement, params in (transfer_sql.page(request), transfer_sql.count(f)):
        text = statement.as_string(None) if hasattr(statement, "as_string") else str(statement)
        assert isinstance(statement, sql.Composed)
        assert "ab" * 32 not in text
        assert "cd" * 20 not in text
        assert bytes.fromhex("ab" * 32) in params.values() or "tx_hash" not in params
