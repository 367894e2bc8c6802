"""Warming the store: driving backfills in bounded, resumable runs.

Both the worker's ``backfill`` job (:func:`fill_gaps`) and ``tokenpulse backfill``
(:func:`fill_range`) drive :meth:`Ingestor.backfill <app.ingest.runtime.Ingestor.backfill>`
from here. The coverage ledger is the only state: every run reads the gaps again, so a run
that was stopped (a job's time budget, Ctrl-C, a killed process) resumes where the ledger
says, and nothing covered is fetched again.

Stopping: the ingestor reports progress after each window has committed (rows and coverage in
one transaction). A run that must stop raises :class:`Stopped` from that callback, so it ends
right after the window in flight and never in the middle of a write.

The worker's job fills **newest first**, a chunk per chain in turn, several chains at once
(so the keys stay busy while a chain waits for an answer or a write): users look at recent
transfers first, so a fresh install shows the last hours of every chain before it digs into
months of history. Chunks grow with their distance from the tip (6 h of blocks at first, then
as far again each time, up to 30 days), so recent history comes in small bites and old, sparse
history in few large ones.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.config import Config
from app.domain import Chain
from app.ingest.report import SyncReport
from app.ingest.runtime import Ingestor
from app.store import coverage
from app.store import pool as store_pool

log = logging.getLogger(__name__)
BlockRange = tuple[int, int]  # inclusive
Progress = Callable[[int, int], None]  # (blocks done, blocks to do) over a whole run
ShouldStop = Callable[[], bool]
RECENT_SECONDS = 6 * 3600.0  # the first (newest) chunk of a chain
OLDEST_CHUNK_SECONDS = 30 * 86400.0  # the largest chunk
MAX_PASSES = 3  # passes over a range that leave gaps (unsealable windows) before giving up
LANES_PER_KEY = 2  # chains a backfill run fills at once, per API key they use


class Stopped(Exception):
    """Raised through the ingestor's progress callback to end a run after the current window."""


@dataclass(slots=True)
class RunTotals:
    """What a run did, over all its ingestor calls."""

    calls: int = 0  # ingestor.backfill calls
    upstream_calls: int = 0
    inserted: int = 0
    blocks_total: int = 0
    blocks_left: int = 0
    stopped: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def blocks_done(self) -> int:
        return self.blocks_total - self.blocks_left

    def add(self, report: SyncReport) -> None:
        self.calls += 1
        self.upstream_calls += report.calls
        self.inserted += report.inserted
        self.errors += report.errors


def gap_blocks(gaps: Sequence[BlockRange]) -> int:
    return sum(hi - lo + 1 for lo, hi in gaps)


def below_tip(ranges: Sequence[BlockRange], first_block: int) -> list[BlockRange]:
    """The gaps from ``first_block`` up to the bottom of the top covered range.

    The top range is the one the tip cycles extend; filling above it would race the next tip
    cycle. No coverage at all means no tip cycle yet, so nothing to backfill against.
    """
    gaps, cursor = [], first_block
    for lo, hi in sorted(ranges):
        if lo > cursor:
            gaps.append((cursor, lo - 1))
        cursor = max(cursor, hi + 1)
    return gaps


def newest_chunk(gaps: Sequence[BlockRange], top: int, block_time: float) -> BlockRange | None:
    """The top of the highest gap, sized by its distance from ``top`` (see the docstring)."""
    if not gaps:
        return None
    lo, hi = max(gaps)
    smallest = max(1, round(RECENT_SECONDS / block_time))
    largest = max(smallest, round(OLDEST_CHUNK_SECONDS / block_time))
    size = min(largest, max(smallest, top - hi))
    return max(lo, hi - size + 1), hi


def days_back(safe_head: int, days: float, chain: Chain) -> int:
    """The block ``days`` before ``safe_head`` at the chain's block time (>= first_block)."""
    return max(chain.first_block, safe_head - round(days * 86400 / chain.block_time_seconds))


async def heads(ingestor: Ingestor, chain_id: int) -> tuple[int, int]:
    """(head, finality point) now. An empty backfill asks the upstream for just that."""
    report = await ingestor.backfill(chain_id, 1, 0)
    if report.head is None or report.safe_head is None:
        raise AssertionError("backfill reported no head")
    return report.head, report.safe_head


async def fill_range(
    ingestor: Ingestor,
    pool: store_pool.Pool,
    chain_id: int,
    from_block: int,
    to_block: int,
    *,
    should_stop: ShouldStop = lambda: False,
    progress: Progress | None = None,
) -> RunTotals:
    """Fill every gap of [from_block, to_block]; resumable, and stoppable between windows."""
    totals = RunTotals()
    gaps = await _gaps(pool, chain_id, from_block, to_block)
    totals.blocks_total = totals.blocks_left = gap_blocks(gaps)
    for _ in range(MAX_PASSES):
        if not gaps or should_stop():
            break
        done_before = totals.blocks_done

        def window_done(done: int, total: int, base: int = done_before) -> None:
            if progress is not None:
                progress(min(base + done, totals.blocks_total), totals.blocks_total)

        report = await _backfill(
            ingestor, chain_id, (from_block, to_block), should_stop, window_done
        )
        gaps = await _gaps(pool, chain_id, from_block, to_block)
        totals.blocks_left = gap_blocks(gaps)
        if progress is not None:
            progress(totals.blocks_done, totals.blocks_total)
        if report is None:
            break
        totals.add(report)
    totals.stopped = bool(gaps) and should_stop()
    return totals


async def fill_gaps(
    ingestor: Ingestor,
    pool: store_pool.Pool,
    config: Config,
    *,
    seconds: float,
    start: int = 0,
    should_stop: ShouldStop = lambda: False,
) -> RunTotals:
    """One bounded run of the worker's backfill job: the newest chunk of each chain in turn
    (from the ``start``-th enabled chain) until every gap below the tips is filled, ``seconds``
    have passed (checked after every window), or ``should_stop``.

    Several chains are filled at once (:func:`lanes`): one chain's calls wait for their
    answers, its windows for their writes, and meanwhile the keys serve the others, so the
    rate budget rather than the latency of each call sets the pace. The first error ends the
    run, as it would one chain at a time; the other chains' windows in flight roll back.
    """
    deadline = time.monotonic() + seconds

    def done() -> bool:
        return should_stop() or time.monotonic() >= deadline

    totals = RunTotals()
    chains = list(config.enabled_chains)
    if chains:
        chains = chains[start % len(chains) :] + chains[: start % len(chains)]
    turns = collections.deque(chains)

    async def lane() -> None:
        while turns and not done():
            chain = turns.popleft()
            if await _fill_newest(ingestor, pool, chain, totals, done):
                turns.append(chain)  # more below: its next chunk after the others' turns
            # else: nothing (more) it can do in this run

    await _first_error(lane() for _ in range(lanes(chains)))
    totals.stopped = done()
    return totals


def lanes(chains: Sequence[Chain]) -> int:
    """How many chains a backfill run fills at once: LANES_PER_KEY per API key (or RPC URL)
    the chains use, so every key has a call queued while another call is in flight."""
    keys = {key for chain in chains for key in (chain.api_keys or (chain.rpc_url,))}
    return min(len(chains), LANES_PER_KEY * max(1, len(keys)))


async def _first_error(work: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` concurrently to the end; the first exception cancels the rest (their
    transactions roll back) and is raised as it is. Cancelling the caller cancels them all."""
    tasks = [asyncio.ensure_future(item) for item in work]
    try:
        finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in finished:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _fill_newest(
    ingestor: Ingestor, pool: store_pool.Pool, chain: Chain, totals: RunTotals, done: ShouldStop
) -> bool:
    async with store_pool.transaction(pool) as conn:
        ranges = await coverage.list_ranges(conn, chain.id)
    top = max((hi for _, hi in ranges), default=chain.first_block)
    chunk = newest_chunk(below_tip(ranges, chain.first_block), top, chain.block_time_seconds)
    if chunk is None:
        return False
    report = await _backfill(ingestor, chain.id, chunk, done, None)
    if report is None:
        return False
    totals.add(report)
    return report.complete


async def _backfill(
    ingestor: Ingestor,
    chain_id: int,
    blocks: BlockRange,
    should_stop: ShouldStop,
    progress: Progress | None,
) -> SyncReport | None:
    """One ingestor.backfill call; None when ``should_stop`` ended it after a window."""

    def after_window(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        if should_stop():
            raise Stopped

    try:
        report = await ingestor.backfill(chain_id, blocks[0], blocks[1], progress=after_window)
    except Stopped:
        log.info("backfill stopped after a window", extra={"chain_id": chain_id})
        return None
    log.info(
        "backfill run",
        extra={"chain_id": chain_id, "from_block": blocks[0], "to_block": blocks[1]}
        | {"inserted": report.inserted, "calls": report.calls, "complete": report.complete},
    )
    return report


async def _gaps(pool: store_pool.Pool, chain_id: int, lo: int, hi: int) -> list[BlockRange]:
    if hi < lo:
        return []
    async with store_pool.transaction(pool) as conn:
        return await coverage.list_gaps(conn, chain_id, lo, hi)
