"""Transfers for the analytics tests, relative to now, and the figures computed from them in
plain Python: the reference every aggregate is compared with."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from app.domain import Transfer

ZERO = "0x" + "00" * 20
ADDRESSES = [f"0x{index:040x}" for index in range(1, 9)]  # few: addresses recur across days
CHAINS = (1, 56, 137)
HUGE = 2**256 - 1  # sums of two overflow numeric(78, 0)
PRECISION = 400  # digits: sums of squares of uint256 values, exactly


def day_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rows(
    days: int,
    *,
    now: datetime,
    per_day: int = 6,
    seed: int = 11,
    chains: Sequence[int] = CHAINS,
    skip: float = 0.25,
) -> list[Transfer]:
    """About ``per_day`` transfers per chain on most of the last ``days`` days (today
    included, never after ``now``), with mints, burns, self-transfers and uint256 maxima."""
    rng = random.Random(seed)
    out: list[Transfer] = []
    today = day_of(now)
    for chain_id in chains:
        block = 1_000
        for back in range(days - 1, -1, -1):
            if back and rng.random() < skip:
                continue  # days without transfers
            day = today - timedelta(days=back)
            limit = (now - day).total_seconds() if back == 0 else 86_399.0
            times = sorted(rng.uniform(0, max(limit - 1, 0)) for _ in range(per_day))
            for seconds in times:
                block += 1
                out.append(_transfer(rng, chain_id, block, day + timedelta(seconds=seconds)))
    return out


def _transfer(rng: random.Random, chain_id: int, block: int, when: datetime) -> Transfer:
    kind = rng.random()
    sender, receiver = rng.choice(ADDRESSES), rng.choice(ADDRESSES)
    if kind < 0.1:
        sender = ZERO  # a mint
    elif kind < 0.15:
        receiver = ZERO  # a burn
    elif kind < 0.2:
        receiver = sender
    value = HUGE if rng.random() < 0.05 else rng.randrange(10**24)
    return Transfer(
        chain_id=chain_id,
        block_time=when,
        block_number=block,
        block_hash="0x" + f"{chain_id:08x}{block:056x}",
        tx_hash="0x" + rng.randbytes(32).hex(),
        log_index=0,
        from_address=sender,
        to_address=receiver,
        value=Decimal(value),
        tx_index=0,
    )


@dataclass
class Bucket:
    """The reference figures of one bucket (or window) over some transfers."""

    values: list[Decimal] = field(default_factory=list)
    senders: set[str] = field(default_factory=set)
    receivers: set[str] = field(default_factory=set)
    mints: list[Decimal] = field(default_factory=list)
    burns: list[Decimal] = field(default_factory=list)

    def add(self, t: Transfer) -> None:
        self.values.append(t.value)
        self.senders.add(t.from_address)
        self.receivers.add(t.to_address)
        if t.from_address == ZERO:
            self.mints.append(t.value)
        if t.to_address == ZERO:
            self.burns.append(t.value)

    def sums(self) -> dict[str, object]:
        with localcontext() as exact:
            exact.prec = PRECISION
            return self._sums()

    def _sums(self) -> dict[str, object]:
        return {
            "transfers": len(self.values),
            "volume": sum(self.values, Decimal(0)),
            "volume_squares": sum((v * v for v in self.values), Decimal(0)),
            "largest": max(self.values) if self.values else None,
            "mints": len(self.mints),
            "minted": sum(self.mints, Decimal(0)),
            "burns": len(self.burns),
            "burned": sum(self.burns, Decimal(0)),
        }

    def uniques(self) -> dict[str, object]:
        return {
            "senders": len(self.senders),
            "receivers": len(self.receivers),
            "active_addresses": len(self.senders | self.receivers),
        }

    def median(self) -> Decimal:
        with localcontext() as exact:
            exact.prec = PRECISION
            return self._median()

    def _median(self) -> Decimal:
        ordered = sorted(self.values)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2


Key = Callable[[Transfer], tuple[object, ...] | datetime]


def buckets(transfers: Iterable[Transfer], key: Key) -> dict[Any, Bucket]:
    found: dict[Any, Bucket] = defaultdict(Bucket)
    for t in transfers:
        found[key(t)].add(t)
    return dict(found)


def window(
    transfers: Iterable[Transfer],
    start: datetime | None,
    end: datetime | None,
    chain_id: int | None = None,
) -> Bucket:
    found = Bucket()
    for t in transfers:
        if chain_id is not None and t.chain_id != chain_id:
            continue
        if (start is None or t.block_time >= start) and (end is None or t.block_time < end):
            found.add(t)
    return found


def top_addresses(
    transfers: Iterable[Transfer], chain_id: int | None = None
) -> list[tuple[str, int, int, Decimal, Decimal]]:
    """(address, sent, received, sent volume, received volume) in the store's order."""
    sent: Counter[str] = Counter()
    received: Counter[str] = Counter()
    sent_volume: dict[str, Decimal] = defaultdict(Decimal)
    received_volume: dict[str, Decimal] = defaultdict(Decimal)
    with localcontext() as exact:
        exact.prec = PRECISION
        for t in transfers:
            if chain_id is None or t.chain_id == chain_id:
                sent[t.from_address] += 1
                sent_volume[t.from_address] += t.value
                received[t.to_address] += 1
                received_volume[t.to_address] += t.value
    table = [
        (a, sent[a], received[a], sent_volume[a], received_volume[a])
        for a in set(sent) | set(received)
    ]
    with localcontext() as exact:
        exact.prec = PRECISION
        table.sort(key=lambda r: (-(r[1] + r[2]), -(r[3] + r[4]), r[0]))
    return table
