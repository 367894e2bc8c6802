"""Everything one analytics answer reads, as app.analytics.inputs rows (app.ops.analytics_service).

:func:`read_inputs` runs the reads of one window in one read-only REPEATABLE READ snapshot
(the caller's transaction), so the daily series, the totals and the breakdowns agree with each
other even while the worker commits. Queries are in ``sql/queries/analytics_reads.sql``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.analytics.inputs import (
    AddressActivity,
    AnalyticsInputs,
    ChainActivity,
    DayBucket,
    LargeTransfer,
    WindowTotals,
)
from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("analytics_reads")
TOP = 15  # rows of each breakdown (app.analytics.breakdowns.TOP)
Bounds = tuple[datetime | None, datetime]  # [start, end); start None: no lower bound


@wrap_exceptions
async def read_inputs(
    conn: Connection,
    chain_ids: Sequence[int],
    *,
    window: Bounds,
    previous: Bounds | None,
    names: Mapping[int, str],
    decimals: int,
) -> AnalyticsInputs:
    """The inputs of a window (and the totals of the period before it), in one snapshot.

    Must be the first thing the caller's transaction does (it sets the snapshot)."""
    await conn.execute(Q["snapshot"])
    chains = list(chain_ids)
    return AnalyticsInputs(
        days=tuple(await list_days(conn, chains, window)),
        totals=await window_totals(conn, chains, window),
        previous=None if previous is None else await window_totals(conn, chains, previous),
        chains=tuple(await list_chain_activity(conn, chains, window, names)),
        top_addresses=tuple(await list_top_addresses(conn, chains, window)),
        largest_transfers=tuple(await list_largest(conn, chains, window, names)),
        newest_transfer_at=await find_newest_transfer_at(conn, chains),
        decimals=decimals,
    )


def _params(chains: Sequence[int], bounds: Bounds, **extra: Any) -> dict[str, Any]:
    return {"chains": list(chains), "start": bounds[0], "end": bounds[1], **extra}


@wrap_exceptions
async def list_days(conn: Connection, chains: Sequence[int], bounds: Bounds) -> list[DayBucket]:
    """One bucket per UTC day with transfers, oldest first."""
    cur = await conn.execute(Q["days"], _params(chains, bounds))
    return [
        DayBucket(
            day=row["day"],
            transfers=int(row["transfers"]),
            volume=int(row["volume"]),
            senders=int(row["senders"]),
            receivers=int(row["receivers"]),
            active_addresses=int(row["active_addresses"]),
            largest=int(row["largest"]),
            median_value=_decimal(row.get("median_value")),
        )
        for row in await cur.fetchall()
    ]


@wrap_exceptions
async def window_totals(conn: Connection, chains: Sequence[int], bounds: Bounds) -> WindowTotals:
    """Exact figures over the period; distinct counts are over the whole period."""
    cur = await conn.execute(Q["totals"], _params(chains, bounds))
    row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY always has a row
    return WindowTotals(
        transfers=int(row["transfers"]),
        volume=int(row["volume"]),
        active_addresses=int(row["active_addresses"]),
        senders=int(row["senders"]),
        receivers=int(row["receivers"]),
    )


@wrap_exceptions
async def list_chain_activity(
    conn: Connection, chains: Sequence[int], bounds: Bounds, names: Mapping[int, str]
) -> list[ChainActivity]:
    """Each chain with a transfer in the period."""
    cur = await conn.execute(Q["chains"], _params(chains, bounds))
    return [
        ChainActivity(
            chain_id=int(row["chain_id"]),
            name=_name(names, int(row["chain_id"])),
            transfers=int(row["transfers"]),
            volume=int(row["volume"]),
            active_addresses=int(row["active_addresses"]),
        )
        for row in await cur.fetchall()
    ]


@wrap_exceptions
async def list_top_addresses(
    conn: Connection, chains: Sequence[int], bounds: Bounds, limit: int = TOP
) -> list[AddressActivity]:
    """The ``limit`` most active addresses of the period (over the chains together)."""
    cur = await conn.execute(Q["top_addresses"], _params(chains, bounds, limit=limit))
    return [
        AddressActivity(
            address=_hex(row["address"]),
            sent=int(row["sent"]),
            received=int(row["received"]),
            sent_volume=int(row["sent_volume"]),
            received_volume=int(row["received_volume"]),
        )
        for row in await cur.fetchall()
    ]


@wrap_exceptions
async def list_largest(
    conn: Connection,
    chains: Sequence[int],
    bounds: Bounds,
    names: Mapping[int, str],
    limit: int = TOP,
) -> list[LargeTransfer]:
    """The ``limit`` largest transfers of the period, largest (then newest) first."""
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


def _name(names: Mapping[int, str], chain_id: int) -> str:
    return names.get(chain_id) or f"Chain {chain_id}"


def _hex(value: bytes | memoryview) -> str:
    return "0x" + bytes(value).hex()


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))
