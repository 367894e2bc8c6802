"""Pacing: the in-memory ledger's rules, calls spaced >= interval per key under concurrency
(real clock), priority ordering at the per-key gate, and cancellation safety."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from app.upstreams import ApiKey, InMemoryLedger, Limiter, Priority, PriorityGate, Reservation
from tests.upstreams.helpers import START, FakeClock

KEY = ApiKey("etherscan", "etherscan#1", "limiter-test-key", interval_seconds=1.0)


async def test_in_memory_ledger_spaces_slots_and_counts_the_day() -> None:
    clock = FakeClock()
    ledger = InMemoryLedger(clock)
    key = ApiKey("etherscan", "etherscan#1", "quota-key-1", interval_seconds=2, daily_quota=3)
    waits = [(await ledger.reserve(key)).wait_seconds for _ in range(3)]
    assert waits == [0, 2, 4]
    refused = await ledger.reserve(key)
    assert refused == Reservation(86_400, quota_exhausted=True)  # START is a UTC midnight
    clock.now = START + 86_400 + 1  # the next UTC day
    assert await ledger.reserve(key) == Reservation(0)


async def test_in_memory_ledger_back_off_pushes_the_next_slot() -> None:
    clock = FakeClock()
    ledger = InMemoryLedger(clock)
    await ledger.reserve(KEY)
    await ledger.rate_limited(KEY, 30)
    assert (await ledger.reserve(KEY)).wait_seconds == 30


async def test_concurrent_calls_on_one_key_are_spaced_by_the_interval() -> None:
    interval = 0.05
    key = ApiKey("etherscan", "etherscan#1", "spacing-key-1", interval_seconds=interval)
    other = ApiKey("etherscan", "etherscan#2", "spacing-key-2", interval_seconds=interval)
    limiter = Limiter(InMemoryLedger())
    starts: dict[str, list[float]] = {key.key_id: [], other.key_id: []}

    async def call(api_key: ApiKey) -> None:
        await limiter.acquire(api_key, Priority.BACKFILL)
        starts[api_key.key_id].append(time.monotonic())

    began = time.monotonic()
    await asyncio.gather(*(call(k) for k in [key, other] * 6))
    for times in starts.values():
        assert len(times) == 6
        gaps = [b - a for a, b in itertools.pairwise(sorted(times))]
        assert min(gaps) >= interval * 0.9  # timer granularity, never a burst
    # Keys are paced independently: both finish in ~5 intervals, not 11.
    assert time.monotonic() - began < interval * 9


async def test_a_call_that_leaves_late_delays_the_next_one() -> None:
    interval, late = 0.1, 0.06
    key = ApiKey("etherscan", "etherscan#1", "late-key-1", interval_seconds=interval)
    ledger = InMemoryLedger()
    await ledger.reserve(key)  # another process holds the key's current slot
    sleeps: list[float] = []

    async def oversleep(seconds: float) -> None:
        # The first call wakes up late, as on an event loop busy with other work.
        sleeps.append(seconds)
        await asyncio.sleep(seconds + (late if len(sleeps) == 1 else 0))

    limiter = Limiter(ledger, sleep=oversleep)
    starts = []
    for _ in range(2):
        await limiter.acquire(key, Priority.BACKFILL)
        starts.append(time.monotonic())
    assert sleeps[0] > interval / 2  # it did wait for its slot (and overslept)
    # The second call's slot is one interval after the first one's slot, but the first left
    # late: the second waits an interval from when the first left, not from its slot.
    assert starts[1] - starts[0] >= interval * 0.95


class HeldLedger(InMemoryLedger):
    """Reservations wait until released: lets a test queue callers behind the gate."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.open = asyncio.Event()

    async def reserve(self, key: ApiKey) -> Reservation:
        await self.open.wait()
        return await super().reserve(key)


async def test_tip_sync_gets_the_next_slot_before_queued_backfill() -> None:
    clock = FakeClock()
    ledger = HeldLedger(clock)
    limiter = Limiter(ledger, smoothing=False, sleep=clock.sleep)
    order: list[str] = []

    async def call(name: str, priority: Priority) -> None:
        await limiter.acquire(KEY, priority)
        order.append(name)

    callers = [
        ("backfill-0", Priority.BACKFILL),  # arrives first: holds the gate, reserving
        ("backfill-1", Priority.BACKFILL),
        ("backfill-2", Priority.BACKFILL),
        ("holders", Priority.HOLDERS),
        ("reconcile", Priority.RECONCILIATION),
        ("tip", Priority.TIP),
    ]
    tasks = []
    for name, priority in callers:
        tasks.append(asyncio.create_task(call(name, priority)))
        await asyncio.sleep(0)
    assert limiter.waiting(KEY) == 5
    ledger.open.set()
    await asyncio.gather(*tasks)
    assert order == ["backfill-0", "tip", "reconcile", "backfill-1", "backfill-2", "holders"]
    assert clock.sleeps == [1, 1, 1, 1, 1]  # each waited one interval for its own slot


async def test_priority_gate_survives_cancelled_waiters() -> None:
    gate = PriorityGate()
    entered: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.hold(Priority.BACKFILL):
            await release.wait()

    async def waiter(name: str, priority: Priority) -> None:
        async with gate.hold(priority):
            entered.append(name)

    owner = asyncio.create_task(holder())
    await asyncio.sleep(0)
    doomed = asyncio.create_task(waiter("doomed", Priority.TIP))
    patient = asyncio.create_task(waiter("patient", Priority.HOLDERS))
    await asyncio.sleep(0)
    assert gate.waiting == 2
    doomed.cancel()
    release.set()
    await asyncio.gather(owner, patient)
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert entered == ["patient"]
    async with gate.hold(Priority.TIP):  # free again
        pass


async def test_quota_refusal_takes_no_slot_and_does_not_sleep() -> None:
    clock = FakeClock()
    key = ApiKey("etherscan", "etherscan#1", "quota-key-2", interval_seconds=5, daily_quota=1)
    limiter = Limiter(InMemoryLedger(clock), smoothing=False, sleep=clock.sleep)
    assert not (await limiter.acquire(key, Priority.TIP)).quota_exhausted
    assert (await limiter.acquire(key, Priority.TIP)).quota_exhausted
    assert clock.sleeps == []
