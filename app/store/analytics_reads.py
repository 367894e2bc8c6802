"""Everything one analytics answer reads, as app.analytics.inputs rows (app.ops.analytics_service).

:func:`read_inputs` runs the reads of one window in one read-only REPEATABLE READ snapshot
(the caller's transaction), so the daily series, the totals and the breakdowns agree with each
other even while the worker commits. Most figures come from the reads of a window
(app.store.analytics_window: the window's daily sums in one read of the aggregate; the
distinct counts, top addresses and previous period of the precomputed windows); this module
adds what those do not give, in
``sql/queries/analytics_reads.sql``: the largest transfers (the kept 15 largest of a few
chain-days picked from the daily maxima, never a scan of the window), the newest transfer, and the
distinct counts of a day the per-day refresh has not reached yet (raw rows of that day).

The statements go in two batches (app.store.batch: one round trip each): what needs nothing
else (the snapshot, the precomputed windows, the daily sums, the newest transfer), then what
needs their results (distinct counts, previous period and top addresses of the precomputed
windows, the largest transfers of the candidate chain-days, the raw counts of a day not
refreshed yet).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

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
from app.store.batch import Batch, Pending, Read, Rows, batch, fetch
from app.store.errors import translate, wrap_exceptions
from app.store.pool import Connection

Q = queries.load("analytics_reads")
TOP = 15  # rows of each breakdown (app.analytics.breakdowns.TOP)
KEPT_LARGEST = 15  # transfers a chain-day in analytics_daily_largest (040_analytics.sql)
Bounds = tuple[datetime | None, datetime]  # [start, end) on UTC day starts; None: unbounded
RawDays = dict[datetime, tuple[int, int, int]]  # day -> senders, receivers, active addresses


@dataclass(frozen=True, slots=True)
class Ask:
    """One answer's question: a window for one chain (or every chain: ``chain_id`` None, with
    ``chain_ids`` every chain the store knows), and the period before it."""

    window: analytics.Window
    previous: analytics.Window | None
    chain_id: int | None
    chain_ids: Sequence[int]
    names: Mapping[int, str]
    decimals: int

    @classmethod
    def of(
        cls,
        chain_id: int | None,
        chain_ids: Sequence[int],
        window: Bounds,
        previous: Bounds | None,
        names: Mapping[int, str],
        decimals: int,
    ) -> Ask:
        before = None if previous is None else analytics.Window(*previous)
        return cls(analytics.Window(*window), before, chain_id, chain_ids, names, decimals)


@wrap_exceptions
async def read_inputs(conn: Connection, ask: Ask) -> AnalyticsInputs:
    """Everything the answer to ``ask`` reads, in the caller's transaction.

    Must be the first thing the caller's transaction does (it sets the snapshot)."""
    async with reading_inputs(conn, ask) as reading:
        pass
    return reading.inputs


@dataclass
class Reading:
    """An answer's reads under way (:func:`reading_inputs`)."""

    days: tuple[DayBucket, ...]  # transfers and volume final; distinct counts maybe not yet
    _inputs: AnalyticsInputs | None = None

    @property
    def inputs(self) -> AnalyticsInputs:
        if self._inputs is None:
            raise RuntimeError("the reads end with the reading_inputs block")
        return self._inputs


@contextlib.asynccontextmanager
async def reading_inputs(conn: Connection, ask: Ask) -> AsyncIterator[Reading]:
    """:func:`read_inputs` in two steps, so a caller can work while the database does. In
    the block, the first round trip is done (``days``: each day's sums are final) and the
    second is sent; at its end ``inputs`` holds everything (a failed read raises there).
    Must be the first thing the caller's transaction does (it sets the snapshot)."""
    try:
        async with batch(conn) as first:
            await first.command(Q["snapshot"])
            await first.command(Q["no_jit"])
            span = await first.add(windows.span_read(ask.window))
            before = (
                None if ask.previous is None else await first.add(windows.span_read(ask.previous))
            )
            days = await first.add(windows.days_read(ask.window, ask.chain_id))
            newest = await first.add(_newest_read(ask.chain_ids))
        spans = (span.value, None if before is None else before.value)
        reading = Reading(tuple(_buckets(days.value.days, {})))
        async with batch(conn) as second:
            periods = await _add_periods(second, ask, spans)
            top = await second.add(windows.top_read(ask.window, ask.chain_id, TOP, spans[0]))
            largest = await second.add(_largest_read(days.value, ask.names, TOP))
            raw = await second.add(_raw_read(days.value.days, ask.chain_ids))
            yield reading
    except psycopg.Error as exc:
        raise translate(exc) from exc
    found = periods()
    totals = _totals(days.value.sums, found.window)
    reading._inputs = AnalyticsInputs(
        days=tuple(_buckets(days.value.days, raw.value)) if raw.value else reading.days,
        totals=totals,
        previous=found.previous,
        chains=tuple(_chains(days.value, ask, totals, found.chains)),
        top_addresses=tuple(_activity(a) for a in top.value),
        largest_transfers=tuple(largest.value),
        newest_transfer_at=newest.value,
        decimals=ask.decimals,
    )


@dataclass(frozen=True, slots=True)
class _Periods:
    window: windows.Counts  # the window's distinct counts (its sums come from its days)
    previous: WindowTotals | None  # the period before it, whole
    chains: Mapping[int, int]  # each chain's active addresses in the window


KeptRows = Pending[dict[tuple[int, int], windows.Kept]]


async def _add_periods(
    into: Batch, ask: Ask, spans: tuple[int | None, int | None]
) -> Callable[[], _Periods]:
    """Adds the reads of the window's distinct counts, of the whole previous period and of each
    chain's distinct counts (when the answer is for every chain); returns what gives them once
    the batch has ended. Precomputed windows share one read of analytics_window_counts (the
    previous period's transfers and volume too: migration 0017); any other window is counted
    from the day bitmaps and summed from its days."""
    kept_spans = [s for s in spans if s is not None]
    kept = await into.add(windows.kept_counts_read(kept_spans)) if kept_spans else None
    now = await _add_window_counts(into, ask, spans[0], kept)
    before = await _add_previous(into, ask, spans[1], kept)
    chains = await _add_chain_counts(into, ask, spans[0], kept)
    return lambda: _Periods(now(), before(), chains())


def _scope(ask: Ask) -> int:
    return windows.EVERY_CHAIN if ask.chain_id is None else ask.chain_id


def _kept(kept: KeptRows, span: int, scope: int) -> windows.Kept:
    """A precomputed window's row; none: no transfer in it."""
    return kept.value.get((span, scope)) or windows.Kept(windows.Counts(), 0, Decimal(0))


async def _add_window_counts(
    into: Batch, ask: Ask, span: int | None, kept: KeptRows | None
) -> Callable[[], windows.Counts]:
    if span is not None and kept is not None:
        return lambda: _kept(kept, span, _scope(ask)).counts
    counted = await into.add(windows.counts_read(ask.window, ask.chain_id))
    return lambda: counted.value


async def _add_previous(
    into: Batch, ask: Ask, span: int | None, kept: KeptRows | None
) -> Callable[[], WindowTotals | None]:
    previous = ask.previous
    if previous is None:
        return lambda: None
    if span is not None and kept is not None:

        def from_kept() -> WindowTotals:
            row = _kept(kept, span, _scope(ask))
            return _totals(windows.Sums(row.transfers, row.volume), row.counts)

        return from_kept
    counted = await into.add(windows.counts_read(previous, ask.chain_id))
    summed = await into.add(windows.sums_read(previous, ask.chain_id))
    return lambda: _totals(summed.value, counted.value)


async def _add_chain_counts(
    into: Batch, ask: Ask, span: int | None, kept: KeptRows | None
) -> Callable[[], Mapping[int, int]]:
    if ask.chain_id is not None:
        return dict  # one chain's share is its window totals (_chains)
    if span is not None and kept is not None:
        return lambda: {
            c: k.counts.active_addresses for (s, c), k in kept.value.items() if s == span and c
        }
    counted = await into.add(windows.chain_counts_read(ask.window))
    return lambda: counted.value


def _chains(
    days: windows.WindowDays, ask: Ask, totals: WindowTotals, active: Mapping[int, int]
) -> list[ChainActivity]:
    """Each chain's share; one chain's is its window totals (the distribution would compute
    every chain's distinct addresses to keep one)."""
    if ask.chain_id is not None:
        if not totals.transfers:
            return []
        name = _name(ask.names, ask.chain_id)
        return [
            ChainActivity(
                ask.chain_id, name, totals.transfers, totals.volume, totals.active_addresses
            )
        ]
    return [
        ChainActivity(
            chain_id=s.chain_id,
            name=_name(ask.names, s.chain_id),
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


def _activity(a: windows.TopAddress) -> AddressActivity:
    return AddressActivity(
        address=a.address,
        sent=a.sent,
        received=a.received,
        sent_volume=int(a.sent_volume),
        received_volume=int(a.received_volume),
    )


def _buckets(points: Sequence[windows.DailyPoint], raw: RawDays) -> list[DayBucket]:
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


def _raw_read(points: Sequence[windows.DailyPoint], chains: Sequence[int]) -> Read[RawDays]:
    """The distinct counts, from the raw rows, of the days the per-day refresh has not
    reached (none: an empty range, which reads nothing)."""
    pending = [p.day for p in points if p.active_addresses is None]

    def parse(rows: Rows) -> RawDays:
        return {
            row["day"]: (
                int(row["senders"]),
                int(row["receivers"]),
                int(row["active_addresses"]),
            )
            for row in rows
        }

    if not pending:
        return Read.nothing(parse)
    params = {
        "chains": list(chains),
        "start": min(pending),
        "end": max(pending) + timedelta(days=1),
    }
    return Read(Q["raw_days"], params, parse)


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
    span = analytics.Window(*bounds)
    days = await fetch(conn, windows.days_read(span, chain_id, largest=limit))
    return await fetch(conn, _largest_read(days, names, limit))


def _largest_read(
    days: windows.WindowDays, names: Mapping[int, str], limit: int
) -> Read[list[LargeTransfer]]:
    """The largest transfers held by the chain-days days_read picked (with ``limit``)."""
    if limit > KEPT_LARGEST:
        raise ValueError(f"analytics_daily_largest keeps {KEPT_LARGEST} transfers a chain-day")
    if not days.buckets:
        return Read.nothing(lambda rows: [])
    params = {
        "chains": [b.chain_id for b in days.buckets],
        "days": [b.day for b in days.buckets],
        "kept": [b.kept for b in days.buckets],
        "floor": days.floor,
        "limit": limit,
    }

    def parse(rows: Rows) -> list[LargeTransfer]:
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
            for row in rows
        ]

    return Read(Q["largest"], params, parse)


def _newest_read(chains: Sequence[int]) -> Read[datetime | None]:
    def parse(rows: Rows) -> datetime | None:
        return rows[0]["newest"] if rows else None

    return Read(Q["newest"], {"chains": list(chains)}, parse)


@wrap_exceptions
async def find_newest_transfer_at(conn: Connection, chains: Sequence[int]) -> datetime | None:
    """Block time of the newest stored transfer of the chains, or None."""
    return await fetch(conn, _newest_read(chains))


def _name(names: Mapping[int, str], chain_id: int) -> str:
    return names.get(chain_id) or f"Chain {chain_id}"


def _hex(value: bytes | memoryview) -> str:
    return "0x" + bytes(value).hex()
