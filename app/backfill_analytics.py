"""``tokenpulse backfill-analytics --days N``: compute the analytics aggregates of the last N
UTC days from the stored transfers, a day per statement (so none nears ``statement_timeout``),
oldest first, with a progress line. Idempotent: run it again and it recomputes the same rows.
Ctrl-C / SIGTERM stop it after the day in flight.
"""

from __future__ import annotations

import asyncio

import click

from app.backfill import EXIT_INTERRUPTED, ProgressLine, need_schema
from app.config import Config
from app.ingest import aggregates

__all__ = ["EXIT_INTERRUPTED", "run"]


async def run(config: Config, days: int, stop: asyncio.Event) -> int:
    """Refresh ``days`` days back; the exit code: 0 done, 130 stopped."""
    await need_schema(config)
    click.echo(f"analytics: refreshing the last {days} day(s), oldest first")
    line = ProgressLine("analytics", unit="days")
    done = await aggregates.backfill(
        config.settings, days, progress=line.update, should_stop=stop.is_set
    )
    line.finish()
    if done < days:
        click.echo(f"stopped after {done} of {days} days: run it again to finish", err=True)
        return EXIT_INTERRUPTED
    click.echo(f"analytics: {done} day(s) refreshed")
    return 0
