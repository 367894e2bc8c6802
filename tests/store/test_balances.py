"""The balances table: kept exact by copy_transfers (both paths) and by reorg rewinds, and
its reads (summaries, holder pages, address balances). Both schema modes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.domain import Transfer
from app.store import balances, coverage, reorgs, transfers
from app.store import pool as pool_module
from app.store.balances import HolderFilter
from tests.store.test_transfers import make_transfers

ZERO = "0x" + "00" * 20
BASE = datetime(2026, 1, 1, tzinfo=UTC)
CHAIN = 137


def addr(n: int) -> str:
    return "0x" + f"{n:040x}"


def transfer(i: int, sender: str, receiver: str, value: int, block: int | None = None) -> Transfer:
    block = 100 + i if block is None else block
    return Transfer(
        chain_id=CHAIN,
        block_time=BASE + timedelta(seconds=2 * block),
        block_number=block,
        block_hash="0x" + f"{block:064x}",
        tx_hash="0x" + f"{i + 1:064x}",
        log_index=0,
        from_address=sender,
        to_address=receiver,
        value=Decimal(value),
    )


def expected(rows: list[Transfer]) -> dict[tuple[int, str], tuple[int, int, int]]:
    """{(chain, address): (received, sent, transfers)} computed the slow way."""
    received: Counter[tuple[int, str]] = Counter()
    sent: Counter[tuple[int, str]] = Counter()
    count: Counter[tuple[int, str]] = Counter()
    for t in rows:
        received[(t.chain_id, t.to_address)] += int(t.value)
        sent[(t.chain_id, t.from_address)] += int(t.value)
        count[(t.chain_id, t.to_address)] += 1
        if t.from_address != t.to_address:
            count[(t.chain_id, t.from_address)] += 1
    keys = set(received) | set(sent)
    return {key: (received[key], sent[key], count[key]) for key in keys}


async def stored(conn: pool_module.Connection) -> dict[tuple[int, str], tuple[int, int, int]]:
    cur = await conn.execute("select * from balances")
    found: dict[tuple[int, str], tuple[int, int, int]] = {}
    for row in await cur.fetchall():
        assert int(row["balance"]) == int(row["received"]) - int(row["sent"])
        key = (row["chain_id"], "0x" + bytes(row["address"]).hex())
        found[key] = (int(row["received"]), int(row["sent"]), int(row["transfers"]))
    return found


async def load(conn: pool_module.Connection, rows: list[Transfer]) -> int:
    async with conn.transaction():
        return await transfers.copy_transfers(conn, rows, "etherscan")


def ledger() -> list[Transfer]:
    """A mint of 1000 to 1, then 1 pays 2 and 3, 3 pays itself, 2 burns some."""
    return [
        transfer(0, ZERO, addr(1), 1000),
        transfer(1, addr(1), addr(2), 300),
        transfer(2, addr(1), addr(3), 200),
        transfer(3, addr(3), addr(3), 50),
        transfer(4, addr(2), ZERO, 100),
    ]


async def test_direct_copy_adds_the_batch(conn: pool_module.Connection) -> None:
    rows = make_transfers(300) + ledger()
    assert await load(conn, rows) == len(rows)
    assert await stored(conn) == expected(rows)


async def test_reloads_and_partly_duplicate_batches_count_once(
    conn: pool_module.Connection,
) -> None:
    rows = make_transfers(200)
    assert await load(conn, rows[:120]) == 120
    assert await load(conn, rows[:120]) == 0  # the whole batch again: the fallback path
    assert await load(conn, rows[80:]) == 80  # 40 seen, 80 new
    assert await load(conn, rows[190:] + rows[190:]) == 0  # duplicates within a batch too
    assert await stored(conn) == expected(rows)


async def test_a_batch_with_duplicates_inside_inserts_them_once(
    conn: pool_module.Connection,
) -> None:
    rows = ledger()
    assert await load(conn, rows + rows[:2]) == len(rows)
    assert await stored(conn) == expected(rows)


async def test_a_rolled_back_batch_moves_no_balance(conn: pool_module.Connection) -> None:
    await load(conn, ledger()[:2])
    before = await stored(conn)
    try:
        async with conn.transaction():
            await transfers.copy_transfers(conn, ledger()[2:], "etherscan")
            raise RuntimeError("the caller fails after the batch")
    except RuntimeError:
        pass
    assert await stored(conn) == before


async def test_large_values_sum_exactly(conn: pool_module.Connection) -> None:
    big = 2**255
    rows = [transfer(0, ZERO, addr(1), big), transfer(1, ZERO, addr(1), big - 1)]
    await load(conn, rows)
    assert (await stored(conn))[(CHAIN, addr(1))] == (2 * big - 1, 0, 2)


async def test_totals_beyond_78_digits_are_kept(conn: pool_module.Connection) -> None:
    """Twelve uint256-max transfers add up past numeric(78, 0): the batch must still load
    (a refused batch would stop the chain's ingestion at every retry)."""
    top = 2**256 - 1
    rows = [transfer(i, ZERO if i % 2 == 0 else addr(1), addr(1), top) for i in range(12)]
    await load(conn, rows)
    await load(conn, [*rows, transfer(12, addr(1), addr(2), top)])  # the fallback path too
    found = await stored(conn)
    assert found[(CHAIN, addr(1))] == (12 * top, 7 * top, 13)  # six were self-transfers
    assert found[(CHAIN, ZERO)] == (0, 6 * top, 6)
    await _chains(conn)
    summary = {s.chain_id: s for s in await balances.summaries(conn)}[CHAIN]
    assert summary.supply == 6 * top
    async with conn.transaction():
        await reorgs.delete_above(conn, CHAIN, 105)
    assert (await stored(conn))[(CHAIN, addr(1))] == (6 * top, 3 * top, 6)


async def test_a_rewind_subtracts_the_deleted_rows(conn: pool_module.Connection) -> None:
    rows = ledger()  # blocks 100..104
    await load(conn, rows)
    async with conn.transaction():
        deleted = await reorgs.delete_above(conn, CHAIN, 101)
    assert deleted == 3
    kept = expected(rows[:2])
    assert await stored(conn) == kept  # addr(3) had transfers above the fork only: gone
    replacement = [transfer(10, addr(2), addr(4), 5, block=102)]
    async with conn.transaction():
        await reorgs.delete_above(conn, CHAIN, 101)
        await transfers.copy_transfers(conn, replacement, "rpc")
    assert await stored(conn) == expected(rows[:2] + replacement)


async def test_summaries(conn: pool_module.Connection) -> None:
    await _chains(conn)
    await load(conn, ledger())
    found = {s.chain_id: s for s in await balances.summaries(conn)}
    polygon = found[CHAIN]
    # 1 keeps 500, 2 received 300 and burnt 100, 3 keeps 200 (its self-transfer nets 0).
    assert (polygon.holders, polygon.supply, polygon.addresses) == (3, 900, 3)
    assert (polygon.covered_from, polygon.covered_to, polygon.gaps) == (None, None, 0)
    assert not polygon.complete
    assert (found[1].holders, found[1].supply) == (0, 0)

    first = await _first_block(conn, CHAIN)
    async with conn.transaction():
        await coverage.add_range(conn, CHAIN, first + 10, first + 20)
        await coverage.add_range(conn, CHAIN, first + 30, first + 40)
    polygon = {s.chain_id: s for s in await balances.summaries(conn)}[CHAIN]
    assert (polygon.covered_from, polygon.covered_to, polygon.gaps) == (first + 10, first + 40, 2)
    assert not polygon.complete
    async with conn.transaction():
        await coverage.add_range(conn, CHAIN, first, first + 29)
    polygon = {s.chain_id: s for s in await balances.summaries(conn)}[CHAIN]
    assert (polygon.covered_from, polygon.covered_to, polygon.gaps) == (first, first + 40, 0)
    assert polygon.complete


async def test_holder_pages_follow_the_order(conn: pool_module.Connection) -> None:
    await _chains(conn)
    rows = [transfer(i, ZERO, addr(1 + i % 7), 10 + (i % 3)) for i in range(40)]
    await load(conn, rows)
    want = sorted(
        ((r - s, a) for (_, a), (r, s, _) in expected(rows).items() if a != ZERO and r > s),
        key=lambda item: (-item[0], item[1]),
    )
    seen: list[tuple[int, str]] = []
    after = None
    while True:
        page = await balances.list_holders(conn, HolderFilter(chain_id=CHAIN), 3, after=after)
        if not page:
            break
        seen += [(h.balance, h.address) for h in page]
        after = page[-1].key
    assert seen == want
    offset = await balances.list_holders(conn, HolderFilter(chain_id=CHAIN), 2, offset=3)
    assert [(h.balance, h.address) for h in offset] == want[3:5]
    assert await balances.count_holders(conn, HolderFilter(chain_id=CHAIN)) == len(want)


async def test_holder_search_and_all_chains(conn: pool_module.Connection) -> None:
    await _chains(conn)
    rows = [*ledger(), *_on_chain(1, ledger())]
    await load(conn, rows)
    every = await balances.list_holders(conn, HolderFilter(), 100)
    assert [(h.balance, h.address, h.chain_id) for h in every] == [
        (500, addr(1), 1),
        (500, addr(1), CHAIN),
        (200, addr(2), 1),
        (200, addr(2), CHAIN),
        (200, addr(3), 1),
        (200, addr(3), CHAIN),
    ]
    pages: list[Any] = []
    after = None
    for _ in range(10):
        page = await balances.list_holders(conn, HolderFilter(), 4, after=after)
        pages += page
        if len(page) < 4:
            break
        after = page[-1].key
    assert pages == every
    exact = HolderFilter(chain_id=CHAIN, prefix=addr(3)[2:])
    assert [h.address for h in await balances.list_holders(conn, exact, 10)] == [addr(3)]
    prefix = HolderFilter(prefix="0" * 39)
    assert await balances.count_holders(conn, prefix) == 6
    contains = HolderFilter(chain_id=1, contains="2")
    assert [h.address for h in await balances.list_holders(conn, contains, 10)] == [addr(2)]
    assert await balances.count_holders(conn, HolderFilter(prefix="f")) == 0


async def test_address_balances_per_chain(conn: pool_module.Connection) -> None:
    await _chains(conn)
    await load(conn, [*ledger(), *_on_chain(1, ledger()[:2])])
    found = await balances.list_address_balances(conn, addr(1))
    assert [(b.chain_id, b.balance, b.received, b.sent, b.transfers) for b in found] == [
        (1, 700, 1000, 300, 2),
        (CHAIN, 500, 1000, 500, 3),
    ]
    assert found[1].first_time == BASE + timedelta(seconds=200)
    assert found[1].last_time == BASE + timedelta(seconds=204)
    assert await balances.list_address_balances(conn, addr(99)) == []


def _on_chain(chain_id: int, rows: list[Transfer]) -> list[Transfer]:
    fields = ("block_time", "block_number", "block_hash", "tx_hash", "log_index")
    return [
        Transfer(
            chain_id=chain_id,
            **{name: getattr(t, name) for name in fields},
            from_address=t.from_address,
            to_address=t.to_address,
            value=t.value,
        )
        for t in rows
    ]


async def _chains(conn: pool_module.Connection) -> None:
    from app.store import chains
    from tests.conftest import make_config

    async with conn.transaction():
        await chains.upsert_chains(conn, make_config().chains)


async def _first_block(conn: pool_module.Connection, chain_id: int) -> int:
    cur = await conn.execute("select first_block from chains where chain_id = %s", (chain_id,))
    row = await cur.fetchone()
    assert row is not None
    return int(row["first_block"])


async def test_a_writer_and_a_rewind_of_one_chain_wait_for_each_other(
    pool: pool_module.Pool,
) -> None:
    """A batch holds the chain's lock from its balance update to its commit; a rewind of the
    same chain waits for it (and the other way round), never deadlocks, and the result is
    exact whichever goes first."""
    rows = ledger()
    async with pool.connection() as conn:
        await load(conn, rows[:3])
    more = [transfer(20 + i, addr(1), addr(5 + i), 1, block=110 + i) for i in range(3)]
    async with pool.connection() as writer, pool.connection() as rewinder:
        async with writer.transaction():
            await transfers.copy_transfers(writer, more, "rpc")  # holds the lock now

            async def rewind() -> int:
                async with rewinder.transaction():
                    return await reorgs.delete_above(rewinder, CHAIN, 100)

            waiting = asyncio.create_task(rewind())
            await asyncio.sleep(0.3)
            assert not waiting.done()  # blocked on the writer's lock, not deadlocked
        assert await asyncio.wait_for(waiting, 10) == 2 + len(more)
    async with pool.connection() as conn:
        assert await stored(conn) == expected(rows[:1])
