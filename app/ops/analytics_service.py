"""The analytics answer, shared by GraphQL ``analytics`` and REST ``/api/analytics``.

A request goes: :func:`query` validates the range, the chain and a custom range's days
(``InvalidInput`` subclasses with a stable code, a 400 in both APIs); :func:`analytics`
resolves the window (app.analytics.ranges), reads every input of it from the store in one
short read-only snapshot (app.store.analytics_reads, over the aggregates of migration 0011),
and computes the answer with app.analytics.report (analyze_sums while the store's second
round trip runs, then finish). Nothing here reads an upstream.

Answers are kept in the ``analytics`` section of the response cache (TTL
TOKENPULSE_CACHE_TTL_ANALYTICS_SECONDS) per (range, chain, custom days, today): an entry names
its chain (an all-chains entry none), so a batch announced by the worker drops it, and so does
the worker's analytics refresh when it changes that chain's aggregates (a section event,
app.store.analytics.refresh): an answer computed between a batch and the refresh that
aggregates it is not served beyond that refresh. "today" in the key starts a new window at
UTC midnight even within the TTL. ``computed_at`` travels
with the answer so a re-rendered cached answer keeps its bytes (and its ETag).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from app.analytics import ranges, report
from app.analytics.ranges import RangeName
from app.config import Config
from app.errors import InvalidInput
from app.ops import transfer_inputs as inputs
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.store import analytics as store_analytics
from app.store import analytics_reads as reads
from app.store import pool as store_pool

SECTION = store_analytics.CACHE_SECTION  # the worker's refresh announces changes to it


class InvalidRange(InvalidInput):
    """Invalid analytics range."""

    code = "invalid_range"


@dataclass(frozen=True, slots=True)
class Names:
    """What the API calls each input, for ``field`` in errors."""

    range: str = "range"
    chain_id: str = "chainId"
    first: str = "from"
    last: str = "to"


@dataclass(frozen=True, slots=True)
class AnalyticsQuery:
    range: RangeName
    chain_id: int | None  # None: every chain
    first: date | None = None  # custom only, inclusive
    last: date | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    query: AnalyticsQuery
    result: report.Analytics
    computed_at: datetime  # when the store was read (UTC)
    compute_time_ms: float  # store reads + computation


def query(
    config: Config,
    range_name: RangeName,
    chain_id: int | None,
    first: date | None = None,
    last: date | None = None,
    *,
    names: Names = Names(),
    today: date | None = None,
) -> AnalyticsQuery:
    """A validated query, or an InvalidInput subclass naming the offending input."""
    if chain_id is not None:
        inputs.chain(config, chain_id, names.chain_id)
    if range_name is not RangeName.CUSTOM:
        if first is not None or last is not None:
            field = names.first if first is not None else names.last
            text = f"{names.first} and {names.last} are only for the custom range"
            raise InvalidRange(text, field=field)
        return AnalyticsQuery(range_name, chain_id)
    _custom(first, last, today or datetime.now(UTC).date(), names)
    return AnalyticsQuery(range_name, chain_id, first, last)


def _custom(first: date | None, last: date | None, today: date, names: Names) -> None:
    """The checks of ranges.resolve, with this API's field names."""
    if first is None or last is None:
        missing = names.first if first is None else names.last
        text = f"the custom range needs {names.first} and {names.last} (YYYY-MM-DD, inclusive)"
        raise InvalidRange(text, field=missing)
    if first > last:
        raise InvalidRange(f"{names.first} is after {names.last}", field=names.first)
    if last > today:
        text = f"{names.last} cannot be after today ({today.isoformat()}, UTC)"
        raise InvalidRange(text, field=names.last)
    if (last - first).days + 1 > ranges.MAX_CUSTOM_DAYS:
        text = f"a custom range spans at most {ranges.MAX_CUSTOM_DAYS} days"
        raise InvalidRange(text, field=names.first)


def ttl(state: AppState) -> float:
    return state.config.settings.cache_ttl_analytics_seconds


def chains_of(analytics_query: AnalyticsQuery) -> frozenset[int]:
    """The chains an answer depends on; empty means every chain."""
    chain_id = analytics_query.chain_id
    return frozenset() if chain_id is None else frozenset({chain_id})


async def analytics(state: AppState, analytics_query: AnalyticsQuery) -> Answer:
    """The answer of a validated query, from the cache or the store."""
    now = datetime.now(UTC)
    window = _resolve(analytics_query, now)

    async def load() -> Answer:
        return await compute(state, analytics_query, window)

    key = (analytics_query, window.today)
    return await service.cached(state, SECTION, ttl(state), key, load, chains_of(analytics_query))


def _resolve(analytics_query: AnalyticsQuery, now: datetime) -> ranges.Window:
    try:
        q = analytics_query
        return ranges.resolve(q.range, now, q.first, q.last)
    except InvalidInput as exc:  # validated at another day's "today" (a request over midnight)
        raise InvalidRange(exc.message, field=exc.field) from exc


async def compute(
    state: AppState, analytics_query: AnalyticsQuery, window: ranges.Window
) -> Answer:
    """Read the window's inputs in one snapshot and analyze them (no cache). The forecasts
    and the anomalies of the daily sums (most of the CPU) are computed as soon as the first
    round trip has brought the sums, while the database answers the second."""
    started = time.perf_counter()
    chain_ids = await service.chain_ids(state, analytics_query.chain_id)
    ask = reads.Ask.of(
        analytics_query.chain_id,
        chain_ids,
        window.bounds(),
        None if window.previous is None else window.previous.bounds(),
        {chain.id: chain.name for chain in state.config.chains},
        state.config.token.decimals,
    )
    async with (
        store_pool.transaction(state.pool) as conn,
        reads.reading_inputs(conn, ask) as reading,
    ):
        sums = report.analyze_sums(reading.days, window, ask.decimals)
    result = report.finish(reading.inputs, window, sums)
    elapsed = (time.perf_counter() - started) * 1000
    return Answer(analytics_query, result, datetime.now(UTC), elapsed)
