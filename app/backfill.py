"""``tokenpulse backfill``: fill a chain's block range, with a progress line, until done or
told to stop (Ctrl-C / SIGTERM set the command's stop event; the run ends after the window in
flight, see app.ingest.warm). It uses the same PostgreSQL rate budget as the workers, so a
backfill next to a running worker never exceeds a key's pace, and the coverage ledger makes it
resumable: run the same command again and it fills only what is still missing.
"""

from __future__ import annotations

import asyncio
import sys
import time

import click

from app.config import Config
from app.domain import Chain
from app.errors import TokenpulseError
from app.ingest import warm
from app.ingest.runtime import Ingestor
from app.store import meta
from app.store import pool as store_pool

EXIT_INTERRUPTED = 130  # stopped by Ctrl-C / SIGTERM before the work was done


class ProgressLine:
    """A backfill's progress on stderr: rewritten in place on a terminal, otherwise one line
    at most every ``every`` seconds (and the last one), for logs and CI."""

    def __init__(self, label: str, *, every: float = 1.0, unit: str = "blocks") -> None:
        self.label = label
        self.unit = unit
        self.every = every
        self.tty = sys.stderr.isatty()
        self.started = self.last = time.monotonic()
        self.shown = False

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last < self.every and done < total:
            return
        self.last = now
        share = 100.0 * done / total if total else 100.0
        counts = f"{done:,}/{total:,} {self.unit}"
        text = f"{self.label}: {share:5.1f}% {counts}, {now - self.started:.0f}s"
        click.echo(f"\r{text}" if self.tty else text, err=True, nl=not self.tty)
        self.shown = True

    def finish(self) -> None:
        if self.tty and self.shown:
            click.echo("", err=True)


async def run(
    config: Config,
    chain: Chain,
    days: float | None,
    blocks: tuple[int | None, int | None],
    stop: asyncio.Event,
) -> int:
    """Backfill ``days`` back, or blocks (from, to); the exit code: 0 done, 1 gaps left
    (windows that could not be sealed), 130 stopped."""
    await need_schema(config)  # before the pool, which would retry (and log) in the background
    pool = store_pool.create(config.settings, name="backfill")
    await pool.open(wait=False)
    try:
        ingestor = await Ingestor.open(config, pool)
        try:
            return await _backfill(ingestor, pool, chain, days, blocks, stop)
        finally:
            await ingestor.close()
    finally:
        await pool.close()


async def need_schema(config: Config) -> None:
    """Raise DatabaseUnavailable, or TokenpulseError before the first migrate."""
    conn = await store_pool.connect(config.settings)
    async with conn:
        _, mode = await meta.ping(conn)
    if mode is None:
        raise TokenpulseError("the database schema is not migrated: run `tokenpulse migrate`")


async def _backfill(
    ingestor: Ingestor,
    pool: store_pool.Pool,
    chain: Chain,
    days: float | None,
    blocks: tuple[int | None, int | None],
    stop: asyncio.Event,
) -> int:
    head, safe = await warm.heads(ingestor, chain.id)
    lo = blocks[0] if blocks[0] is not None else warm.days_back(safe, days or 0.0, chain)
    hi = safe if blocks[1] is None else min(blocks[1], safe)
    if blocks[1] is not None and blocks[1] > safe:
        click.echo(
            f"note: blocks above the finality point {safe:,} are left to the worker", err=True
        )
    if lo > hi:
        raise TokenpulseError(f"nothing to backfill: block {lo:,} is above {hi:,}")
    click.echo(f"backfill {chain.name} (chain {chain.id}): blocks {lo:,}-{hi:,}"
               f" (head {head:,}, finalized {safe:,})")  # fmt: skip
    line = ProgressLine(f"chain {chain.id}")
    totals = await warm.fill_range(
        ingestor, pool, chain.id, lo, hi, should_stop=stop.is_set, progress=line.update
    )
    line.finish()
    done = f"{totals.blocks_done:,} of {totals.blocks_total:,} uncovered blocks filled"
    click.echo(f"{done}, {totals.inserted:,} transfers inserted, {totals.upstream_calls} calls")
    if totals.stopped:
        click.echo("stopped: run the same command again to resume", err=True)
        return EXIT_INTERRUPTED
    if totals.blocks_left:
        click.echo(f"incomplete: {'; '.join(totals.errors[:3]) or 'gaps remain'}", err=True)
        return 1
    return 0
