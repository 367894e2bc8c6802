from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.config import Config
from app.domain import Transfer
from app.errors import StoreError
from app.store import pool as pool_module
from app.store import transfers

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def make_transfers(count: int, chain_id: int = 137, seed: int = 7) -> list[Transfer]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        block = 1000 + i // 3  # several transfers per block, as real chains have
        rows.append(
            Transfer(
                chain_id=chain_id,
                block_time=BASE + timedelta(seconds=2 * block),
                block_number=block,
                block_hash="0x" + f"{block:064x}",
                tx_hash="0x" + rng.randbytes(32).hex(),
                log_index=i % 3,
                from_address="0x" + rng.randbytes(20).hex(),
                to_address="0x" + rng.randbytes(20).hex(),
                value=Decimal(rng.randrange(10**30)),
                tx_index=i % 3,
            )
        )
    return rows


async def test_copy_is_idempotent(conn: pool_module.Connection) -> None:
    batch = make_transfers(250)
    async with conn.transaction():
        assert await transfers.copy_transfers(conn, batch, "etherscan") == 250
    async with conn.transaction():
        assert await transfers.copy_transfers(conn, batch[100:] + batch[:10], "etherscan") == 0
    async with conn.transaction():
        extra = make_transfers(5, seed=99)
        # In-batch duplicates count once.
        assert await transfers.copy_transfers(conn, extra + extra, "rpc") == 5
    summary = await transfers.count_by_chain(conn)
    assert [(row["chain_id"], row["transfers"]) for row in summary] == [(137, 255)]


async def test_values_round_trip_exactly(conn: pool_module.Connection) -> None:
    big = make_transfers(1)[0]
    async with conn.transaction():
        await transfers.copy_transfers(conn, [big], "etherscan")
    [stored] = await transfers.list_recent(conn, 137, 10)
    assert stored == big


async def test_max_uint256_value_is_stored_exactly(conn: pool_module.Connection) -> None:
    maximal = Transfer(**{**_fields(make_transfers(1)[0]), "value": Decimal(2**256 - 1)})
    async with conn.transaction():
        await transfers.copy_transfers(conn, [maximal], "etherscan")
    [stored] = await transfers.list_recent(conn, 137, 1)
    assert stored.value == Decimal(2**256 - 1)


async def test_bad_row_rolls_back_the_whole_batch(conn: pool_module.Connection) -> None:
    good = make_transfers(3)
    bad = Transfer(**{**_fields(good[0]), "tx_hash": "0x1234", "log_index": 9})
    with pytest.raises(StoreError, match="23514"):  # check_violation
        async with conn.transaction():
            await transfers.copy_transfers(conn, [*good, bad], "etherscan")
    assert await transfers.count_by_chain(conn) == []


@pytest.fixture
async def session(config: Config) -> AsyncIterator[pool_module.Connection]:
    """A connection of its own: a pooled one comes back from the pool's check inside a
    transaction, where ``conn.transaction()`` is a savepoint and never commits."""
    connection = await pool_module.connect(config.settings)
    async with connection:
        yield connection


async def test_batches_of_one_transaction_share_the_staging_table(
    session: pool_module.Connection,
) -> None:
    conn = session
    first, second = make_transfers(40, seed=1), make_transfers(30, seed=2)
    async with conn.transaction():
        assert await transfers.copy_transfers(conn, first, "etherscan") == 40
        # The first batch's staged rows must not be counted (or inserted) again.
        assert await transfers.copy_transfers(conn, second + first[:5], "etherscan") == 30
    async with conn.transaction():
        cur = await conn.execute("select count(*) as n from transfers_staging")
        assert await cur.fetchone() == {"n": 0}  # kept for the session, emptied at commit
        assert await transfers.copy_transfers(conn, make_transfers(7, seed=3), "rpc") == 7
    summary = await transfers.count_by_chain(conn)
    assert [(row["chain_id"], row["transfers"]) for row in summary] == [(137, 77)]


async def test_a_rolled_back_batch_leaves_nothing_staged(
    session: pool_module.Connection,
) -> None:
    conn = session

    async def load_then_fail() -> None:
        async with conn.transaction():
            await transfers.copy_transfers(conn, make_transfers(20, seed=4), "rpc")
            raise RuntimeError("the coverage write failed")

    with pytest.raises(RuntimeError):
        await load_then_fail()
    async with conn.transaction():
        assert await transfers.copy_transfers(conn, make_transfers(3, seed=5), "rpc") == 3
    summary = await transfers.count_by_chain(conn)
    assert [(row["chain_id"], row["transfers"]) for row in summary] == [(137, 3)]


async def test_an_autocommit_connection_needs_a_transaction(config: Config) -> None:
    conn = await pool_module.connect(config.settings, autocommit=True)
    async with conn:
        # Each statement would commit alone, and the commit empties the staging table.
        with pytest.raises(ValueError, match="inside a transaction"):
            await transfers.copy_transfers(conn, make_transfers(2), "rpc")
        async with conn.transaction():
            assert await transfers.copy_transfers(conn, make_transfers(2), "rpc") == 2


async def test_the_identity_index_serves_tx_hash_lookups(
    conn: pool_module.Connection, mode: str
) -> None:
    cur = await conn.execute(
        "select i.indisunique as is_unique, array_agg(a.attname::text order by k.n) as columns"
        " from pg_index i"
        " cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, n)"
        " join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum"
        " where i.indrelid = 'transfers'::regclass"
        " group by i.indexrelid, i.indisunique"
    )
    indexes = await cur.fetchall()
    identity = ["tx_hash", "chain_id", "log_index"]
    if mode == "timescale":
        identity.append("block_time")  # a hypertable's unique index holds its time column
    assert [row["columns"] for row in indexes if row["is_unique"]] == [identity]
    # Migration 0005: no index beside it leads with tx_hash, nor is block_time alone.
    assert [row for row in indexes if row["columns"][0] == "tx_hash"] == [
        {"is_unique": True, "columns": identity}
    ]
    assert ["block_time"] not in [row["columns"] for row in indexes]


async def test_keyset_pages_cover_every_row_once(conn: pool_module.Connection) -> None:
    batch = make_transfers(97)
    async with conn.transaction():
        await transfers.copy_transfers(conn, batch, "etherscan")
    seen: list[tuple[str, int]] = []
    before = None
    while True:
        page = await transfers.list_recent(conn, 137, 10, before)
        if not page:
            break
        seen += [(t.tx_hash, t.log_index) for t in page]
        last = page[-1]
        before = (last.block_time, last.block_number, last.log_index)
    assert len(seen) == len(set(seen)) == 97
    expected = sorted(batch, key=lambda t: (t.block_time, t.block_number, t.log_index))
    assert seen == [(t.tx_hash, t.log_index) for t in reversed(expected)]


async def test_transfers_storage_follows_the_mode(conn: pool_module.Connection, mode: str) -> None:
    cur = await conn.execute(
        "select exists (select from pg_extension where extname = 'timescaledb') as ext"
    )
    row = await cur.fetchone()
    assert row is not None
    if mode == "portable":
        assert not row["ext"]
        return
    cur = await conn.execute(
        "select count(*) as n from timescaledb_information.hypertables"
        " where hypertable_name = 'transfers'"
    )
    found = await cur.fetchone()
    assert found is not None
    assert found["n"] == 1


def _fields(transfer: Transfer) -> dict[str, object]:
    return {name: getattr(transfer, name) for name in Transfer.__dataclass_fields__}
