from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

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
