"""The coverage ledger: merged, disjoint ranges per chain and exact gaps (both schema modes)."""

from __future__ import annotations

import random

import pytest

from app.config import Config
from app.errors import StoreError
from app.store import chains, coverage
from app.store.pool import Connection

CHAIN = 137
OTHER = 1


@pytest.fixture
async def ledger(conn: Connection, config: Config) -> Connection:
    """The connection, with the configured chains in place (coverage references them)."""
    async with conn.transaction():
        await chains.upsert_chains(conn, config.chains)
    return conn


async def _add(conn: Connection, *ranges: tuple[int, int], chain_id: int = CHAIN) -> None:
    async with conn.transaction():
        for lo, hi in ranges:
            await coverage.add_range(conn, chain_id, lo, hi)


async def test_add_range_returns_the_merged_range(ledger: Connection) -> None:
    async with ledger.transaction():
        assert await coverage.add_range(ledger, CHAIN, 10, 20) == (10, 20)
        assert await coverage.add_range(ledger, CHAIN, 15, 30) == (10, 30)
    assert await coverage.list_ranges(ledger, CHAIN) == [(10, 30)]


async def test_single_block_range(ledger: Connection) -> None:
    await _add(ledger, (7, 7))
    assert await coverage.list_ranges(ledger, CHAIN) == [(7, 7)]


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        pytest.param([(10, 20), (15, 25)], [(10, 25)], id="overlapping"),
        pytest.param([(10, 20), (21, 30)], [(10, 30)], id="adjacent-after"),
        pytest.param([(21, 30), (10, 20)], [(10, 30)], id="adjacent-before"),
        pytest.param([(10, 20), (12, 18)], [(10, 20)], id="contained"),
        pytest.param([(12, 18), (10, 20)], [(10, 20)], id="containing"),
        pytest.param([(10, 20), (10, 20)], [(10, 20)], id="same-twice"),
        pytest.param([(10, 20), (22, 30)], [(10, 20), (22, 30)], id="one-block-apart"),
        pytest.param([(40, 50), (10, 20), (60, 70)], [(10, 20), (40, 50), (60, 70)], id="disjoint"),
        pytest.param([(10, 20), (30, 40), (50, 60), (15, 55)], [(10, 60)], id="bridges-three"),
        pytest.param([(10, 20), (30, 40), (21, 29)], [(10, 40)], id="fills-the-gap"),
    ],
)
async def test_ranges_are_merged(
    ledger: Connection, ranges: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    await _add(ledger, *ranges)
    assert await coverage.list_ranges(ledger, CHAIN) == expected


async def test_chains_are_independent(ledger: Connection) -> None:
    await _add(ledger, (10, 20))
    await _add(ledger, (21, 30), chain_id=OTHER)
    assert await coverage.list_ranges(ledger, CHAIN) == [(10, 20)]
    assert await coverage.list_ranges(ledger, OTHER) == [(21, 30)]


async def test_reversed_range_raises_store_error(ledger: Connection) -> None:
    with pytest.raises(StoreError, match="empty range"):
        async with ledger.transaction():
            await coverage.add_range(ledger, CHAIN, 20, 10)
    assert await coverage.list_ranges(ledger, CHAIN) == []


async def test_unknown_chain_raises_store_error(ledger: Connection) -> None:
    with pytest.raises(StoreError):
        async with ledger.transaction():
            await coverage.add_range(ledger, 999_999, 1, 2)


async def test_nothing_is_kept_when_the_transaction_rolls_back(ledger: Connection) -> None:
    class Abort(Exception):
        pass

    async def add_then_fail() -> None:
        async with ledger.transaction():
            await coverage.add_range(ledger, CHAIN, 1, 5)
            raise Abort

    with pytest.raises(Abort):
        await add_then_fail()
    assert await coverage.list_ranges(ledger, CHAIN) == []


@pytest.mark.parametrize(
    ("ranges", "first_block", "head", "gaps"),
    [
        pytest.param([], 100, 200, [(100, 200)], id="no-coverage"),
        pytest.param([], 100, 100, [(100, 100)], id="no-coverage-one-block"),
        pytest.param([], 100, 99, [], id="head-before-first-block"),
        pytest.param([(100, 200)], 100, 200, [], id="full"),
        pytest.param([(50, 250)], 100, 200, [], id="full-and-beyond"),
        pytest.param([(50, 150)], 100, 200, [(151, 200)], id="starts-before-first-block"),
        pytest.param([(10, 20)], 100, 200, [(100, 200)], id="entirely-before-first-block"),
        pytest.param([(10, 99)], 100, 200, [(100, 200)], id="ends-just-before-first-block"),
        pytest.param([(100, 150)], 100, 200, [(151, 200)], id="prefix"),
        pytest.param([(150, 200)], 100, 200, [(100, 149)], id="suffix"),
        pytest.param([(120, 130)], 100, 200, [(100, 119), (131, 200)], id="middle"),
        pytest.param(
            [(110, 120), (130, 140), (160, 200)],
            100,
            200,
            [(100, 109), (121, 129), (141, 159)],
            id="several",
        ),
        pytest.param([(150, 300)], 100, 200, [(100, 149)], id="crosses-head"),
        pytest.param([(300, 400)], 100, 200, [(100, 200)], id="entirely-after-head"),
        pytest.param([(120, 130), (300, 400)], 100, 200, [(100, 119), (131, 200)], id="mixed"),
        pytest.param([(200, 200)], 100, 200, [(100, 199)], id="only-the-head"),
        pytest.param([(100, 100)], 100, 200, [(101, 200)], id="only-the-first-block"),
    ],
)
async def test_list_gaps_is_exact(
    ledger: Connection,
    ranges: list[tuple[int, int]],
    first_block: int,
    head: int,
    gaps: list[tuple[int, int]],
) -> None:
    await _add(ledger, *ranges)
    assert await coverage.list_gaps(ledger, CHAIN, first_block, head) == gaps


async def test_gaps_ignore_other_chains(ledger: Connection) -> None:
    await _add(ledger, (100, 200), chain_id=OTHER)
    assert await coverage.list_gaps(ledger, CHAIN, 100, 200) == [(100, 200)]


def _runs(blocks: set[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive numbers, as inclusive ranges."""
    runs: list[tuple[int, int]] = []
    for block in sorted(blocks):
        if runs and runs[-1][1] == block - 1:
            runs[-1] = (runs[-1][0], block)
        else:
            runs.append((block, block))
    return runs


async def test_ledger_matches_a_model_of_block_sets(ledger: Connection) -> None:
    rng = random.Random(20261129)
    covered: set[int] = set()
    for _ in range(40):
        lo = rng.randrange(0, 300)
        hi = lo + rng.randrange(0, 12)
        await _add(ledger, (lo, hi))
        covered |= set(range(lo, hi + 1))
        assert await coverage.list_ranges(ledger, CHAIN) == _runs(covered)
        first_block, head = sorted(rng.sample(range(0, 320), 2))
        expected = _runs(set(range(first_block, head + 1)) - covered)
        assert await coverage.list_gaps(ledger, CHAIN, first_block, head) == expected
