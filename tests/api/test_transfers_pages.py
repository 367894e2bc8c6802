"""The store side of the transfers API: every filter and order against a Python reference,
exact counts, cursors that neither skip nor repeat while rows arrive, the legacy page probe."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from app.config import Config
from app.store import addresses, transfer_pages
from app.store import pool as pool_module
from app.store import transfers as store_transfers
from app.store.transfer_sql import Key, Order, PageRequest, TransferFilter
from tests.api import transfer_data
from tests.api.transfer_data import BASE, HOLDERS, dataset, expected, key, transfer

ROWS = dataset()
SELF = next(row for row in ROWS if row.from_address == row.to_address)
TX = next(row for row in ROWS if row.log_index == 2).tx_hash  # a transaction with 3 logs
POLYGON = [row for row in ROWS if row.chain_id == 137]
MID = POLYGON[len(POLYGON) // 2]

FILTERS = {
    "all": TransferFilter(),
    "chain": TransferFilter(chain_id=137),
    "address": TransferFilter(address=HOLDERS[2]),
    "address+chain": TransferFilter(address=HOLDERS[2], chain_id=56),
    "self address": TransferFilter(address=SELF.from_address),
    "from": TransferFilter(from_address=HOLDERS[3]),
    "to": TransferFilter(to_address=HOLDERS[4]),
    "from+to": TransferFilter(from_address=HOLDERS[3], to_address=HOLDERS[4]),
    "from+address": TransferFilter(from_address=HOLDERS[3], address=HOLDERS[4]),
    "tx": TransferFilter(tx_hash=TX),
    "tx+chain elsewhere": TransferFilter(tx_hash=TX, chain_id=25),
    "blocks, one chain": TransferFilter(
        chain_id=137, from_block=MID.block_number - 200, to_block=MID.block_number + 200
    ),
    "from block only": TransferFilter(chain_id=137, from_block=MID.block_number),
    "to block only": TransferFilter(chain_id=137, to_block=MID.block_number),
    "blocks, all chains": TransferFilter(from_block=56_400_100, to_block=74_919_400),
    "one block, all chains": TransferFilter(from_block=MID.block_number, to_block=MID.block_number),
    "blocks past the data": TransferFilter(chain_id=137, from_block=90_000_000),
    "since/until": TransferFilter(since=MID.block_time, until=MID.block_time + timedelta(hours=1)),
    "values": TransferFilter(min_value=10**23, max_value=5 * 10**23),
    "max uint256": TransferFilter(min_value=2**256 - 1),
    "address+chain+blocks+time": TransferFilter(
        address=HOLDERS[1],
        chain_id=137,
        from_block=MID.block_number - 500,
        to_block=MID.block_number + 500,
        since=MID.block_time - timedelta(minutes=20),
    ),
    "address+blocks+values": TransferFilter(
        address=HOLDERS[0], from_block=56_400_000, to_block=80_000_000, max_value=9 * 10**23
    ),
}


@pytest.fixture
async def stored(conn: pool_module.Connection, config: Config) -> pool_module.Connection:
    await transfer_data.store(conn, config, ROWS)
    return conn


async def walk(
    conn: pool_module.Connection, f: TransferFilter, order: Order, size: int
) -> list[transfer_pages.StoredTransfer]:
    """Every page after the previous page's last key, until a page comes back short."""
    seen: list[transfer_pages.StoredTransfer] = []
    after: Key | None = None
    while True:
        page = await transfer_pages.list_page(conn, PageRequest(f, order, size, after=after))
        seen += page
        if len(page) < size:
            return seen
        after = page[-1].key


def keys(rows: list[transfer_pages.StoredTransfer]) -> list[Key]:
    return [row.key for row in rows]


def test_the_data_exercises_every_filter() -> None:
    for name, f in FILTERS.items():
        if name not in {"tx+chain elsewhere", "blocks past the data"}:
            assert expected(ROWS, f, Order.NEWEST_FIRST), f"{name} selects nothing"


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("order", list(Order))
async def test_every_filter_and_order_matches_the_reference(
    stored: pool_module.Connection, name: str, order: Order
) -> None:
    f = FILTERS[name]
    want = [key(row) for row in expected(ROWS, f, order)]
    assert keys(await walk(stored, f, order, 7)) == want
    assert await transfer_pages.count(stored, f) == len(want)


async def test_rows_come_back_whole(stored: pool_module.Connection) -> None:
    page = await transfer_pages.list_page(
        stored, PageRequest(TransferFilter(tx_hash=TX), Order.OLDEST_FIRST, 10)
    )
    by_key = {key(row): row for row in ROWS}
    for row in page:
        source = by_key[row.key]
        assert (row.from_address, row.to_address, row.value) == (
            source.from_address,
            source.to_address,
            int(source.value),
        )
        assert row.block_hash == source.block_hash
        assert row.tx_index == source.tx_index
        assert row.nonce is None  # not given by this source: never made up


@pytest.mark.parametrize("order", list(Order))
async def test_before_walks_back_and_both_bounds_cut_a_window(
    stored: pool_module.Connection, order: Order
) -> None:
    f = TransferFilter(chain_id=137)
    full = [key(row) for row in expected(ROWS, f, order)]
    lo, hi = full[5], full[25]
    window = await transfer_pages.list_page(stored, PageRequest(f, order, 100, after=lo, before=hi))
    assert keys(window) == full[6:25]
    last = await transfer_pages.list_page(stored, PageRequest(f, order, 100, before=hi))
    assert keys(last) == full[:25]


async def test_paging_while_rows_arrive_skips_and_repeats_nothing(
    stored: pool_module.Connection, config: Config
) -> None:
    """Rows inserted between pages, before, inside and beyond the part already read, never
    make a page skip or repeat a row that was there when paging started."""
    rng = random.Random(11)
    original = {key(row) for row in ROWS}
    seen: list[Key] = []
    after: Key | None = None
    ahead: set[Key] = set()  # inserted past the cursor: must be seen
    behind: set[Key] = set()  # inserted before it: must not be
    for round_ in range(1000):
        page = await transfer_pages.list_page(
            stored, PageRequest(TransferFilter(), Order.NEWEST_FIRST, 9, after=after)
        )
        seen += keys(page)
        if len(page) < 9:
            break
        after = page[-1].key
        # Three new rows: newer than everything, at the cursor's time, older than everything.
        chain_id = rng.choice([1, 56, 137])
        fresh = [
            transfer(chain_id, 90_000_000 + round_, 0, seconds=10**8 + round_),
            transfer(after[1], after[2], 500 + round_, seconds=(after[0] - BASE).total_seconds()),
            transfer(chain_id, 1 + round_, 0, seconds=-(10**6) - round_),
        ]
        for row in fresh:
            (ahead if key(row) < after else behind).add(key(row))
        async with stored.transaction():
            await store_transfers.copy_transfers(stored, fresh, "rpc")
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert original <= set(seen), "a row that was there from the start was skipped"
    assert ahead <= set(seen)
    assert not behind & set(seen)
    assert ahead
    assert behind


async def test_rows_sharing_a_key_are_ordered_by_tx_hash(
    conn: pool_module.Connection, config: Config
) -> None:
    """Inconsistent data (two logs at one block and log index) still pages exactly."""
    twins = [transfer(137, 74_919_200, 0, tx=f"0x{n:064x}") for n in range(1, 6)]
    await transfer_data.store(conn, config, twins)
    f = TransferFilter(chain_id=137)
    for order in Order:
        got = await walk(conn, f, order, 1)
        assert [row.tx_hash for row in got] == [row.tx_hash for row in expected(twins, f, order)]


@pytest.mark.parametrize("offset", [0, 1, 17, 239, 240, 500])
async def test_legacy_page_probe_finds_the_key_at_an_offset(
    stored: pool_module.Connection, offset: int
) -> None:
    for f in (TransferFilter(), TransferFilter(address=HOLDERS[1])):
        want = expected(ROWS, f, Order.NEWEST_FIRST)
        found = await transfer_pages.find_key_at(
            stored, PageRequest(f, Order.NEWEST_FIRST, 1, offset=offset)
        )
        assert found == (key(want[offset]) if offset < len(want) else None)


async def test_rows_by_identity_in_one_statement(stored: pool_module.Connection) -> None:
    wanted = [(row.chain_id, row.tx_hash, row.log_index) for row in ROWS[:5]]
    missing = (137, "0x" + "ab" * 32, 0)
    found = await transfer_pages.find_transfers(stored, [*wanted, missing])
    assert set(found) == set(wanted)
    assert await transfer_pages.find_transfers(stored, []) == {}


async def test_block_range_rows_oldest_first(stored: pool_module.Connection) -> None:
    lo, hi = MID.block_number - 100, MID.block_number + 100
    got = await transfer_pages.list_block_range(stored, 137, lo, hi, 1000)
    want = [row for row in ROWS if row.chain_id == 137 and lo <= row.block_number <= hi]
    assert keys(got) == sorted(key(row) for row in want)
    assert len(await transfer_pages.list_block_range(stored, 137, lo, hi, 2)) == min(2, len(want))


async def test_chain_count(stored: pool_module.Connection) -> None:
    assert await transfer_pages.count_chain(stored, 137) == len(POLYGON)
    assert await transfer_pages.count_chain(stored, 25) == 0


async def test_address_activity_nets_self_transfers(stored: pool_module.Connection) -> None:
    holder = SELF.from_address
    found = {item.chain_id: item for item in await addresses.list_activity(stored, holder)}
    for chain_id in {row.chain_id for row in ROWS}:
        mine = [
            row
            for row in ROWS
            if row.chain_id == chain_id and holder in (row.from_address, row.to_address)
        ]
        if not mine:
            assert chain_id not in found
            continue
        item = found[chain_id]
        received = sum(int(r.value) for r in mine if r.to_address == holder)
        sent = sum(int(r.value) for r in mine if r.from_address == holder)
        assert (item.received, item.sent, item.balance) == (received, sent, received - sent)
        assert item.transfers == len(mine)
        assert item.first_time == min(r.block_time for r in mine)
    assert await addresses.list_activity(stored, "0x" + "99" * 20) == []


async def test_block_activity_per_chain(stored: pool_module.Connection) -> None:
    block = MID.block_number
    want = {
        chain_id: n
        for chain_id in CHAIN_IDS
        if (n := sum(1 for r in ROWS if r.chain_id == chain_id and r.block_number == block))
    }
    assert await addresses.list_block_activity(stored, block) == want
    assert await addresses.list_block_activity(stored, block, 1) == {}


CHAIN_IDS = sorted(transfer_data.CHAINS)
