"""The API process's ear on the worker: LISTEN tokenpulse_transfers -> queue -> refresher.

Two tasks, started and stopped by the app's lifespan:

- the **listener** holds a dedicated autocommit connection (never a pooled one: LISTEN is
  per session) and puts every committed batch the worker announces on a bounded queue. When
  the connection fails it reconnects with capped exponential back-off; after a reconnect it
  queues a *resync* (``None``), since whatever was announced meanwhile was missed.
- the **refresher** takes what is queued, coalesces it into the set of chains concerned, and
  has the cache registry invalidate and refresh them (app.ops.cache); then it hands the
  batch's events to the batch hooks (the GraphQL subscription feed, app.ops.transfer_feed),
  saying whether events may have been missed. A *section* event (the worker's analytics
  refresh changed some chains' aggregates: app.store.analytics.refresh) drops those chains'
  entries (and the all-chains ones) of that cache section and of its rendered REST answers
  (``rest_`` + its name), and nothing else.

A full queue drops the event but remembers it overflowed, and the next refresh covers every
chain: the cache can miss nothing by being slow. The queue depth is a health field
(``notifications.queueDepth``) and a Prometheus gauge (``tokenpulse_notify_queue_depth``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.config import Settings
from app.errors import TokenpulseError
from app.ops.cache import CacheRegistry
from app.ops.problems import ProblemLog
from app.store import notify
from app.store import pool as store_pool

log = logging.getLogger(__name__)
QUEUE_SIZE = 1000
RETRY_SECONDS = (0.5, 30.0)  # first and longest wait between reconnection attempts
KEEPALIVE_SECONDS = 30.0  # a quiet listening session is checked this often
Item = notify.Event | None  # None: resync every chain
BatchHook = Callable[[list[notify.BatchEvent], bool], Awaitable[None]]  # (events, maybe missed)


class TransferListener:
    def __init__(
        self,
        settings: Settings,
        cache: CacheRegistry,
        *,
        dsn: str | None = None,
        queue_size: int = QUEUE_SIZE,
        retry: tuple[float, float] = RETRY_SECONDS,
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.dsn = dsn
        self.retry = retry
        self.keepalive = keepalive
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=queue_size)
        self.connected = False
        self.received = 0
        self.dropped = 0
        self.reconnects = 0
        self.refreshes = 0
        self.last_event_at: float | None = None
        self._overflowed = False
        self._problems = ProblemLog(log, "notification listener connected again")
        self._tasks: list[asyncio.Task[None]] = []
        self.batch_hooks: list[BatchHook] = []

    def on_batch(self, hook: BatchHook) -> None:
        self.batch_hooks.append(hook)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name="notify-listener"),
            asyncio.create_task(self._refresh_forever(), name="cache-refresher"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def depth(self) -> int:
        return self.queue.qsize()

    def stats(self) -> dict[str, Any]:
        last = self.last_event_at
        return {
            "connected": self.connected,
            "queueDepth": self.depth,
            "queueMax": self.queue.maxsize,
            "received": self.received,
            "dropped": self.dropped,
            "reconnects": self.reconnects,
            "refreshes": self.refreshes,
            "lastEventAt": None if last is None else _iso(last),
        }

    def enqueue(self, item: Item) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            self._overflowed = True

    async def _listen_forever(self) -> None:
        delay, first = self.retry[0], True
        while True:
            try:
                conn = await store_pool.connect(self.settings, dsn=self.dsn, autocommit=True)
            except TokenpulseError as exc:
                self._problems.report("notification listener cannot connect", exc)
            else:
                try:
                    await notify.listen(conn)
                    self._connected(resync=not first)
                    first, delay = False, self.retry[0]
                    async for event in notify.events(conn, keepalive=self.keepalive):
                        self.received += 1
                        self.last_event_at = time.time()
                        self.enqueue(event)
                except TokenpulseError as exc:
                    self._problems.report("notification listener lost its connection", exc)
                finally:
                    self.connected = False
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)
            delay = min(2 * delay, self.retry[1])

    def _connected(self, *, resync: bool) -> None:
        self.connected = True
        if resync:  # events announced while we were away are lost: refresh everything
            self.reconnects += 1
            self.enqueue(None)
        self._problems.report(None)

    async def _refresh_forever(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._refresh(batch)
            except Exception:  # the refresher must outlive any one refresh
                log.exception("cache refresh failed")
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _refresh(self, batch: list[Item]) -> None:
        everything = self._overflowed or any(item is None for item in batch)
        self._overflowed = False
        events = [item for item in batch if isinstance(item, notify.BatchEvent)]
        chains = sorted({item.chain_id for item in events})
        for chain_id in [None] if everything else chains:
            await self.cache.invalidate(chain_id)
            self.refreshes += 1
        # A section event (the analytics refresh) drops that section's entries of its chains
        # (and the all-chains ones), and the REST answers rendered from them ("rest_" + name).
        sections = [item for item in batch if isinstance(item, notify.SectionEvent)]
        for item in [] if everything else sections:
            for name in (item.section, f"rest_{item.section}"):
                if section := self.cache.sections.get(name):
                    for chain_id in item.chains:
                        section.invalidate(chain_id)
        for hook in self.batch_hooks:
            try:
                await hook(events, everything)
            except Exception:  # a broken hook must not stop the refresher
                log.exception("batch hook failed")


class ListenerCollector(Collector):
    """Queue depth and listener counters, read at scrape time."""

    def __init__(self, listener: TransferListener) -> None:
        self.listener = listener

    def collect(self) -> Iterator[Metric]:
        item = self.listener
        for name, text, value in (
            ("notify_queue_depth", "Batch notifications waiting for the refresher", item.depth),
            ("notify_listener_connected", "1 while the LISTEN session is up", item.connected),
        ):
            gauge = GaugeMetricFamily(f"tokenpulse_{name}", text)
            gauge.add_metric([], float(value))
            yield gauge
        for name, text, count in (
            ("notify_events", "Batch notifications received", item.received),
            ("notify_dropped", "Notifications dropped on a full queue", item.dropped),
            ("notify_reconnects", "Times the LISTEN session was re-established", item.reconnects),
            ("cache_refreshes", "Cache invalidations run by the refresher", item.refreshes),
        ):
            counter = CounterMetricFamily(f"tokenpulse_{name}", text)
            counter.add_metric([], count)
            yield counter


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
