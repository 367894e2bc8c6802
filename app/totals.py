"""Totals with their accuracy: pure assembly of what the store knows and what upstreams said.

Four figures per chain — transfer count, volume, holder count, supply — each a :class:`Figure`
with a value, an accuracy label, the coverage it rests on, a source timestamp, the upstream
figures beside it with their variance, and ``stale``. The labels (docs/api.md, "Accuracy"):

``exact``
    Computed from the stored transfers, and coverage runs from the contract's first block to
    the covered head with no gap: the chain's whole history up to that block.
``verified``
    Exact, and an independent upstream source agrees: the explorer's figure lies within the
    variance threshold (holders, supply), or the newest reconciliation of sampled windows
    found the stored rows equal to an independent fetch (transfer count, volume).
``partial``
    Computed from the stored transfers over incomplete coverage: for counts and volume a
    lower bound; no upstream figure was there to stand in. A supply cannot be bounded from
    part of the history, so it is ``None`` then.
``estimated``
    Not derivable from our rows: the last good upstream figure stands in (holders and supply
    when coverage is incomplete).

``stale`` is true when the source behind the value is out of date: the chain's ingestion is
Stale or Cold (store-derived values), or the newest upstream attempt failed or is older than
the allowed age (upstream-derived values, shown as last-known-good with their age). Values are
never zeros standing in for "unknown": an unknown value is ``None``.

No I/O here: app/ops/totals_service.py reads the inputs; tests call :func:`chain_totals` with
rows they build.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Accuracy(enum.StrEnum):
    VERIFIED = "verified"
    EXACT = "exact"
    PARTIAL = "partial"
    ESTIMATED = "estimated"


RANK = (Accuracy.VERIFIED, Accuracy.EXACT, Accuracy.PARTIAL, Accuracy.ESTIMATED)  # best first


def weakest(labels: Sequence[Accuracy]) -> Accuracy:
    """The accuracy of a sum: no better than its weakest part."""
    return max(labels, key=RANK.index) if labels else Accuracy.ESTIMATED


class FigureName(enum.StrEnum):
    TRANSFERS = "transfers"
    VOLUME = "volume"
    HOLDERS = "holders"
    SUPPLY = "supply"


@dataclass(frozen=True, slots=True)
class Coverage:
    """The stored block ranges a store-derived value rests on."""

    first_block: int | None  # lowest covered block
    last_block: int | None  # highest covered block
    gaps: int  # holes between the chain's first block and last_block
    complete: bool  # one range from the contract's first block up


@dataclass(frozen=True, slots=True)
class Observed:
    """An upstream figure: the newest good value, and how the newest attempt went."""

    source: str
    value: int | None  # None: never fetched successfully
    fetched_at: datetime | None  # when ``value`` was fetched
    last_attempt_at: datetime | None
    last_error: str | None  # the newest attempt's error code, None when it succeeded


@dataclass(frozen=True, slots=True)
class UpstreamValue:
    source: str
    value: int | None
    fetched_at: datetime | None
    age_seconds: float | None
    stale: bool
    variance: float | None  # |ours - theirs| / theirs; None when not comparable


@dataclass(frozen=True, slots=True)
class Figure:
    name: FigureName
    value: int | None
    accuracy: Accuracy
    source: str  # "store" or the upstream source that stands in
    source_timestamp: datetime | None
    age_seconds: float | None
    stale: bool
    upstream: tuple[UpstreamValue, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """What the store says about one chain."""

    transfers: int
    volume: int
    holders: int
    supply: int
    coverage: Coverage
    synced_at: datetime | None  # the last successful tip cycle
    ingest_stale: bool  # the chain's warm status is Stale or Cold
    reconciled: bool | None = None  # newest reconciliation clean (True), found faults (False)


@dataclass(frozen=True, slots=True)
class Policy:
    variance_threshold: float = 0.02  # above it an upstream figure disagrees
    upstream_max_age_seconds: float = 86_400.0  # older than this, an upstream value is stale


@dataclass(frozen=True, slots=True)
class ChainTotals:
    chain_id: int
    coverage: Coverage
    figures: Mapping[FigureName, Figure] = field(default_factory=dict)


def chain_totals(
    chain_id: int,
    ours: StoreFigures,
    observed: Mapping[FigureName, Sequence[Observed]],
    now: datetime,
    policy: Policy = Policy(),
) -> ChainTotals:
    """The four figures of one chain."""
    values = {
        FigureName.TRANSFERS: ours.transfers,
        FigureName.VOLUME: ours.volume,
        FigureName.HOLDERS: ours.holders,
        FigureName.SUPPLY: ours.supply,
    }
    figures = {
        name: _figure(name, value, observed.get(name, ()), ours, now, policy)
        for name, value in values.items()
    }
    return ChainTotals(chain_id, ours.coverage, figures)


def _figure(
    name: FigureName,
    ours: int,
    observed: Sequence[Observed],
    store: StoreFigures,
    now: datetime,
    policy: Policy,
) -> Figure:
    upstream = tuple(
        _upstream(item, ours, store.coverage.complete, now, policy) for item in observed
    )
    if store.coverage.complete:
        label = Accuracy.VERIFIED if _verified(name, store, upstream, policy) else Accuracy.EXACT
        return _from_store(name, ours, label, store, upstream, now)
    standing_in = _stand_in(name, upstream)
    if standing_in is None:
        # A partial count is a lower bound; a supply from part of the history (mints outside
        # the covered blocks missing) is no bound at all, so it stays unknown, never 0.
        value = None if name is FigureName.SUPPLY else ours
        return _from_store(name, value, Accuracy.PARTIAL, store, upstream, now)
    return Figure(
        name,
        standing_in.value,
        Accuracy.ESTIMATED,
        standing_in.source,
        standing_in.fetched_at,
        standing_in.age_seconds,
        standing_in.stale,
        upstream,
    )


def _from_store(
    name: FigureName,
    value: int | None,
    label: Accuracy,
    store: StoreFigures,
    upstream: tuple[UpstreamValue, ...],
    now: datetime,
) -> Figure:
    age = (now - store.synced_at).total_seconds() if store.synced_at else None
    return Figure(name, value, label, "store", store.synced_at, age, store.ingest_stale, upstream)


def _verified(
    name: FigureName,
    store: StoreFigures,
    upstream: tuple[UpstreamValue, ...],
    policy: Policy,
) -> bool:
    if name in (FigureName.TRANSFERS, FigureName.VOLUME):
        # Whole-history counts have no upstream twin; sampled windows compared row by row do.
        return store.reconciled is True
    fresh = [item for item in upstream if item.variance is not None and not item.stale]
    return bool(fresh) and all(
        item.variance is not None and item.variance <= policy.variance_threshold for item in fresh
    )


def _stand_in(name: FigureName, upstream: tuple[UpstreamValue, ...]) -> UpstreamValue | None:
    """The upstream value shown when ours cannot be the chain's figure (holders, supply)."""
    if name not in (FigureName.HOLDERS, FigureName.SUPPLY):
        return None  # a partial count is still a true lower bound; an explorer's is no better
    known = [item for item in upstream if item.value is not None]
    # The freshest good value first; the newest attempt's failure only marks it stale.
    return max(known, key=lambda item: item.fetched_at or _EPOCH, default=None)


def _upstream(
    item: Observed, ours: int, comparable: bool, now: datetime, policy: Policy
) -> UpstreamValue:
    age = (now - item.fetched_at).total_seconds() if item.fetched_at else None
    stale = item.last_error is not None or age is None or age > policy.upstream_max_age_seconds
    variance = None
    if comparable and item.value is not None:
        variance = abs(ours - item.value) / max(item.value, 1)
    return UpstreamValue(item.source, item.value, item.fetched_at, age, stale, variance)


def overall(per_chain: Sequence[ChainTotals], now: datetime) -> dict[FigureName, Figure]:
    """Sums over chains: the weakest accuracy, the oldest source timestamp, stale if any is.

    A chain whose value is unknown leaves the sum unknown (None), never counted as zero.
    """
    result: dict[FigureName, Figure] = {}
    for name in FigureName:
        parts = [chain.figures[name] for chain in per_chain if name in chain.figures]
        values = [part.value for part in parts]
        total = None if any(value is None for value in values) else sum(v or 0 for v in values)
        stamps = [part.source_timestamp for part in parts if part.source_timestamp is not None]
        oldest = min(stamps) if stamps else None
        sources = {part.source for part in parts}
        result[name] = Figure(
            name,
            total if parts else None,
            weakest([part.accuracy for part in parts]),
            sources.pop() if len(sources) == 1 else "mixed",
            oldest,
            (now - oldest).total_seconds() if oldest else None,
            any(part.stale for part in parts),
        )
    return result
