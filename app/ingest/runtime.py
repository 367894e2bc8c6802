"""The ingestion runtime: one :class:`Ingestor` per worker or backfill process.

It owns the HTTP client, one gateway and key pool per provider, the process's limiter and
breakers, and the budget ledger (PostgreSQL by default, so every process shares the pace of
each key). Callers (the worker's jobs, ``tokenpulse backfill``, the demo) only use::

    ingestor = await Ingestor.open(config, pool)
    report = await ingestor.sync_tip(chain_id)              # priority TIP
    report = await ingestor.backfill(chain_id, first_block)  # priority BACKFILL, resumable
    await ingestor.close()

Division of labour: blocks above a chain's finality point belong to ``sync_tip``, whose reorg
check guards them; ``backfill`` fills coverage gaps up to the finality point only, so it never
writes a block a reorg could still take away. A cold ``sync_tip`` therefore starts at or below
the finality point (and ``TOKENPULSE_INGEST_TIP_START_BLOCKS`` below the head), so the two
meet without a gap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app import upstreams
from app.config import Config
from app.domain import Chain
from app.ingest import reorg, status
from app.ingest import wiring as wiring_module
from app.ingest.budget import StoreLedger
from app.ingest.ranges import BufferedSink, RangeRun, StoreSink, Tails
from app.ingest.report import SyncReport
from app.ingest.sources import Source, Tip
from app.ingest.windows import WindowSizer
from app.store import chains, coverage, reorgs
from app.store import pool as store_pool
from app.store.pool import Pool

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (blocks done, blocks in total)

__all__ = ["Ingestor", "Progress", "SyncReport"]


class Ingestor:
    """Ingestion for every enabled chain of a configuration."""

    def __init__(
        self,
        config: Config,
        pool: Pool,
        http: wiring_module.Closable,
        sources: dict[int, Source],
        wiring: wiring_module.Wiring | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.sources = sources
        # The gateways (rate budget, breakers) for other callers: app.ingest.figures.
        self.wiring = wiring
        self._http = http
        self._sizers: dict[tuple[int, upstreams.Priority], WindowSizer] = {}
        self._tails: Tails = {}  # last reads of window-ending blocks, see app.ingest.windows

    @classmethod
    async def open(
        cls,
        config: Config,
        pool: Pool,
        *,
        transport: upstreams.Transport | None = None,
        ledger: upstreams.BudgetLedger | None = None,
    ) -> Ingestor:
        """Wire the upstream clients; ``transport`` routes HTTP in-process (tests, demo),
        ``ledger`` replaces the PostgreSQL budget ledger (single-process tools)."""
        # Coverage rows reference chains: make sure the configured ones are there.
        async with store_pool.transaction(pool) as conn:
            await chains.upsert_chains(conn, config.chains)
        http, wiring, sources = wiring_module.build(config, ledger or StoreLedger(pool), transport)
        return cls(config, pool, http, sources, wiring)

    async def close(self) -> None:
        await self._http.aclose()

    def chain_ids(self) -> list[int]:
        """The enabled chains, in configuration order."""
        return [chain.id for chain in self.config.enabled_chains]

    async def sync_tip(self, chain_id: int) -> SyncReport:
        """One cycle: reorg check above finality, then ingest up to the head (priority TIP).

        Upstream and store errors are recorded in ``ingest_status`` and raised; a window that
        could not be sealed ends the cycle early (``report.complete`` is False) and is
        recorded as a failure too.
        """
        chain, source = self._chain(chain_id)
        report = SyncReport(chain_id)
        started = time.perf_counter()
        tip: Tip | None = None
        try:
            tip = await source.tip(chain.finality, upstreams.Priority.TIP, report)
            report.head, report.safe_head = tip.head, tip.safe_head
            run = self._run(chain, source, upstreams.Priority.TIP, report)
            await self._check_reorg(chain, source, tip, run)
            report.from_block, report.to_block = await self._tip_start(chain, tip), tip.head
            sink = StoreSink(self.pool, chain.id, source.kind)
            await run.run(report.from_block, tip.head, sink, stop_on_unsealed=True)
            report.covered_to = await self._covered_top(chain.id)
        except Exception as exc:
            report.duration_s = time.perf_counter() - started
            await status.record_failure(self.pool, self.config.settings, chain.id, exc, tip)
            raise
        report.duration_s = time.perf_counter() - started
        await status.record_cycle(self.pool, self.config.settings, chain.id, tip, report)
        return report

    async def backfill(
        self,
        chain_id: int,
        from_block: int,
        to_block: int | None = None,
        *,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Fill the coverage gaps of [from_block, to_block] (priority BACKFILL); resumable.

        ``to_block`` defaults to, and is capped at, the chain's finality point (see the
        module docstring). Windows that cannot be sealed are skipped and stay gaps for the
        next run (``report.unsealed_windows``).
        """
        chain, source = self._chain(chain_id)
        report = SyncReport(chain_id)
        started = time.perf_counter()
        tip = await source.tip(chain.finality, upstreams.Priority.BACKFILL, report)
        report.head, report.safe_head = tip.head, tip.safe_head
        hi = tip.safe_head if to_block is None else min(to_block, tip.safe_head)
        report.from_block, report.to_block = from_block, hi
        async with store_pool.transaction(self.pool) as conn:
            gaps = (
                await coverage.list_gaps(conn, chain.id, from_block, hi) if hi >= from_block else []
            )
        total = sum(gap_hi - gap_lo + 1 for gap_lo, gap_hi in gaps)
        run = self._run(chain, source, upstreams.Priority.BACKFILL, report)
        sink = BufferedSink(
            self.pool, chain.id, source.kind, self.config.settings.backfill_commit_rows
        )
        try:
            done = 0
            for gap_lo, gap_hi in gaps:
                if progress is not None:
                    run.progress = _offset(progress, done, total)
                await run.run(gap_lo, gap_hi, sink, stop_on_unsealed=False)
                done += gap_hi - gap_lo + 1
        except Exception:
            # Windows fetched before an upstream error or a stop request are good: keep them.
            # (A cancelled run, a BaseException, drops them: a deposed leader must not write.)
            await _flush(sink, report)
            raise
        await _flush(sink, report)
        report.covered_to = await self._covered_top(chain.id)
        report.duration_s = time.perf_counter() - started
        log.info("backfill done", extra={"chain_id": chain.id, "report": report.to_json()})
        return report

    def _chain(self, chain_id: int) -> tuple[Chain, Source]:
        for chain in self.config.enabled_chains:
            if chain.id == chain_id:
                return chain, self.sources[chain_id]
        raise ValueError(f"chain {chain_id} is not an enabled chain")

    def _run(
        self, chain: Chain, source: Source, priority: upstreams.Priority, report: SyncReport
    ) -> RangeRun:
        # Tip and backfill learn their window sizes separately: tip windows stay small.
        settings = self.config.settings
        sizer = self._sizers.setdefault(
            (chain.id, priority),
            WindowSizer(settings.ingest_initial_window_blocks, settings.ingest_max_window_blocks),
        )
        return RangeRun(chain.id, source, sizer, self._tails, priority, report)

    async def _check_reorg(self, chain: Chain, source: Source, tip: Tip, run: RangeRun) -> None:
        if not source.can_check_headers:
            return
        limit = self.config.settings.ingest_reorg_check_blocks
        async with store_pool.transaction(self.pool) as conn:
            known = await reorgs.list_recent_blocks(conn, chain.id, tip.safe_head, limit)
        fork = await reorg.find_fork(source, known, tip.safe_head, run.priority, run.report)
        if fork is None:
            return
        _, inserted = await reorg.repair(self.pool, run, fork, tip)
        run.report.reorged_blocks = tip.head - fork
        run.report.inserted += inserted

    async def _tip_start(self, chain: Chain, tip: Tip) -> int:
        top = await self._covered_top(chain.id)
        if top is not None:
            return top + 1
        # Cold: serve the recent past at once, and never start above the finality point,
        # where backfill stops.
        window = self.config.settings.ingest_tip_start_blocks
        return max(chain.first_block, min(tip.head - window, tip.safe_head + 1))

    async def _covered_top(self, chain_id: int) -> int | None:
        async with store_pool.transaction(self.pool) as conn:
            ranges = await coverage.list_ranges(conn, chain_id)
        return ranges[-1][1] if ranges else None


async def _flush(sink: BufferedSink, report: SyncReport) -> None:
    inserted, _ = await sink.flush()
    report.inserted += inserted


def _offset(progress: Progress, done: int, total: int) -> Callable[[int], None]:
    def report(blocks: int) -> None:
        progress(done + blocks, total)

    return report
