"""The composed statements of transfer pages and counts (app.store.transfer_sql): pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from psycopg import sql

from app.store import transfer_sql
from app.store.transfer_sql import Order, PageRequest, TransferFilter

HOLDER = "0x" + "ab" * 20
KEY = (datetime(2025, 6, 1, tzinfo=UTC), 137, 70_000_000, 3, "0x" + "cd" * 32)


def text(statement: sql.Composable) -> str:
    # Composed of SQL, identifiers, placeholders and integer literals only: no connection
    # is needed to render it.
    return statement.as_string(None)


@pytest.mark.parametrize(
    "request_",
    [
        PageRequest(TransferFilter(), Order.NEWEST_FIRST, 26),
        PageRequest(TransferFilter(chain_id=137), Order.OLDEST_FIRST, 26, after=KEY),
        PageRequest(TransferFilter(address=HOLDER), Order.NEWEST_FIRST, 26),
        PageRequest(TransferFilter(from_block=5, to_block=9), Order.NEWEST_FIRST, 26),
        PageRequest(TransferFilter(chain_id=137), Order.NEWEST_FIRST, 1, offset=240),
    ],
)
def test_limits_are_literals_so_generic_plans_know_the_page_size(request_: PageRequest) -> None:
    statement, params = transfer_sql.page(request_)
    rendered = text(statement)
    assert f"limit {request_.limit} offset {request_.offset}" in rendered
    assert not {"limit", "inner_limit", "offset"} & set(params)
    if request_.filter.address is not None:  # each side of the address walk stops early too
        assert rendered.count(f"limit {request_.limit + request_.offset})") == 2


def test_an_address_alone_is_counted_from_balances() -> None:
    statement, params = transfer_sql.count(TransferFilter(address=HOLDER))
    assert "from balances" in text(statement)
    assert "any(array(select chain_id from chains))" in text(statement)
    assert params == {"address": bytes.fromhex("ab" * 20)}
    statement, params = transfer_sql.count(TransferFilter(address=HOLDER, chain_id=56))
    assert "from balances" in text(statement)
    assert params["chain_id"] == 56


@pytest.mark.parametrize(
    "f",
    [
        TransferFilter(address=HOLDER, from_block=5),
        TransferFilter(address=HOLDER, since=KEY[0]),
        TransferFilter(address=HOLDER, min_value=1),
        TransferFilter(address=HOLDER, from_address=HOLDER),
        TransferFilter(from_address=HOLDER),
        TransferFilter(chain_id=137),
    ],
)
def test_other_filters_count_the_rows(f: TransferFilter) -> None:
    statement, _ = transfer_sql.count(f)
    assert "balances" not in text(statement)
