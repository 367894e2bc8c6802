"""New transfers for subscribers, as the worker's batches commit (GraphQL ``transferAdded``).

The notification refresher (app.ops.listener) hands every batch it takes off its queue to
:meth:`TransferFeed.publish`. For each batch that inserted rows and has a subscriber, the
feed reads the batch's rows once (blocks ``[from_block, to_block]`` of its chain, oldest
first, at most ``max_rows``) and hands the same :class:`FeedBatch` to every subscriber of
that chain or of all chains. Batches of one chain arrive in commit order.

Nothing is ever silently lost: when notifications may have been missed (the listener
reconnected, its queue overflowed) or a subscriber's own queue was full, the subscriber
gets a batch with ``gap=True`` first and should query ``transfers`` to catch up; a batch
whose range holds more than ``max_rows`` rows says ``truncated=True``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace

from app.errors import TokenpulseError
from app.store import pool as store_pool
from app.store import transfer_pages
from app.store.notify import BatchEvent
from app.store.transfer_pages import StoredTransfer

log = logging.getLogger(__name__)
MAX_ROWS = 1000  # rows pushed for one batch
QUEUE_SIZE = 100  # batches waiting for one subscriber


@dataclass(frozen=True, slots=True)
class FeedBatch:
    chain_id: int | None  # None: a gap notice about every chain
    from_block: int | None
    to_block: int | None
    inserted: int
    transfers: tuple[StoredTransfer, ...]
    truncated: bool = False  # the range held more rows than were pushed
    gap: bool = False  # batches may have been missed before this one

    @classmethod
    def gap_notice(cls, chain_id: int | None = None) -> FeedBatch:
        return cls(chain_id, None, None, 0, (), gap=True)


class Subscription:
    """One subscriber's queue; iterate it for batches, close it when done."""

    def __init__(self, feed: TransferFeed, chain_id: int | None, queue_size: int) -> None:
        self.feed = feed
        self.chain_id = chain_id
        self.queue: asyncio.Queue[FeedBatch] = asyncio.Queue(maxsize=queue_size)
        self.missed = False

    def wants(self, chain_id: int | None) -> bool:
        return chain_id is None or self.chain_id is None or self.chain_id == chain_id

    def offer(self, batch: FeedBatch) -> None:
        if self.missed and not batch.gap:
            batch = replace(batch, gap=True)
        try:
            self.queue.put_nowait(batch)
        except asyncio.QueueFull:
            self.missed = True  # told with the next batch that gets through
        else:
            self.missed = False

    def close(self) -> None:
        self.feed.unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[FeedBatch]:
        while True:
            yield await self.queue.get()


class TransferFeed:
    def __init__(
        self, pool: store_pool.Pool, *, max_rows: int = MAX_ROWS, queue_size: int = QUEUE_SIZE
    ) -> None:
        self.pool = pool
        self.max_rows = max_rows
        self.queue_size = queue_size
        self._subscribers: dict[int, Subscription] = {}
        self.published = 0

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, chain_id: int | None) -> Subscription:
        subscription = Subscription(self, chain_id, self.queue_size)
        self._subscribers[id(subscription)] = subscription
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.pop(id(subscription), None)

    async def publish(self, events: Sequence[BatchEvent], gap: bool) -> None:
        """Hand a refresher batch to the subscribers (the listener's batch hook)."""
        if not self._subscribers:
            return
        if gap:
            self._offer(FeedBatch.gap_notice())
        for event in events:
            if event.inserted > 0 and any(s.wants(event.chain_id) for s in self._all()):
                self._offer(await self._read(event))

    def _all(self) -> list[Subscription]:
        return list(self._subscribers.values())

    def _offer(self, batch: FeedBatch) -> None:
        for subscription in self._all():
            if subscription.wants(batch.chain_id):
                subscription.offer(batch)
        self.published += 1

    async def _read(self, event: BatchEvent) -> FeedBatch:
        try:
            async with store_pool.transaction(self.pool) as conn:
                rows = await transfer_pages.list_block_range(
                    conn, event.chain_id, event.from_block, event.to_block, self.max_rows + 1
                )
        except TokenpulseError as exc:
            log.warning("reading a batch for subscribers failed: %s", exc.message)
            return FeedBatch.gap_notice(event.chain_id)
        return FeedBatch(
            chain_id=event.chain_id,
            from_block=event.from_block,
            to_block=event.to_block,
            inserted=event.inserted,
            transfers=tuple(rows[: self.max_rows]),
            truncated=len(rows) > self.max_rows,
        )
