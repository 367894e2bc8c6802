"""The reorg check of a tip cycle, and the repair when the chain changed under the store.

Above a chain's finality point the store's blocks may be orphaned. Each cycle compares the
hashes the store relies on (blocks holding transfers, and the head checkpoints) with the
chain, newest first, a bounded number per cycle. Hashes form a chain, so the first block
that still matches vouches for every block below it: a quiet chain costs one header.

Repair: the fork is the highest block still matching (or the finality point when none of
the checked blocks does). The range above it is re-fetched first, then in ONE transaction
the orphaned rows, checkpoints and coverage above the fork are deleted, the new rows and
their coverage written, and the event logged: readers never see both forks, nor a hole
marked covered.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from app import upstreams
from app.ingest.ranges import CollectSink, RangeRun
from app.ingest.sources import Meter, Source, Tip
from app.store import analytics, coverage, notify, reorgs, transfers
from app.store import pool as store_pool

log = logging.getLogger(__name__)


async def find_fork(
    source: Source,
    known: Sequence[reorgs.KnownBlock],
    safe_head: int,
    priority: upstreams.Priority,
    meter: Meter,
) -> int | None:
    """The highest block that is still canonical when some known block is not; None when
    the newest known blocks are all unchanged (no reorg)."""
    hashes: dict[int, set[str]] = defaultdict(set)
    for block in known:
        hashes[block.number].add(block.hash)
    numbers = sorted(hashes, reverse=True)
    orphaned = False
    step = max(1, source.header_batch)
    for start in range(0, len(numbers), step):
        chunk = numbers[start : start + step]
        found = await source.headers(chunk, priority, meter)
        for number in chunk:
            header = found.get(number)
            # Two stored hashes for one block (a race with a reorg): one of them is orphaned.
            if header is not None and hashes[number] == {header.hash}:
                return number if orphaned else None
            orphaned = True
    # Nothing checked still matches: fall back on the finality point, canonical by definition.
    return safe_head if orphaned else None


async def repair(pool: store_pool.Pool, run: RangeRun, fork: int, tip: Tip) -> tuple[int, int]:
    """Replace everything above ``fork`` with the chain's current view; returns (rows
    deleted, rows inserted). Upstream errors while re-fetching leave the store unchanged."""
    for key in [key for key in run.tails if key[0] == run.chain_id and key[2] > fork]:
        del run.tails[key]  # reads of orphaned blocks must not vouch for new ones
    sink = CollectSink()
    await run.run(fork + 1, tip.head, sink, stop_on_unsealed=True)
    async with store_pool.transaction(pool) as conn:
        # Analytics buckets of the rows replaced, when old enough to need an explicit refresh.
        await analytics.mark_blocks(conn, run.chain_id, fork + 1, tip.head)
        deleted = await reorgs.delete_above(conn, run.chain_id, fork)
        inserted = 0
        if sink.rows:
            inserted = await transfers.copy_transfers(conn, sink.rows, run.source.kind)
            await analytics.mark_rows(conn, sink.rows)
        for lo, hi in sink.sealed:
            await coverage.add_range(conn, run.chain_id, lo, hi)
        await reorgs.insert_event(conn, run.chain_id, fork, tip.head, deleted, inserted)
        await notify.notify_batch(conn, run.chain_id, fork + 1, tip.head, inserted)
    log.warning(
        "reorg repaired",
        extra={
            "chain_id": run.chain_id,
            "fork_block": fork,
            "head": tip.head,
            "rows_deleted": deleted,
            "rows_inserted": inserted,
        },
    )
    return deleted, inserted
