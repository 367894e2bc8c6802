"""Analytics aggregates: refreshes and the ledger of backfilled ranges (the reads of a window
are app.store.analytics_window).

The relations (sql/migrations/0011_analytics.sql and its mode files) have the same names and
columns in both schema modes: ``analytics_hourly`` and ``analytics_daily_base`` (continuous
aggregates in timescale mode, tables in portable mode), ``analytics_address_daily`` (one row per
chain, UTC day and address) and ``analytics_daily_uniques`` (distinct addresses and median per
chain and day, chain 0 for every chain together), read through the views ``analytics_daily``
and ``analytics_daily_global``.

Functions take a connection and never commit. :func:`refresh` is different: a continuous
aggregate can only be refreshed outside a transaction, so it needs an autocommit connection
and commits each step itself (the steps are idempotent; a failed one is simply run again).
Windows are half-open ``[start, end)`` on UTC day boundaries (distinct counts have a bit per
day); ``None`` means unbounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.domain import Transfer
from app.store import notify, queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("analytics")
CACHE_SECTION = "analytics"  # the API's cache of analytics answers (app.ops.analytics_service)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Window:
    """UTC ``[start, end)``; ``None`` leaves that side open (``Window()`` is "all")."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def last_days(cls, days: int, now: datetime | None = None) -> Window:
        """``days`` calendar days ending with today (UTC), today included, as the legacy API."""
        today = day_start(now or datetime.now(UTC))
        return cls(today - (days - 1) * DAY, today + DAY)

    def previous(self) -> Window:
        """The window of the same length just before this one (bounded windows only)."""
        if self.start is None or self.end is None:
            raise ValueError("an unbounded window has no previous period")
        return Window(self.start - (self.end - self.start), self.start)

    def params(self) -> dict[str, Any]:
        return {
            "from": self.start,
            "to": self.end,
            # The same bounds as UTC dates, for analytics_address_days (a bit per day).
            "from_day": None if self.start is None else self.start.astimezone(UTC).date(),
            "to_day": None if self.end is None else _day_after(self.end),
        }


@dataclass(frozen=True, slots=True)
class DirtyRange:
    id: int
    chain_id: int
    start: datetime
    end: datetime  # the newest block time written (inclusive)


def _day_after(end: datetime) -> date:
    """The first UTC day wholly at or after ``end`` (the exclusive end of a day window)."""
    day = day_start(end)
    return (day if day == end.astimezone(UTC) else day + DAY).date()


def day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# -- refreshes --------------------------------------------------------------------------


@wrap_exceptions
async def refresh(
    conn: Connection, start: datetime, end: datetime, *, defer_windows: bool = False
) -> bool:
    """Recompute every analytics bucket of the UTC days ``[start, end)`` touches; True when
    the per-day figures changed.

    ``conn`` must be in autocommit mode: in timescale mode each continuous aggregate is
    refreshed by ``CALL refresh_continuous_aggregate`` (hourly first, then the daily level
    built on it), which refuses to run in a transaction; then ``analytics_refresh`` rebuilds
    the per-day tables (portable mode: every table) in one transaction. Idempotent.

    ``defer_windows`` (a backfill, many days in a row): the precomputed windows the days
    fall in are set aside rather than updated day by day; :func:`catch_up_windows` rebuilds
    them once at the end (until then readers use the per-day tables, same figures).

    When the refresh changed a day's rows (a transfer added, removed or changed), the same
    transaction announces it with the chains concerned (a ``section`` event of
    app.store.notify): an API process drops their cached analytics answers, and the
    all-chains ones, when the new figures become visible, not a TTL later.
    """
    if not conn.autocommit:
        raise ValueError("analytics refresh needs an autocommit connection")
    if end <= start:
        return False
    params = {"from": start, "to": end}
    cur = await conn.execute(Q["cagg_windows"], params)
    for row in await cur.fetchall():
        await conn.execute(
            Q["refresh_cagg"],
            {"view": row["view_name"], "from": row["window_from"], "to": row["window_to"]},
        )
    async with conn.transaction():
        if defer_windows:
            await conn.execute(Q["defer_windows"])
        await conn.execute(Q["refresh"], params)
        cur = await conn.execute(Q["refresh_changed"])
        chains = [int(row["chain_id"]) for row in await cur.fetchall()]
        if chains:
            await notify.notify_section(conn, CACHE_SECTION, chains)
    return bool(chains)


@wrap_exceptions
async def catch_up_windows(conn: Connection) -> None:
    """Build the precomputed windows a backfill set aside, or whose days moved (UTC
    midnight passed), in one transaction. ``conn`` in autocommit mode, as for refresh."""
    async with conn.transaction():
        await conn.execute(Q["catch_up_windows"])


@wrap_exceptions
async def apply_retention(conn: Connection, days: int) -> None:
    """Hourly rows are kept ``days`` days: portable mode deletes older ones now; timescale
    mode sets its retention policy (whole 7-day chunks go at its next run)."""
    await conn.execute(Q["apply_retention"], {"days": days})


@wrap_exceptions
async def mark_rows(conn: Connection, rows: Iterable[Transfer]) -> int:
    """Record the time range of each chain's rows when it reaches back before yesterday
    (UTC), in the caller's transaction, for the analytics_refresh job to refresh; newer rows
    are covered by every refresh anyway. Returns the ranges recorded."""
    spans: dict[int, tuple[datetime, datetime]] = {}
    for row in rows:
        lo, hi = spans.get(row.chain_id, (row.block_time, row.block_time))
        spans[row.chain_id] = (min(lo, row.block_time), max(hi, row.block_time))
    recorded = 0
    for chain_id, (lo, hi) in spans.items():
        cur = await conn.execute(Q["mark_dirty"], {"chain_id": chain_id, "from": lo, "to": hi})
        recorded += cur.rowcount
    return recorded


@wrap_exceptions
async def mark_blocks(conn: Connection, chain_id: int, lo: int, hi: int) -> int:
    """Record the time range of the stored rows of blocks [lo, hi] when old: call it before
    deleting them (a repair), while their block times can still be read."""
    cur = await conn.execute(Q["mark_blocks"], {"chain_id": chain_id, "lo": lo, "hi": hi})
    return cur.rowcount


@wrap_exceptions
async def list_dirty(conn: Connection, limit: int = 1000) -> list[DirtyRange]:
    cur = await conn.execute(Q["list_dirty"], {"limit": limit})
    return [
        DirtyRange(r["id"], r["chain_id"], r["from_time"], r["to_time"])
        for r in await cur.fetchall()
    ]


@wrap_exceptions
async def delete_dirty(conn: Connection, ids: Sequence[int]) -> None:
    await conn.execute(Q["delete_dirty"], {"ids": list(ids)})


def merge_days(ranges: Iterable[DirtyRange]) -> list[tuple[datetime, datetime]]:
    """The dirty ranges as whole UTC days ``[start, end)``, overlapping or adjacent ones
    merged (every chain's buckets of a day are refreshed together). Pure."""
    spans = sorted((day_start(r.start), day_start(r.end) + DAY) for r in ranges)
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
