"""Analytics aggregates: refreshes, the ledger of backfilled ranges, and the reads the API uses.

The relations (sql/migrations/0011_analytics.sql and its mode files) have the same names and
columns in both schema modes: ``analytics_hourly`` and ``analytics_daily_base`` (continuous
aggregates in timescale mode, tables in portable mode), ``analytics_address_daily`` (one row per
chain, UTC day and address) and ``analytics_daily_uniques`` (distinct addresses and median per
chain and day, chain 0 for every chain together), read through the views ``analytics_daily``
and ``analytics_daily_global``. A window's distinct counts are ``count(distinct address)`` over
``analytics_address_daily``: exact for any window, where per-day counts could not be summed.

Reads take a connection and never commit. :func:`refresh` is different: a continuous
aggregate can only be refreshed outside a transaction, so it needs an autocommit connection
and commits each step itself (the steps are idempotent; a failed one is simply run again).
Windows are half-open ``[start, end)`` on UTC day boundaries (distinct counts have a bit per
day); ``None`` means unbounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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
class DailyPoint:
    """One UTC day (per chain, or every chain together); amounts in raw units.

    ``senders``, ``receivers``, ``active_addresses`` and ``median_value`` are None for a day
    the per-day refresh has not reached yet (the newest minute or so of a timescale database).
    """

    day: datetime
    transfers: int
    volume: Decimal
    volume_squares: Decimal  # sum of value^2: with transfers and volume, the variance
    largest: Decimal
    mints: int  # transfers from the zero address
    minted: Decimal
    burns: int  # transfers to the zero address
    burned: Decimal
    senders: int | None
    receivers: int | None
    active_addresses: int | None  # distinct addresses, senders or receivers
    median_value: Decimal | None


@dataclass(frozen=True, slots=True)
class WindowTotals:
    """A window's figures; distinct counts are exact over the whole window."""

    transfers: int
    volume: Decimal
    volume_squares: Decimal
    largest: Decimal | None  # None: no transfer in the window
    mints: int
    minted: Decimal
    burns: int
    burned: Decimal
    days: int  # days with at least one transfer
    senders: int
    receivers: int
    active_addresses: int


@dataclass(frozen=True, slots=True)
class TopAddress:
    address: str  # lowercase 0x-hex
    sent: int  # transfers sent in the window
    received: int
    sent_volume: Decimal
    received_volume: Decimal

    @property
    def transfers(self) -> int:
        return self.sent + self.received

    @property
    def volume(self) -> Decimal:
        return self.sent_volume + self.received_volume


@dataclass(frozen=True, slots=True)
class ChainShare:
    chain_id: int
    transfers: int
    volume: Decimal
    active_addresses: int


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


# -- reads for the API ------------------------------------------------------------------


@wrap_exceptions
async def daily_series(
    conn: Connection, window: Window, chain_id: int | None = None
) -> list[DailyPoint]:
    """One point per UTC day with transfers in ``window`` (days without any are absent),
    for one chain or, with ``chain_id`` None, every chain together."""
    if chain_id is None:
        cur = await conn.execute(Q["daily_global"], window.params())
    else:
        cur = await conn.execute(Q["daily_chain"], window.params() | {"chain_id": chain_id})
    return [DailyPoint(**row) for row in await cur.fetchall()]


@wrap_exceptions
async def window_totals(
    conn: Connection, window: Window, chain_id: int | None = None
) -> WindowTotals:
    """Totals of ``window`` with exact distinct senders, receivers and active addresses
    (an address active on several days, or chains for the global figure, counts once).

    A precomputed window (the last 7, 30 or 90 days, the period before each, or all, as of
    the last refresh) reads its distinct counts from analytics_window_counts; any other
    window tests the day bitmaps of every address active since its start."""
    span = await find_window_span(conn, window)
    if span is not None:
        ask = window.params() | {"span": span, "chain_id": chain_id or 0}
        cur = await conn.execute(Q["totals_window"], ask)
    elif chain_id is None:
        cur = await conn.execute(Q["totals_global"], window.params())
    else:
        cur = await conn.execute(Q["totals_chain"], window.params() | {"chain_id": chain_id})
    row = await cur.fetchone()
    if row is None:  # an aggregate without GROUP BY always returns one row
        raise RuntimeError("window totals returned no row")
    return WindowTotals(**row)


@wrap_exceptions
async def top_addresses(
    conn: Connection, window: Window, chain_id: int | None = None, limit: int = 15
) -> list[TopAddress]:
    """The addresses with the most transfers (sent + received) in ``window``, ties by volume
    then address; with ``chain_id`` None an address's chains are added together.

    A window the refresh keeps precomputed (the last 7, 30 or 90 days, the period before
    each, or all, as of the last refresh: analytics_address_windows) is read from its index;
    any other window groups analytics_address_daily, the same figures, slower."""
    params = window.params() | {"limit": limit}
    span = await find_window_span(conn, window)
    if span is not None:
        ask = {"span": span, "chain_id": chain_id or 0, "limit": limit}
        cur = await conn.execute(Q["top_addresses_window"], ask)
    elif chain_id is None:
        cur = await conn.execute(Q["top_addresses_global"], params)
    else:
        cur = await conn.execute(Q["top_addresses_chain"], params | {"chain_id": chain_id})
    return [
        TopAddress(
            "0x" + bytes(r["address"]).hex(),
            r["sent"],
            r["received"],
            r["sent_volume"],
            r["received_volume"],
        )
        for r in await cur.fetchall()
    ]


@wrap_exceptions
async def find_window_span(conn: Connection, window: Window) -> int | None:
    """The precomputed window holding exactly ``window``'s days, or None: n for the last n
    days, -n for the n days before those, 0 for every day (sql/migrations/0012)."""
    if window.end is None:
        return None
    cur = await conn.execute(Q["window_span"], {"from": window.start, "to": window.end})
    row = await cur.fetchone()
    return None if row is None else int(row["span_days"])


@wrap_exceptions
async def chain_distribution(conn: Connection, window: Window) -> list[ChainShare]:
    """Each chain with transfers in ``window``: its transfers, volume and distinct active
    addresses, by volume descending (a precomputed window's from analytics_window_counts)."""
    span = await find_window_span(conn, window)
    if span is not None:
        ask = window.params() | {"span": span}
        cur = await conn.execute(Q["chain_distribution_window"], ask)
    else:
        cur = await conn.execute(Q["chain_distribution"], window.params())
    return [ChainShare(**row) for row in await cur.fetchall()]
