"""Per-key pacing inside one process: a priority gate, the ledger slot, an aiolimiter floor.

For each key, callers queue at a :class:`PriorityGate`; only the holder reserves a slot from
the ledger and sleeps until it starts. Holding the gate across reserve-and-sleep is the point:
it keeps at most one outstanding reservation per key per process, so a tip-sync call that
arrives while backfill calls are queued takes the very next slot instead of queueing behind
slots the backfill calls had already booked in the shared ledger.

The aiolimiter bucket comes after the slot: it keeps this process's calls of a key an interval
apart by when they actually leave. Slots are spaced from each other, not from the moment a call
left, so a call that woke up late (a busy event loop) would otherwise be followed too closely
by the next, on-time one: the pacing margin would then be spent on our own lateness instead of
the network's. A late call delays the next one instead. The gate already keeps the ledger to
one reservation per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from app.upstreams._budget import ApiKey, BudgetLedger, Priority, Reservation


class PriorityGate:
    """A mutex whose waiters are served by priority, then arrival order."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, fut in self._waiters if not fut.done())

    @contextlib.asynccontextmanager
    async def hold(self, priority: Priority) -> AsyncIterator[None]:
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: Priority) -> None:
        if not self._held and not self.waiting:
            self._held = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Ownership was handed to us just as we were cancelled: pass it on.
                self._release()
            raise

    def _release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # hand over: the gate stays held
                return
        self._held = False


@dataclass(slots=True)
class _KeyPace:
    gate: PriorityGate
    bucket: AsyncLimiter | None


class Limiter:
    """Waits for a key's next slot: priority gate, then the ledger, then the local floor."""

    def __init__(
        self,
        ledger: BudgetLedger,
        *,
        smoothing: bool = True,
        max_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.ledger = ledger
        self.max_wait = max_wait
        self._smoothing = smoothing
        self._sleep = sleep
        self._paces: dict[str, _KeyPace] = {}

    async def acquire(self, key: ApiKey, priority: Priority) -> Reservation:
        """Return once ``key`` may be used, or at once with a reservation that is unusable:
        ``quota_exhausted``, or a wait beyond ``max_wait`` (see :meth:`usable`)."""
        pace = self._pace(key)
        async with pace.gate.hold(priority):
            reservation = await self.ledger.reserve(key)
            if not self.usable(reservation):
                return reservation
            if reservation.wait_seconds > 0:
                await self._sleep(reservation.wait_seconds)
            if pace.bucket is not None:
                await pace.bucket.acquire()
        return reservation

    def usable(self, reservation: Reservation) -> bool:
        # A long wait means another process backed the key off (rate limit, quota): sleeping
        # on it would hold this key's gate for minutes; the caller tries another key instead.
        return not reservation.quota_exhausted and reservation.wait_seconds <= self.max_wait

    def waiting(self, key: ApiKey) -> int:
        pace = self._paces.get(key.key_id)
        return pace.gate.waiting if pace else 0

    def _pace(self, key: ApiKey) -> _KeyPace:
        pace = self._paces.get(key.key_id)
        if pace is None:
            # aiolimiter cannot express "no limit" (time_period 0 divides by zero).
            bucket = (
                AsyncLimiter(1, key.interval_seconds)
                if self._smoothing and key.interval_seconds > 0
                else None
            )
            pace = self._paces[key.key_id] = _KeyPace(PriorityGate(), bucket)
        return pace
