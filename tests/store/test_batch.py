"""Reads in one round trip (app.store.batch): results in order, parsed when the batch ends, in
the caller's transaction and snapshot; a failing statement raises at the end and leaves the
transaction aborted; a read known to be empty sends nothing."""

from __future__ import annotations

import pytest
from psycopg import errors, pq

from app.store import pool as pool_module
from app.store.batch import Read, Rows, batch, fetch


def numbers(rows: Rows) -> list[int]:
    return [int(r["n"]) for r in rows]


async def test_reads_resolve_in_order_when_the_batch_ends(pool: pool_module.Pool) -> None:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("create temporary table seen (n int) on commit drop")
        async with batch(conn) as b:
            await b.command("set local statement_timeout = '5s'")
            write = await b.add(Read("insert into seen values (1), (2) returning n", None, numbers))
            read = await b.add(Read("select n from seen order by n", None, numbers))
            param = await b.add(Read("select %(x)s::int as n", {"x": 7}, numbers))
            with pytest.raises(RuntimeError):
                _ = read.value  # nothing is known before the batch ends
        assert (write.value, read.value, param.value) == ([1, 2], [1, 2], [7])
        cur = await conn.execute("select current_setting('statement_timeout') as t")
        assert (await cur.fetchone()) == {"t": "5s"}
        assert conn.info.transaction_status is pq.TransactionStatus.INTRANS


async def test_a_failed_statement_raises_at_the_end_and_aborts(pool: pool_module.Pool) -> None:
    added: list[str] = []

    async def failing(conn: pool_module.Connection) -> None:
        async with conn.transaction(), batch(conn) as b:
            await b.add(Read("select 1 / 0 as n", None, numbers))
            added.append("failing")
            await b.add(Read("select 1 as n", None, numbers))
            added.append("next")

    async with pool.connection() as conn:
        with pytest.raises(errors.DivisionByZero):
            await failing(conn)
        assert added == ["failing", "next"]  # sent without waiting: the error comes at the end
        assert conn.info.transaction_status is pq.TransactionStatus.IDLE  # rolled back
        assert await fetch(conn, Read("select 3 as n", None, numbers)) == [3]


async def test_a_read_of_nothing_sends_nothing(pool: pool_module.Pool) -> None:
    """Proved in an aborted transaction, where any statement sent would fail."""
    async with pool.connection() as conn, conn.transaction(force_rollback=True):
        with pytest.raises(errors.DivisionByZero):
            await conn.execute("select 1 / 0")
        async with batch(conn) as b:
            empty = await b.add(Read.nothing(len))
        assert empty.value == 0
        assert await fetch(conn, Read.nothing(numbers)) == []
        with pytest.raises(errors.InFailedSqlTransaction):
            await fetch(conn, Read("select 1 as n", None, numbers))
