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
from datetime import UTC, datetime, timedelta
from typing import Any

from app.analytics.inputs import (
    AddressActivity,
    AnalyticsInputs,
    ChainActivity,
    DayBucket,
    LargeTransfer,
    WindowTotals,
)
from app.store import analytics, queries
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

    Must be the first thing the caller's transaction does (it sets the snapshot)."""
    await conn.execute(Q["snapshot"])
    await conn.execute(Q["no_jit"])
    span = analytics.Window(*window)
    totals = _totals(await analytics.window_totals(conn, span, chain_id))
    return AnalyticsInputs(
        days=tuple(await list_days(conn, span, chain_id, chain_ids)),
        totals=totals,
        previous=None if previous is None else await _previous(conn, previous, chain_id),
        chains=tuple(await _chains(conn, span, chain_id, totals, names)),
        top_addresses=tuple(
            AddressActivity(
                address=a.address,
                sent=a.sent,
                received=a.received,
                sent_volume=int(a.sent_volume),
                received_volume=int(a.received_volume),
            )
            for a in await analytics.top_addresses(conn, span, chain_id, TOP)
        ),
        largest_transfers=tuple(await list_largest(conn, chain_ids, window, names)),
        newest_transfer_at=await find_newest_transfer_at(conn, chain_ids),
        decimals=decimals,
    )


async def _chains(
    conn: Connection,
    span: analytics.Window,
    chain_id: int | None,
    totals: WindowTotals,
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
        for s in await analytics.chain_distribution(conn, span)
    ]


async def _previous(conn: Connection, bounds: Bounds, chain_id: int | None) -> WindowTotals:
    return _totals(await analytics.window_totals(conn, analytics.Window(*bounds), chain_id))


def _totals(t: analytics.WindowTotals) -> WindowTotals:
    return WindowTotals(
        transfers=t.transfers,
        volume=int(t.volume),
        active_addresses=t.active_addresses,
        senders=t.senders,
        receivers=t.receivers,
    )


@wrap_exceptions
async def list_days(
    conn: Connection, span: analytics.Window, chain_id: int | None, chain_ids: Sequence[int]
) -> list[DayBucket]:
    """One bucket per UTC day with transfers, oldest first. A day whose distinct counts the
    per-day refresh has not computed yet (the open day of a timescale database, whose sums
    come from real-time aggregation) gets them from its raw rows."""
    points = await analytics.daily_series(conn, span, chain_id)
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
    """The ``limit`` (at most 15) largest transfers of the period, largest (then newest)
    first."""
    if limit > KEPT_LARGEST:
        raise ValueError(f"analytics_daily_largest keeps {KEPT_LARGEST} transfers a chain-day")
    cur = await conn.execute(Q["largest"], _params(chains, bounds, limit=limit))
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


def _params(chains: Sequence[int], bounds: Bounds, **extra: Any) -> dict[str, Any]:
    return {"chains": list(chains), "start": bounds[0], "end": bounds[1], **extra}


def _name(names: Mapping[int, str], chain_id: int) -> str:
    return names.get(chain_id) or f"Chain {chain_id}"


def _hex(value: bytes | memoryview) -> str:
    return "0x" + bytes(value).hex()
