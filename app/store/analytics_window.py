"""The reads of one analytics window: daily series, totals with exact distinct counts, chain
shares, top addresses, and the chain-days that can hold its largest transfers
(``sql/queries/analytics_window.sql``).

The daily sums come from ``analytics_daily_base``, a real-time continuous aggregate in timescale
mode: every read of it is a union with the hourly level and the raw rows above their
watermarks, which costs more than the rows it returns. :func:`read_days` therefore reads it
once per answer and groups it in the same statement (each day's sums, each chain's, and the
candidate chain-days of the largest transfers). Distinct counts never come from summed
per-day counts: a precomputed window (the last 7, 30 or 90 days, the period before each, or
all, as of the last refresh; migration 0012) reads them from ``analytics_window_counts``, with
its transfers and volume (migration 0017: a previous period is that row), and any other
window tests the day bitmaps of ``analytics_address_days`` (and sums its days:
:func:`sums_read`).

Windows are half-open ``[start, end)`` on UTC day boundaries (app.store.analytics.Window).
Reads take a connection and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.store import queries
from app.store.analytics import Window
from app.store.batch import Read, Rows, fetch
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("analytics_window")
EVERY_CHAIN = 0  # the chain_id of every chain together in the per-window and per-day counts


@dataclass(frozen=True, slots=True)
class DailyPoint:
    """One UTC day (per chain, or every chain together); amounts in raw units.

    ``senders``, ``receivers``, ``active_addresses`` and ``median_value`` are None for a day
    the per-day refresh has not reached yet (the newest minute or so of a timescale database).
    """

    day: datetime
    transfers: int
    volume: Decimal
    largest: Decimal
    senders: int | None
    receivers: int | None
    active_addresses: int | None  # distinct addresses, senders or receivers
    median_value: Decimal | None


@dataclass(frozen=True, slots=True)
class Sums:
    """What adds up over the days of a period (the answer's figures; the aggregates' squares
    and mints are read by analysts through the analytics views)."""

    transfers: int = 0
    volume: Decimal = Decimal(0)
    largest: Decimal | None = None  # None: no transfer
    days: int = 0  # days with at least one transfer

    @classmethod
    def of(cls, days: Iterable[DailyPoint]) -> Sums:
        """Exact: the volumes are integers, added as Python ints (Decimal arithmetic rounds to
        the context's 28 digits, and uint256 sums have up to 78)."""
        active = [d for d in days if d.transfers]
        if not active:
            return cls()
        return cls(
            transfers=sum(d.transfers for d in active),
            volume=Decimal(sum(int(d.volume) for d in active)),
            largest=max(d.largest for d in active),
            days=len(active),
        )


@dataclass(frozen=True, slots=True)
class Counts:
    """Distinct addresses over a whole period (an address active on several days counts once)."""

    senders: int = 0
    receivers: int = 0
    active_addresses: int = 0


@dataclass(frozen=True, slots=True)
class Kept:
    """A precomputed window's row of analytics_window_counts (one chain, or chain 0)."""

    counts: Counts
    transfers: int
    volume: Decimal


@dataclass(frozen=True, slots=True)
class WindowTotals:
    """A window's figures; distinct counts are exact over the whole window."""

    transfers: int
    volume: Decimal
    largest: Decimal | None  # None: no transfer in the window
    days: int  # days with at least one transfer
    senders: int
    receivers: int
    active_addresses: int

    @classmethod
    def of(cls, sums: Sums, counts: Counts) -> WindowTotals:
        s, c = sums, counts
        return cls(
            s.transfers, s.volume, s.largest, s.days, c.senders, c.receivers, c.active_addresses
        )


@dataclass(frozen=True, slots=True)
class ChainShare:
    chain_id: int
    transfers: int
    volume: Decimal
    active_addresses: int


@dataclass(frozen=True, slots=True)
class TopAddress:
    address: str  # lowercase 0x-hex
    sent: int  # transfers sent in the window
    received: int
    sent_volume: Decimal
    received_volume: Decimal


@dataclass(frozen=True, slots=True)
class Bucket:
    """A chain-day whose largest transfer reaches the floor of the window's largest."""

    chain_id: int
    day: datetime
    kept: bool  # its largest transfers are in analytics_daily_largest


@dataclass(frozen=True, slots=True)
class WindowDays:
    """What one read of the daily sums gives (:func:`read_days`)."""

    sums: Sums
    chains: tuple[ChainShare, ...]  # sums of each chain with transfers; active_addresses 0
    days: tuple[DailyPoint, ...]  # days with transfers, oldest first
    buckets: tuple[Bucket, ...] = ()
    floor: Decimal = Decimal(0)  # every one of the largest transfers is at least this


@dataclass
class _Rows:
    days: list[DailyPoint] = field(default_factory=list)
    chains: list[ChainShare] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)
    floor: Decimal = Decimal(0)


# -- reads (app.store.batch: run alone with fetch, or several in one round trip) ----------


def days_read(
    window: Window, chain_id: int | None = None, *, largest: int = 15
) -> Read[WindowDays]:
    """The daily sums of ``window`` (one chain, or every chain: ``chain_id`` None) in one
    statement; ``largest``: how many of the largest transfers the buckets must be able to
    give."""
    params = {"from": window.start, "to": window.end, "chain_id": chain_id, "limit": largest}

    def parse(rows: Rows) -> WindowDays:
        found = _split(rows)
        return WindowDays(
            sums=Sums.of(found.days),
            chains=_by_volume(found.chains),
            days=tuple(sorted(found.days, key=lambda d: d.day)),
            buckets=tuple(found.buckets),
            floor=found.floor,
        )

    return Read(Q["window_days"], params, parse)


def _by_volume(shares: list[ChainShare]) -> tuple[ChainShare, ...]:
    """Volume descending, then chain id; never -volume (Decimal arithmetic rounds to the
    context's 28 digits, and uint256 sums have up to 78)."""
    by_chain = sorted(shares, key=lambda c: c.chain_id)
    return tuple(sorted(by_chain, key=lambda c: c.volume, reverse=True))


def _split(rows: Iterable[Mapping[str, Any]]) -> _Rows:
    found = _Rows()
    for row in rows:
        kind = row["kind"]
        if kind == "day":
            found.days.append(_point(row))
        elif kind == "chain":
            if row["transfers"]:
                share = ChainShare(int(row["chain_id"]), int(row["transfers"]), row["volume"], 0)
                found.chains.append(share)
        else:
            found.buckets.append(Bucket(int(row["chain_id"]), row["day"], bool(row["kept"])))
            found.floor = row["floor"]
    return found


def _point(row: Mapping[str, Any]) -> DailyPoint:
    return DailyPoint(
        day=row["day"],
        transfers=int(row["transfers"]),
        volume=row["volume"],
        largest=row["largest"],
        senders=row["senders"],
        receivers=row["receivers"],
        active_addresses=row["active_addresses"],
        median_value=row["median_value"],
    )


def sums_read(window: Window, chain_id: int | None = None) -> Read[Sums]:
    """The sums of ``window`` alone (for a period that is not precomputed)."""

    def parse(rows: Rows) -> Sums:
        row = rows[0]  # an aggregate without GROUP BY: always one row
        return Sums(int(row["transfers"]), row["volume"], row["largest"], int(row["days"]))

    params = {"from": window.start, "to": window.end, "chain_id": chain_id}
    return Read(Q["window_sums"], params, parse)


def span_read(window: Window) -> Read[int | None]:
    """The precomputed window holding exactly ``window``'s days, or None: n for the last n
    days, -n for the n days before those, 0 for every day (sql/migrations/0012)."""
    if window.end is None:
        raise ValueError("only a window with an end can be precomputed")

    def parse(rows: Rows) -> int | None:
        return int(rows[0]["span_days"]) if rows else None

    return Read(Q["window_span"], {"from": window.start, "to": window.end}, parse)


def kept_counts_read(spans: Sequence[int]) -> Read[dict[tuple[int, int], Kept]]:
    """The distinct counts, transfers and volume of precomputed windows by (span, chain_id);
    chain 0: every chain. A chain absent from a window had no transfer in it."""

    def parse(rows: Rows) -> dict[tuple[int, int], Kept]:
        return {
            (int(r["span_days"]), int(r["chain_id"])): Kept(
                _counts(r), int(r["transfers"]), r["volume"]
            )
            for r in rows
        }

    return Read(Q["counts_kept"], {"spans": list(spans)}, parse)


def counts_read(window: Window, chain_id: int | None) -> Read[Counts]:
    """Distinct senders, receivers and active addresses of any ``window`` from the day
    bitmaps (an address active on several days, or chains for every chain, counts once)."""
    scope = EVERY_CHAIN if chain_id is None else chain_id

    def parse(rows: Rows) -> Counts:
        return _counts(rows[0])  # an aggregate without GROUP BY: always one row

    return Read(Q["counts"], window.params() | {"chain_id": scope}, parse)


def _counts(row: Mapping[str, Any]) -> Counts:
    return Counts(int(row["senders"]), int(row["receivers"]), int(row["active_addresses"]))


def chain_counts_read(window: Window) -> Read[dict[int, int]]:
    """Each chain's distinct active addresses in any ``window``, from the day bitmaps."""

    def parse(rows: Rows) -> dict[int, int]:
        return {int(r["chain_id"]): int(r["active_addresses"]) for r in rows}

    return Read(Q["chain_counts"], window.params(), parse)


def top_read(
    window: Window, chain_id: int | None, limit: int, span: int | None
) -> Read[list[TopAddress]]:
    """The addresses with the most transfers (sent + received) in ``window``, ties by volume
    then address; with ``chain_id`` None an address's chains are added together. A
    precomputed window (``span``) is read from its index (analytics_address_windows); any
    other groups analytics_address_daily, the same figures, slower."""
    if span is not None:
        ask = {"span": span, "chain_id": EVERY_CHAIN if chain_id is None else chain_id}
        return Read(Q["top_addresses_window"], ask | {"limit": limit}, _top)
    params = window.params() | {"limit": limit, "chain_id": chain_id}
    query = Q["top_addresses_global"] if chain_id is None else Q["top_addresses_chain"]
    return Read(query, params, _top)


def _top(rows: Rows) -> list[TopAddress]:
    return [
        TopAddress(
            "0x" + bytes(r["address"]).hex(),
            r["sent"],
            r["received"],
            r["sent_volume"],
            r["received_volume"],
        )
        for r in rows
    ]


def with_counts(shares: Iterable[ChainShare], active: Mapping[int, int]) -> list[ChainShare]:
    """The chains' shares with their distinct active addresses."""
    return [
        ChainShare(s.chain_id, s.transfers, s.volume, active.get(s.chain_id, 0)) for s in shares
    ]


# -- the same, each on its own ------------------------------------------------------------


@wrap_exceptions
async def read_days(
    conn: Connection, window: Window, chain_id: int | None = None, *, largest: int = 15
) -> WindowDays:
    """:func:`days_read`, now."""
    return await fetch(conn, days_read(window, chain_id, largest=largest))


@wrap_exceptions
async def find_window_span(conn: Connection, window: Window) -> int | None:
    """:func:`span_read`, now; None for a window without an end."""
    return None if window.end is None else await fetch(conn, span_read(window))


@wrap_exceptions
async def read_counts(conn: Connection, window: Window, chain_id: int | None) -> Counts:
    """The distinct counts of ``window``: a precomputed window's row, or the day bitmaps."""
    span = await find_window_span(conn, window)
    if span is None:
        return await fetch(conn, counts_read(window, chain_id))
    kept = await fetch(conn, kept_counts_read([span]))
    row = kept.get((span, EVERY_CHAIN if chain_id is None else chain_id))
    return Counts() if row is None else row.counts


@wrap_exceptions
async def daily_series(
    conn: Connection, window: Window, chain_id: int | None = None
) -> list[DailyPoint]:
    """One point per UTC day with transfers in ``window`` (days without any are absent),
    for one chain or, with ``chain_id`` None, every chain together."""
    return list((await read_days(conn, window, chain_id)).days)


@wrap_exceptions
async def window_totals(
    conn: Connection, window: Window, chain_id: int | None = None
) -> WindowTotals:
    """Totals of ``window`` with exact distinct senders, receivers and active addresses."""
    days = await read_days(conn, window, chain_id)
    return WindowTotals.of(days.sums, await read_counts(conn, window, chain_id))


@wrap_exceptions
async def chain_distribution(conn: Connection, window: Window) -> list[ChainShare]:
    """Each chain with transfers in ``window``: its transfers, volume and distinct active
    addresses, by volume descending."""
    days = await read_days(conn, window)
    span = await find_window_span(conn, window)
    if span is None:
        active = await fetch(conn, chain_counts_read(window))
    else:
        kept = await fetch(conn, kept_counts_read([span]))
        active = {c: k.counts.active_addresses for (_, c), k in kept.items() if c != EVERY_CHAIN}
    return with_counts(days.chains, active)


@wrap_exceptions
async def top_addresses(
    conn: Connection, window: Window, chain_id: int | None = None, limit: int = 15
) -> list[TopAddress]:
    """:func:`top_read` of ``window``, its precomputed window looked up first."""
    span = await find_window_span(conn, window)
    return await fetch(conn, top_read(window, chain_id, limit, span))
