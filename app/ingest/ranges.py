"""Ingest a block range window by window: fetch, judge (app.ingest.windows), hand to a sink.

The loop is shared by the tip cycle, backfill and reorg repair; only the sink differs:
:class:`StoreSink` writes each window in its own transaction (rows by binary COPY, then the
sealed coverage: a crash between windows loses nothing and duplicates nothing), while
:class:`CollectSink` keeps everything for the one transaction of a reorg repair.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from app import upstreams
from app.domain import Transfer
from app.ingest import windows
from app.ingest.report import SyncReport
from app.ingest.sources import Fetched, Source
from app.store import analytics, coverage, notify, transfers
from app.store import pool as store_pool
from app.upstreams import errors as upstream_errors

log = logging.getLogger(__name__)
MAX_STALLS = 3  # reads of one window that seal nothing before it is left for a later run
# Reads that sealed nothing, by (chain, from, to): a second read must agree (JSON-RPC).
Tails = dict[tuple[int, int, int], windows.Signature]
MAX_TAILS = 1_000
LIGHT_PAGES = 5  # a window grows only when it needed at most this many of its 10 pages


class Sink(Protocol):
    async def put(self, rows: list[Transfer], lo: int, sealed_to: int) -> tuple[int, int | None]:
        """Keep ``rows`` and mark [lo, sealed_to] covered (nothing when sealed_to < lo);
        returns (rows inserted, top of the coverage range now holding ``lo``, if known)."""
        ...


@dataclass(slots=True)
class StoreSink:
    pool: store_pool.Pool
    chain_id: int
    source: str

    async def put(self, rows: list[Transfer], lo: int, sealed_to: int) -> tuple[int, int | None]:
        # Rows and their coverage commit together: coverage is the checkpoint.
        async with store_pool.transaction(self.pool) as conn:
            inserted = await transfers.copy_transfers(conn, rows, self.source) if rows else 0
            if inserted:  # old rows (a backfill) must reach the analytics aggregates too
                await analytics.mark_rows(conn, rows)
            top = None
            if sealed_to >= lo:
                top = (await coverage.add_range(conn, self.chain_id, lo, sealed_to))[1]
            if inserted or top is not None:  # sent only when this transaction commits
                await notify.notify_batch(conn, self.chain_id, lo, max(lo, sealed_to), inserted)
        return inserted, top


@dataclass(slots=True)
class BufferedSink:
    """Windows gathered until ``commit_rows`` rows, then written like :class:`StoreSink` but in
    one transaction for all of them: what backfill uses.

    A transaction's cost is mostly per row, but not all: each pays one balance upsert per
    address it touches however many of its rows touch it, one analytics mark per day, one
    commit and one notification, so bigger ones are cheaper per row (docs/performance.md).
    Consecutive windows' coverage is merged into one range. Nothing is ever half written:
    rows and their coverage still commit together; a crash loses only windows not yet
    committed, and their coverage with them, so the next run fetches them again.
    The owner calls :meth:`flush` when the run ends (normally, on an error or a stop request);
    a cancelled run drops the buffer instead (a deposed leader must not write).
    """

    pool: store_pool.Pool
    chain_id: int
    source: str
    commit_rows: int
    rows: list[Transfer] = field(default_factory=list)
    sealed: list[tuple[int, int]] = field(default_factory=list)
    span: tuple[int, int] | None = None  # the blocks notified, as StoreSink would per window

    async def put(self, rows: list[Transfer], lo: int, sealed_to: int) -> tuple[int, int | None]:
        self.rows.extend(rows)
        hi = max(lo, sealed_to)
        self.span = (min(self.span[0], lo), max(self.span[1], hi)) if self.span else (lo, hi)
        if sealed_to >= lo:
            if self.sealed and self.sealed[-1][1] + 1 == lo:
                self.sealed[-1] = (self.sealed[-1][0], sealed_to)
            else:
                self.sealed.append((lo, sealed_to))
        if len(self.rows) < self.commit_rows:
            return 0, None
        return await self.flush()

    async def flush(self) -> tuple[int, int | None]:
        """Commit what is buffered; returns (rows inserted, top of the last range's coverage)."""
        rows, sealed, span = self.rows, self.sealed, self.span
        if span is None:
            return 0, None
        async with store_pool.transaction(self.pool) as conn:
            inserted = await transfers.copy_transfers(conn, rows, self.source) if rows else 0
            if inserted:
                await analytics.mark_rows(conn, rows)
            top = None
            for lo, hi in sealed:
                top = (await coverage.add_range(conn, self.chain_id, lo, hi))[1]
            if inserted or top is not None:  # sent only when this transaction commits
                await notify.notify_batch(conn, self.chain_id, span[0], span[1], inserted)
        self.rows, self.sealed, self.span = [], [], None
        return inserted, top


@dataclass(slots=True)
class CollectSink:
    rows: list[Transfer] = field(default_factory=list)
    sealed: list[tuple[int, int]] = field(default_factory=list)
    span: tuple[int, int] | None = None  # the blocks notified, as StoreSink would per window

    async def put(self, rows: list[Transfer], lo: int, sealed_to: int) -> tuple[int, int | None]:
        self.rows.extend(rows)
        hi = max(lo, sealed_to)
        self.span = (min(self.span[0], lo), max(self.span[1], hi)) if self.span else (lo, hi)
        if sealed_to >= lo:
            self.sealed.append((lo, sealed_to))
        return 0, None


@dataclass(slots=True)
class RangeRun:
    """One chain's range ingestion with its source, window sizer and earlier reads."""

    chain_id: int
    source: Source
    sizer: windows.WindowSizer
    tails: Tails
    priority: upstreams.Priority
    report: SyncReport
    progress: Callable[[int], None] | None = None  # called with blocks done so far

    async def run(self, lo: int, hi: int, sink: Sink, *, stop_on_unsealed: bool) -> None:
        """Ingest [lo, hi]. A window that cannot be sealed after MAX_STALLS reads ends the
        run (``stop_on_unsealed``: the tip must not leave a hole below it) or is skipped,
        left as a gap for the next backfill."""
        cursor, stalls = lo, 0
        while cursor <= hi:
            fetched = await self._fetch(cursor, min(hi, cursor + self.sizer.size - 1), hi)
            if fetched is None:
                continue  # refused as too large: the sizer shrank, ask again
            decision = await self._apply(fetched, sink)
            if decision.progressed(cursor):
                cursor, stalls = decision.sealed_to + 1, 0
            else:
                stalls += 1
                if stalls >= MAX_STALLS:
                    self._unsealed(fetched)
                    if stop_on_unsealed:
                        return
                    cursor, stalls = fetched.hi + 1, 0
            if self.progress is not None:
                self.progress(cursor - lo)

    async def _fetch(self, lo: int, hi: int, range_hi: int) -> Fetched | None:
        try:
            fetched = await self.source.logs(lo, hi, self.priority, self.report)
        except upstream_errors.RangeTooLarge as exc:
            self.sizer.refused(lo, hi, exc)
            log.info(
                "window refused as too large",
                extra={"chain_id": self.chain_id, "from": lo, "to": hi, "size": self.sizer.size},
            )
            return None
        if self.source.can_prove and windows.needs_proof(fetched, last_window=hi == range_hi):
            # A refusal of the probe (a query timeout, say) just leaves the answer unproven.
            with contextlib.suppress(upstream_errors.RangeTooLarge):
                await self.source.prove(fetched, self.priority, self.report)
        return fetched

    async def _apply(self, fetched: Fetched, sink: Sink) -> windows.Decision:
        report = self.report
        report.windows += 1
        report.rejected += sum(fetched.rejected.values())
        report.rejected_by_reason.update(fetched.rejected)
        report.skipped_erc721 += fetched.skipped_erc721
        key = (self.chain_id, fetched.lo, fetched.hi)
        earlier = self.tails.pop(key, None)
        # A paged source proves its answers; a repeated read must not stand in for that,
        # since a page cut the same way twice would pass.
        decision = windows.decide(fetched, None if self.source.can_prove else earlier)
        self._resize(fetched, decision)
        if decision.seen is not None:
            self._remember(key, decision.seen)
        if decision.store or decision.progressed(fetched.lo):
            rows = [entry.to_transfer() for entry in fetched.logs] if decision.store else []
            inserted, top = await sink.put(rows, fetched.lo, decision.sealed_to)
            report.inserted += inserted
            if top is not None:
                report.covered_to = top
        return decision

    def _resize(self, fetched: Fetched, decision: windows.Decision) -> None:
        if not fetched.complete and fetched.logs:
            self.sizer.split(fetched.lo, fetched.logs[-1].block_number)
        elif decision.progressed(fetched.lo) and fetched.pages <= LIGHT_PAGES:
            self.sizer.grow()

    def _remember(self, key: tuple[int, int, int], seen: windows.Signature) -> None:
        if len(self.tails) >= MAX_TAILS:
            self.tails.clear()  # a forgotten read costs one more read, never a wrong seal
        self.tails[key] = seen

    def _unsealed(self, fetched: Fetched) -> None:
        self.report.unsealed_windows += 1
        reason = windows.describe(fetched)
        self.report.errors.append(reason)
        log.warning("window left uncovered", extra={"chain_id": self.chain_id, "why": reason})
