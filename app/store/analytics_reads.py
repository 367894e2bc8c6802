"""Everything one analytics answer reads, as app.analytics.inputs rows (app.ops.analytics_service).

:func:`read_inputs` runs the reads of one window in one read-only REPEATABLE READ snapshot
(the caller's transaction), so the daily series, the totals and the breakdowns agree with each
other even while the worker commits. Most figures come from the aggregates' own reads
(app.store.analytics: daily series, window totals with exact distinct counts, top addresses,
chain distribution); this module adds what those do not give, in
``sql/queries/analytics_reads.sql``: the largest transfers (the kept 15 largest of a few
chain-days picked from the daily maxima, never a scan of the window), the newest transfer, and the
distinct counts of a day the per-day refresh has not reached yet (raw rows of that day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.analytics.inputs import (
    AddressActivity,
    AnalyticsInputs,
    ChainActivity,
    DayBucket,
    LargeTransfer,
    WindowTotals,
)
from app.store import analytics, queries
from app.store import analytics_window as windows
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("analytics_reads")
TOP = 15  # rows of each breakdown (app.analytics.breakdowns.TOP)
KEPT_LARGEST = 15  # transfers a chain-day in analytics_daily_largest (040_analytics.sql)
Bounds = tuple[datetime | None, datetime]  # [start, end) on UTC day starts; None: unbounded


@wrap_exceptions
async def read_inputs(
    conn: Connection,
    chain_id: int | None,
    chain_ids: Sequence[int],
    *,
    window: Bounds,
    previous: Bounds | None,
    names: Mapping[int, str],
    decimals: int,
) -> AnalyticsInputs:
    """The inputs of a window for one chain (or every chain: ``chain_id`` None, with
    ``chain_ids`` every chain the store knows), and the totals of the period before it.

    Must be the first thing the caller's transaction does (it sets the snapshot). The daily
    sums are read once for both periods (app.store.analytics_window.read_days); the distinct
    counts of both periods and every chain in one more statement when the windows are
    precomputed (the 7/30/90-day and all ranges, as of the last refresh)."""
    await conn.execute(Q["snapshot"])
    await conn.execute(Q["no_jit"])
    span = analytics.Window(*window)
    before = None if previous is None else analytics.Window(*previous)
    spans = await _spans(conn, span, before)
    days = await windows.read_days(conn, span, chain_id, previous=before, largest=TOP)
    counts = await _counts(conn, span, before, chain_id, spans)
    totals = _totals(days.sums, counts.window)
    return AnalyticsInputs(
        days=tuple(await _buckets(conn, days.days, chain_ids)),
        totals=totals,
        previous=None if days.previous is None else _totals(days.previous, counts.previous),
        chains=tuple(_chains(days, chain_id, totals, counts.chains, names)),
        top_addresses=tuple(
            AddressActivity(
                address=a.address,
                sent=a.sent,
                received=a.received,
                sent_volume=int(a.sent_volume),
                received_volume=int(a.received_volume),
            )
            for a in await windows.top_addresses(conn, span, chain_id, TOP, span=spans[0])
        ),
        largest_transfers=tuple(await _largest(conn, days, names, TOP)),
        newest_transfer_at=await find_newest_transfer_at(conn, chain_ids),
        decimals=decimals,
    )


async def _spans(
    conn: Connection, window: analytics.Window, previous: analytics.Window | None
) -> tuple[int | None, int | None]:
    """The precomputed windows of both periods (each may be None: not kept, or stale)."""
    found = await windows.find_window_span(conn, window)
    return found, None if previous is None else await windows.find_window_span(conn, previous)


@dataclass(frozen=True, slots=True)
class _Counts:
    window: windows.Counts
    previous: windows.Counts
    chains: Mapping[int, int]  # each chain's active addresses in the window


async def _counts(
    conn: Connection,
    window: analytics.Window,
    previous: analytics.Window | None,
    chain_id: int | None,
    spans: tuple[int | None, int | None],
) -> _Counts:
    """Both periods' distinct counts and the chains' (only for every chain together)."""
    scope = windows.EVERY_CHAIN if chain_id is None else chain_id
    kept = [s for s in spans if s is not None]
    found = await windows.read_kept_counts(conn, kept) if kept else {}

    async def period(bounds: analytics.Window | None, span: int | None) -> windows.Counts:
        if bounds is None:
            return windows.Counts()
        if span is not None:
            return found.get((span, scope), windows.Counts())
        return await windows.read_counts(conn, bounds, chain_id, span=None)

    chains: Mapping[int, int] = {}
    if chain_id is None and spans[0] is not None:
        chains = {c: n.active_addresses for (s, c), n in found.items() if s == spans[0] and c}
    elif chain_id is None:
        chains = await windows.read_chain_counts(conn, window, span=None)
    return _Counts(await period(window, spans[0]), await period(previous, spans[1]), chains)


def _chains(
    days: windows.WindowDays,
    chain_id: int | None,
    totals: WindowTotals,
    active: Mapping[int, int],
    names: Mapping[int, str],
) -> list[ChainActivity]:
    """Each chain's share; one chain's is its window totals (the distribution would compute
    every chain's distinct addresses to keep one)."""
    if chain_id is not None:
        if not totals.transfers:
            return []
        name = _name(names, chain_id)
        return [
            ChainActivity(chain_id, name, totals.transfers, totals.volume, totals.active_addresses)
        ]
    return [
        ChainActivity(
            chain_id=s.chain_id,
            name=_name(names, s.chain_id),
            transfers=s.transfers,
            volume=int(s.volume),
            active_addresses=s.active_addresses,
        )
        for s in windows.with_counts(days.chains, active)
    ]


def _totals(sums: windows.Sums, counts: windows.Counts) -> WindowTotals:
    return WindowTotals(
        transfers=sums.transfers,
        volume=int(sums.volume),
        active_addresses=counts.active_addresses,
        senders=counts.senders,
        receivers=counts.receivers,
    )


@wrap_exceptions
async def list_days(
    conn: Connection, span: analytics.Window, chain_id: int | None, chain_ids: Sequence[int]
) -> list[DayBucket]:
    """One bucket per UTC day with transfers, oldest first. A day whose distinct counts the
    per-day refresh has not computed yet (the open day of a timescale database, whose sums
    come from real-time aggregation) gets them from its raw rows."""
    points = await windows.daily_series(conn, span, chain_id)
    return await _buckets(conn, points, chain_ids)


async def _buckets(
    conn: Connection, points: Sequence[windows.DailyPoint], chain_ids: Sequence[int]
) -> list[DayBucket]:
    pending = [p.day for p in points if p.active_addresses is None]
    raw = await _raw_days(conn, chain_ids, min(pending), max(pending)) if pending else {}
    buckets = []
    for p in points:
        senders, receivers, active = raw.get(p.day) or (p.senders, p.receivers, p.active_addresses)
        buckets.append(
            DayBucket(
                day=p.day.astimezone(UTC).date(),
                transfers=p.transfers,
                volume=int(p.volume),
                senders=senders or 0,
                receivers=receivers or 0,
                active_addresses=active or 0,
                largest=int(p.largest),
                median_value=p.median_value,
            )
        )
    return buckets


async def _raw_days(
    conn: Connection, chains: Sequence[int], first: datetime, last: datetime
) -> dict[datetime, tuple[int, int, int]]:
    params = {"chains": list(chains), "start": first, "end": last + timedelta(days=1)}
    cur = await conn.execute(Q["raw_days"], params)
    return {
        row["day"]: (int(row["senders"]), int(row["receivers"]), int(row["active_addresses"]))
        for row in await cur.fetchall()
    }


@wrap_exceptions
async def list_largest(
    conn: Connection,
    chains: Sequence[int],
    bounds: Bounds,
    names: Mapping[int, str],
    limit: int = TOP,
) -> list[LargeTransfer]:
    """The ``limit`` (at most 15) largest transfers of the period on ``chains`` (one, or
    every chain), largest (then newest) first."""
    chain_id = chains[0] if len(chains) == 1 else None
    days = await windows.read_days(conn, analytics.Window(*bounds), chain_id, largest=limit)
    return await _largest(conn, days, names, limit)


async def _largest(
    conn: Connection, days: windows.WindowDays, names: Mapping[int, str], limit: int
) -> list[LargeTransfer]:
    """The largest transfers held by the chain-days read_days picked."""
    if limit > KEPT_LARGEST:
        raise ValueError(f"analytics_daily_largest keeps {KEPT_LARGEST} transfers a chain-day")
    if not days.buckets:
        return []
    params = {
        "chains": [b.chain_id for b in days.buckets],
        "days": [b.day for b in days.buckets],
        "kept": [b.kept for b in days.buckets],
        "floor": days.floor,
        "limit": limit,
    }
    cur = await conn.execute(Q["largest"], params)
    return [
        LargeTransfer(
            chain_id=int(row["chain_id"]),
            chain_name=_name(names, int(row["chain_id"])),
            tx_hash=_hex(row["tx_hash"]),
            log_index=int(row["log_index"]),
            from_address=_hex(row["from_address"]),
            to_address=_hex(row["to_address"]),
            value=int(row["value"]),
            block_time=row["block_time"],
        )
        for row in await cur.fetchall()
    ]


@wrap_exceptions
async def find_newest_transfer_at(conn: Connection, chains: Sequence[int]) -> datetime | None:
    """Block time of the newest stored transfer of the chains, or None."""
    cur = await conn.execute(Q["newest"], {"chains": list(chains)})
    row = await cur.fetchone()
    return None if row is None else row["newest"]


def _name(names: Mapping[int, str], chain_id: int) -> str:
    return names.get(chain_id) or f"Chain {chain_id}"


def _hex(value: bytes | memoryview) -> str:
    return "0x" + bytes(value).hex()
