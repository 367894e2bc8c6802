"""Transfers for the analytics tests, spread over the last 120 UTC days up to today, and a
reference computation of every figure straight from those raw rows (plain Python), to compare
the API's answers with."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

from app.config import Config
from app.domain import Transfer
from app.store import analytics as store_analytics
from app.store import pool as pool_module
from tests.api import transfer_data

CHAINS = transfer_data.CHAINS  # 1, 56, 137: chain id -> first block
ADDRESSES = [f"0x{index:040x}" for index in range(1, 25)]
SPAN_DAYS = 120
RANGE_DAYS = {"7d": 7, "30d": 30, "90d": 90}


def today() -> date:
    return datetime.now(UTC).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def dataset(seed: int = 11, days: int = SPAN_DAYS, empty_days: int = 4) -> list[Transfer]:
    """0-12 transfers a day on random chains over ``days`` days ending today (a few days
    without any), a handful of addresses busier than others, self-transfers, a whale day,
    amounts up to 10^27 raw units and equal amounts (ties in the largest transfers)."""
    rng = random.Random(seed)
    end = today()
    quiet = {rng.randrange(1, days) for _ in range(empty_days)}
    blocks = dict(CHAINS)
    rows: list[Transfer] = []
    busy = ADDRESSES[:4]
    for back in range(days - 1, -1, -1):
        if back in quiet:
            continue
        day = end - timedelta(days=back)
        count = rng.randint(0, 12) + (40 if back == 20 else 0)  # a spike 20 days ago
        for n in range(count):
            chain_id = rng.choice(list(CHAINS))
            blocks[chain_id] += rng.randint(1, 5)
            sender = rng.choice(busy if rng.random() < 0.4 else ADDRESSES)
            receiver = sender if rng.random() < 0.05 else rng.choice(ADDRESSES)
            value = rng.choice([10**18, 5 * 10**20, rng.randrange(10**27)])
            seconds = 60 * n + rng.randint(0, 59) if back == 0 else rng.randint(0, 86_399)
            rows.append(
                Transfer(
                    chain_id=chain_id,
                    block_time=midnight(day) + timedelta(seconds=seconds),
                    block_number=blocks[chain_id],
                    block_hash="0x" + rng.randbytes(32).hex(),
                    tx_hash="0x" + rng.randbytes(32).hex(),
                    log_index=rng.randint(0, 3),
                    from_address=sender,
                    to_address=receiver,
                    value=Decimal(value),
                    tx_index=0,
                )
            )
    return rows


def one_day(day: date, count: int) -> list[Transfer]:
    """``count`` transfers on ``day`` (before now when it is today), on chain 137."""
    first = CHAINS[137]
    return [
        Transfer(
            chain_id=137,
            block_time=midnight(day) + timedelta(seconds=n),
            block_number=first + n,
            block_hash="0x" + f"{first + n:064x}",
            tx_hash="0x" + f"{n + 1:064x}",
            log_index=0,
            from_address=ADDRESSES[n % 3],
            to_address=ADDRESSES[n % 5],
            value=Decimal((n + 1) * 10**18),
            tx_index=0,
        )
        for n in range(count)
    ]


@dataclass(frozen=True)
class Day:
    count: int
    volume: int
    senders: int
    receivers: int
    active: int
    largest: int
    median: Fraction  # raw units: the middle amount, or the mean of the two middle ones


@dataclass(frozen=True)
class Expected:
    """Every figure of a window, computed from the raw rows."""

    days: dict[date, Day]  # days with transfers
    transfers: int
    volume: int
    senders: int
    receivers: int
    active: int
    previous: tuple[int, int, int] | None  # transfers, volume, active of the previous period
    chains: dict[int, tuple[int, int, int]]  # chain: transfers, volume, active
    top_addresses: list[tuple[str, int, int, int, int]]  # address, sent, received, volumes
    whales: list[Transfer]


def _select(
    rows: Sequence[Transfer], chain_id: int | None, start: datetime | None, end: datetime
) -> list[Transfer]:
    return [
        r
        for r in rows
        if (chain_id is None or r.chain_id == chain_id)
        and (start is None or r.block_time >= start)
        and r.block_time < end
    ]


Period = tuple[datetime, datetime]


def window(
    range_name: str, first: date | None = None, last: date | None = None
) -> tuple[datetime | None, datetime, Period | None]:
    """[start, end) and the previous period's, as the docs define them."""
    end_day = today() + timedelta(days=1)
    if range_name == "all":
        return None, midnight(end_day), None
    if range_name == "custom":
        assert first is not None
        assert last is not None
        start_day, end_day = first, last + timedelta(days=1)
    else:
        start_day = end_day - timedelta(days=RANGE_DAYS[range_name])
    length = end_day - start_day
    previous = (midnight(start_day - length), midnight(start_day))
    return midnight(start_day), midnight(end_day), previous


def expected(
    rows: Sequence[Transfer],
    range_name: str,
    chain_id: int | None = None,
    first: date | None = None,
    last: date | None = None,
) -> Expected:
    start, end, previous = window(range_name, first, last)
    sel = _select(rows, chain_id, start, end)
    by_day: dict[date, list[Transfer]] = defaultdict(list)
    for r in sel:
        by_day[r.block_time.astimezone(UTC).date()].append(r)
    prev = None
    if previous is not None:
        before = _select(rows, chain_id, *previous)
        prev = (len(before), _volume(before), len(_active(before)))
    by_chain: dict[int, list[Transfer]] = defaultdict(list)
    for r in sel:
        by_chain[r.chain_id].append(r)
    return Expected(
        days={day: _day(items) for day, items in by_day.items()},
        transfers=len(sel),
        volume=_volume(sel),
        senders=len({r.from_address for r in sel}),
        receivers=len({r.to_address for r in sel}),
        active=len(_active(sel)),
        previous=prev,
        chains={c: (len(x), _volume(x), len(_active(x))) for c, x in by_chain.items()},
        top_addresses=_top_addresses(sel),
        whales=sorted(
            sel,
            key=lambda r: (-r.value, -r.block_time.timestamp(), r.chain_id, r.tx_hash, r.log_index),
        )[:15],
    )


def _volume(rows: Sequence[Transfer]) -> int:
    return sum(int(r.value) for r in rows)


def _active(rows: Sequence[Transfer]) -> set[str]:
    return {r.from_address for r in rows} | {r.to_address for r in rows}


def _day(items: Sequence[Transfer]) -> Day:
    return Day(
        count=len(items),
        volume=_volume(items),
        senders=len({r.from_address for r in items}),
        receivers=len({r.to_address for r in items}),
        active=len(_active(items)),
        largest=max(int(r.value) for r in items),
        median=_median(sorted(int(r.value) for r in items)),
    )


def _median(values: Sequence[int]) -> Fraction:
    middle = len(values) // 2
    if len(values) % 2:
        return Fraction(values[middle])
    return Fraction(values[middle - 1] + values[middle], 2)


def _top_addresses(rows: Sequence[Transfer]) -> list[tuple[str, int, int, int, int]]:
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        stats[r.from_address][0] += 1
        stats[r.from_address][2] += int(r.value)
        stats[r.to_address][1] += 1
        stats[r.to_address][3] += int(r.value)

    def rank(item: tuple[str, list[int]]) -> tuple[int, int, str]:
        sent, received, sent_volume, received_volume = item[1]
        return -(sent + received), -(sent_volume + received_volume), item[0]

    ranked = sorted(stats.items(), key=rank)[:15]
    return [(address, s, r, sv, rv) for address, (s, r, sv, rv) in ranked]


def load(config: Config, rows: Sequence[Transfer]) -> None:
    """Store ``rows`` (with coverage) and bring the analytics aggregates up to date."""
    transfer_data.load(config, rows)
    refresh(config)


async def store(conn: pool_module.Connection, config: Config, rows: Sequence[Transfer]) -> None:
    """``load`` from a test already running in an event loop (no coverage)."""
    await transfer_data.store(conn, config, rows)
    await _refresh(config)


def refresh(config: Config) -> None:
    asyncio.run(_refresh(config))


async def _refresh(config: Config) -> None:
    """What the analytics_refresh job does (both modes: the per-day tables; timescale mode:
    the continuous aggregates too), over every day the tests write."""
    conn = await pool_module.connect(config.settings, autocommit=True)
    async with conn:
        start = midnight(today() - timedelta(days=2 * SPAN_DAYS))
        await store_analytics.refresh(conn, start, midnight(today() + timedelta(days=1)))
