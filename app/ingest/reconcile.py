"""Reconciliation: sampled final block windows compared with an independent fetch, repaired
by re-ingesting them when they differ, every comparison logged in ``reconciliation_runs``.

The coverage ledger says which blocks are fully stored; reconciliation checks that claim.
Each run takes one chain (Cronos first, then every chain in turn, see :func:`chain_order`)
and picks windows of ``TOKENPULSE_RECONCILE_WINDOW_BLOCKS`` blocks inside its covered ranges
at or below the finality point: the newest such window, and random older ones (seeded by
``TOKENPULSE_RECONCILE_SEED`` and the run's turn) up to ``TOKENPULSE_RECONCILE_WINDOWS``. For
each window:

1. read the stored rows, and the same blocks from the independent source
   (:mod:`app.ingest.independent`); a failed fetch is recorded with its error code and
   touches nothing;
2. compare (:mod:`app.ingest.compare`); equal: recorded clean;
3. different: re-fetch the window through the normal ingestion path (the window loop and
   sealing rules reorg repair uses: ``RangeRun`` into a ``CollectSink``). Only when that
   answer is sealed whole AND agrees with the independent one is the window replaced, in ONE
   transaction: its stored rows deleted (balances follow), the fresh rows written
   (``transfers.copy_transfers``), the run recorded and a batch notified. When the two
   sources disagree neither is trusted: the difference is recorded (``sources_disagree``)
   and the data left as it is, for an operator (docs/runbook.md).

Every upstream call is made at priority RECONCILIATION through the shared rate budget.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from app import upstreams
from app.config import Config, Settings
from app.domain import Chain, ProviderKind, Transfer
from app.ingest import compare, independent
from app.ingest.ranges import CollectSink, RangeRun
from app.ingest.report import SyncReport
from app.ingest.runtime import Ingestor
from app.ingest.sources import Source
from app.ingest.windows import WindowSizer
from app.store import analytics, coverage, ingest_status, notify, transfers
from app.store import pool as store_pool
from app.store import reconcile as store
from app.store.reconcile import RunRecord
from app.upstreams import errors as upstream_errors

log = logging.getLogger(__name__)
PRIORITY = upstreams.Priority.RECONCILIATION
BlockRange = tuple[int, int]  # inclusive
ShouldStop = Callable[[], bool]
SOURCES_DISAGREE = "sources_disagree"  # the re-fetch agrees with neither the store's view
REFETCH_UNSEALED = "refetch_unsealed"  # the re-fetch could not be proven whole
PICK_TRIES = 20  # random draws per wanted window before settling for fewer (small ledgers)


def chain_order(config: Config) -> list[int]:
    """Enabled chains in reconciliation order: explorer chains (Cronos) first."""
    chains = config.enabled_chains
    first = [c.id for c in chains if c.provider is ProviderKind.EXPLORER]
    return first + [c.id for c in chains if c.provider is not ProviderKind.EXPLORER]


def sampler(settings: Settings, turn: int) -> random.Random:
    """The run's random windows: repeatable with TOKENPULSE_RECONCILE_SEED, other each turn."""
    seed = settings.reconcile_seed
    return random.Random() if seed is None else random.Random(f"{seed}:{turn}")


def final_ranges(ranges: Sequence[BlockRange], safe_head: int) -> list[BlockRange]:
    """The covered ranges clipped to the finality point: blocks that can no longer change."""
    return [(lo, min(hi, safe_head)) for lo, hi in sorted(ranges) if lo <= safe_head]


def pick_windows(
    ranges: Sequence[BlockRange], size: int, count: int, rng: random.Random
) -> list[BlockRange]:
    """The newest window of ``size`` blocks, then up to ``count - 1`` random older ones that
    overlap none chosen; each window lies inside one range (shorter when the range is)."""
    if not ranges or count < 1:
        return []
    top_lo, top_hi = ranges[-1]
    chosen = [(max(top_lo, top_hi - size + 1), top_hi)]
    older = [(lo, min(hi, chosen[0][0] - 1)) for lo, hi in ranges if lo < chosen[0][0]]
    total = sum(hi - lo + 1 for lo, hi in older)
    for _ in range(PICK_TRIES * (count - 1)):
        if len(chosen) >= count or total < 1:
            break
        window = _window_at(older, rng.randrange(total), size)
        if not any(lo <= window[1] and window[0] <= hi for lo, hi in chosen):
            chosen.append(window)
    return chosen


def _window_at(ranges: Sequence[BlockRange], index: int, size: int) -> BlockRange:
    for lo, hi in ranges:
        if index <= hi - lo:
            start = lo + index
            end = min(hi, start + size - 1)
            return max(lo, end - size + 1), end
        index -= hi - lo + 1
    raise ValueError("index beyond the ranges")


async def reconcile_chain(
    ingestor: Ingestor,
    chain_id: int,
    rng: random.Random,
    *,
    should_stop: ShouldStop = lambda: False,
) -> list[RunRecord]:
    """Check one chain's sampled windows (see the module docstring); returns what each found.

    Stops between windows once ``should_stop()`` is true. The finality point is the last tip
    cycle's (ingest_status), or asked of the upstream when there is none yet.
    """
    settings = ingestor.config.settings
    chain = _chain(ingestor.config, chain_id)
    source = ingestor.sources[chain_id]
    other = independent.for_source(source, settings)
    report = SyncReport(chain_id)
    async with store_pool.transaction(ingestor.pool) as conn:
        status = await ingest_status.find(conn, chain_id)
        ranges = await coverage.list_ranges(conn, chain_id)
    safe_head = status.safe_head if status is not None else None
    if safe_head is None:
        safe_head = (await source.tip(chain.finality, PRIORITY, report)).safe_head
    final = final_ranges(ranges, safe_head)
    chosen = pick_windows(final, settings.reconcile_window_blocks, settings.reconcile_windows, rng)
    found = []
    for lo, hi in chosen:
        if should_stop():
            break
        found.append(await check_window(ingestor.pool, chain, source, other, lo, hi, report))
    return found


async def check_window(
    pool: store_pool.Pool,
    chain: Chain,
    source: Source,
    other: independent.Independent,
    lo: int,
    hi: int,
    report: SyncReport,
) -> RunRecord:
    """Compare blocks [lo, hi] with ``other``, repair them if they differ; recorded."""
    started = datetime.now(UTC)
    async with store_pool.transaction(pool) as conn:
        stored = await store.list_window(conn, chain.id, lo, hi)
    base = RunRecord(chain.id, lo, hi, other.source, len(stored), started)
    try:
        upstream = await other.fetch(lo, hi, report)
    except upstream_errors.UpstreamError as exc:
        return await _record(pool, replace(base, error=exc.code), str(exc))
    diff = compare.compare(compare.entries(stored), upstream)
    found = replace(
        base,
        compared_by=diff.compared_by,
        upstream_count=diff.upstream,
        missing=diff.missing,
        extra=diff.extra,
        mismatched=diff.mismatched,
    )
    if diff.clean:
        return await _record(pool, found)
    try:
        rows = await refetch(chain, source, lo, hi, report)
    except upstream_errors.UpstreamError as exc:
        return await _record(pool, replace(found, error=exc.code), str(exc))
    if rows is None:
        return await _record(pool, replace(found, error=REFETCH_UNSEALED))
    if not compare.compare(compare.entries(rows), upstream).clean:
        return await _record(pool, replace(found, error=SOURCES_DISAGREE))
    return await _repair(pool, found, rows, source.kind)


async def refetch(
    chain: Chain, source: Source, lo: int, hi: int, report: SyncReport
) -> list[Transfer] | None:
    """Blocks [lo, hi] through the ingestion path, as reorg repair re-reads a range; None
    when the answers could not be sealed whole (nothing may be replaced then)."""
    sink = CollectSink()
    size = hi - lo + 1
    run = RangeRun(chain.id, source, WindowSizer(size, size), {}, PRIORITY, report)
    await run.run(lo, hi, sink, stop_on_unsealed=True)
    cursor = lo
    for start, end in sorted(sink.sealed):
        if start > cursor:
            return None
        cursor = max(cursor, end + 1)
    if cursor <= hi:
        return None
    # A window sealed short is read again from its last block: keep one row per identity.
    unique = {(row.tx_hash, row.log_index): row for row in sink.rows}
    return sorted(unique.values(), key=lambda row: (row.block_number, row.log_index))


async def _repair(
    pool: store_pool.Pool, found: RunRecord, rows: list[Transfer], kind: str
) -> RunRecord:
    chain_id, lo, hi = found.chain_id, found.block_lo, found.block_hi
    async with store_pool.transaction(pool) as conn:
        # The window is old: its analytics buckets need an explicit refresh (analytics_dirty).
        await analytics.mark_blocks(conn, chain_id, lo, hi)
        deleted = await store.delete_window(conn, chain_id, lo, hi)
        inserted = await transfers.copy_transfers(conn, rows, kind) if rows else 0
        await analytics.mark_rows(conn, rows)
        await coverage.add_range(conn, chain_id, lo, hi)  # already covered; whole again now
        record = replace(found, repaired=True, rows_deleted=deleted, rows_inserted=inserted)
        await store.insert_run(conn, record)
        # Readers' caches of the chain go stale: sent only if this transaction commits.
        await notify.notify_batch(conn, chain_id, lo, hi, inserted)
    log.warning("reconciliation repaired a window", extra=_fields(record))
    return record


async def _record(pool: store_pool.Pool, record: RunRecord, why: str | None = None) -> RunRecord:
    async with store_pool.transaction(pool) as conn:
        await store.insert_run(conn, record)
    fields = _fields(record) | ({"why": why} if why else {})
    if record.error is not None:
        log.warning("reconciliation found no answer it could act on", extra=fields)
    elif record.missing or record.extra or record.mismatched:
        log.warning("reconciliation found a difference", extra=fields)
    else:
        log.info("reconciliation window clean", extra=fields)
    return record


def _fields(record: RunRecord) -> dict[str, object]:
    names = ("chain_id", "block_lo", "block_hi", "source", "stored_count", "upstream_count")
    more = ("missing", "extra", "mismatched", "repaired", "rows_deleted", "rows_inserted")
    return {name: getattr(record, name) for name in (*names, *more, "error")}


def _chain(config: Config, chain_id: int) -> Chain:
    for chain in config.enabled_chains:
        if chain.id == chain_id:
            return chain
    raise ValueError(f"chain {chain_id} is not an enabled chain")
