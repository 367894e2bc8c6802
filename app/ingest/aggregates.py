"""Keeping the analytics aggregates in step with ingestion (app.store.analytics).

Every run of the ``analytics_refresh`` job (schedulers/jobs.py) refreshes the recent days
(yesterday and today, UTC), then every range ingestion recorded in ``analytics_dirty`` because
it wrote rows older than that (a backfill, a repair: the refresh policies of a timescale
database only look at recent buckets, so without this those rows would never be
materialized), then brings the precomputed windows up to date (top addresses and distinct
counts of the standard windows: app.store.analytics.catch_up_windows), then applies the
hourly retention. ``tokenpulse backfill-analytics`` refreshes a number of past days, and the
windows once at the end. Everything goes one UTC day per statement, so no statement comes
near ``statement_timeout`` however long the range.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from app.config import Settings
from app.store import analytics
from app.store import pool as store_pool

log = logging.getLogger(__name__)
RECENT_DAYS = 2  # yesterday and today: what mark_rows leaves out of analytics_dirty


@dataclass(slots=True)
class RefreshReport:
    days: int = 0  # day refreshes run
    dirty: int = 0  # dirty ranges refreshed and cleared


def days(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The UTC days ``[start, end)`` touches, as ``[day, day + 1)``, oldest first."""
    day = analytics.day_start(start)
    while day < end:
        yield day, day + analytics.DAY
        day += analytics.DAY


async def maintenance_connection(
    settings: Settings, dsn: str | None = None
) -> store_pool.Connection:
    """An autocommit connection with the refresh's statement timeout
    (TOKENPULSE_ANALYTICS_REFRESH_TIMEOUT_MS), not the requests' one: rebuilding the
    precomputed windows after UTC midnight is one long statement at 10 M transfers."""
    return await store_pool.connect(
        settings,
        dsn=dsn,
        autocommit=True,
        statement_timeout_ms=settings.analytics_refresh_timeout_ms,
    )


async def refresh_days(
    conn: store_pool.Connection,
    start: datetime,
    end: datetime,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    *,
    defer_windows: bool = False,
) -> int:
    """Refresh ``[start, end)`` a day at a time on an autocommit connection; returns the days
    done (fewer than asked when ``should_stop`` turned true). ``defer_windows``: leave the
    precomputed windows to one ``analytics.catch_up_windows`` at the end (a backfill)."""
    todo = list(days(start, end))
    for done, (lo, hi) in enumerate(todo):
        if should_stop():
            return done
        await analytics.refresh(conn, lo, hi, defer_windows=defer_windows)
        if progress is not None:
            progress(done + 1, len(todo))
    return len(todo)


async def refresh_once(
    settings: Settings, now: datetime | None = None, *, dsn: str | None = None
) -> RefreshReport:
    """One run of the analytics_refresh job: recent days, dirty ranges, retention.

    ``dsn`` is the worker's database when it is not TOKENPULSE_DATABASE_URL (the demo's
    embedded cluster). Its own autocommit connection, not one of the pool's: a continuous
    aggregate refresh cannot run inside a transaction block.
    """
    now = now or datetime.now(UTC)
    report = RefreshReport()
    conn = await maintenance_connection(settings, dsn)
    async with conn:
        today = analytics.day_start(now)
        report.days += await refresh_days(
            conn, today - (RECENT_DAYS - 1) * analytics.DAY, today + analytics.DAY
        )
        dirty = await analytics.list_dirty(conn)
        for lo, hi in analytics.merge_days(dirty):
            report.days += await refresh_days(conn, lo, hi, defer_windows=True)
        # The windows the dirty days set aside, or whose days moved at UTC midnight.
        await analytics.catch_up_windows(conn)
        if dirty:
            # Deleted only once refreshed: a failed run leaves them for the next one.
            await analytics.delete_dirty(conn, [r.id for r in dirty])
            report.dirty = len(dirty)
        await analytics.apply_retention(conn, settings.analytics_hourly_retention_days)
    return report


async def backfill(
    settings: Settings,
    days_back: int,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    now: datetime | None = None,
) -> int:
    """Refresh the last ``days_back`` UTC days (today included), oldest first; returns the
    days refreshed."""
    today = analytics.day_start(now or datetime.now(UTC))
    start = today - (days_back - 1) * analytics.DAY
    conn = await maintenance_connection(settings)
    async with conn:
        done = await refresh_days(
            conn, start, today + analytics.DAY, progress, should_stop, defer_windows=True
        )
        await analytics.catch_up_windows(conn)  # once, however many days were refreshed
        await analytics.apply_retention(conn, settings.analytics_hourly_retention_days)
    log.info("analytics backfilled", extra={"days": done})
    return done
