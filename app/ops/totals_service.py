"""Totals for the API: the store's figures and the upstreams' last good ones, assembled by
:mod:`app.totals` with their accuracy.

One read of everything a totals answer needs (balances summaries, volumes, the newest
upstream figures and reconciliation runs) in one short transaction, cached in the
``totals`` section (TTL ``cache_ttl_totals``) as an all-chains entry, which the cache drops
whenever the worker announces a batch (app.ops.cache), so store figures are at most one batch
behind; new upstream figures (fetched by the worker's own job) show within the TTL.
Transfer counts come from the per-chain totals the transfers API already keeps
(app.ops.transfer_service).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.domain import Chain
from app.domain import Figure as UpstreamKind
from app.ops import transfer_service as transfers
from app.ops.state import AppState
from app.store import balances as store_balances
from app.store import figures as store_figures
from app.store import pool as store_pool
from app.store import reconcile as store_reconcile
from app.store import totals as store_totals
from app.store.balances import BalanceSummary
from app.store.figures import UpstreamFigure
from app.store.reconcile import ReconciliationRun
from app.totals import (
    ChainTotals,
    Coverage,
    Figure,
    FigureName,
    Observed,
    Policy,
    StoreFigures,
    chain_totals,
    overall,
)
from app.warm import WarmStatus

SECTION = "totals"
# An upstream figure is fetched every TOKENPULSE_FIGURES_INTERVAL_SECONDS; after this many
# intervals without a good fetch it is shown as stale (last-known-good, with its age).
UPSTREAM_MAX_AGE_INTERVALS = 3
# The upstream figures that have a whole-chain twin among ours (window counts do not).
_TWINS = {UpstreamKind.HOLDERS: FigureName.HOLDERS, UpstreamKind.SUPPLY: FigureName.SUPPLY}


@dataclass(frozen=True, slots=True)
class StoreRead:
    """What one read of the store gives, before assembly."""

    summaries: Mapping[int, BalanceSummary]
    volumes: Mapping[int, int]
    upstream: Sequence[UpstreamFigure]
    reconciled: Mapping[int, ReconciliationRun]


@dataclass(frozen=True, slots=True)
class TotalsAnswer:
    figures: Mapping[FigureName, Figure]  # sums over the chains below
    chains: tuple[tuple[Chain, ChainTotals], ...]


async def totals(state: AppState, chain_id: int | None = None) -> TotalsAnswer:
    """Totals of one configured chain, or of every enabled chain and their sums."""
    chains = transfers.chains_for(state, chain_id)
    read = await _read(state)
    counts = await transfers.chain_totals(state, [chain.id for chain in chains])
    snapshot = await transfers.chain_state(state)
    now = datetime.now(UTC)
    policy = policy_of(state)
    per_chain = tuple(
        (chain, _chain(chain, read, counts.get(chain.id, 0), snapshot, now, policy))
        for chain in chains
    )
    return TotalsAnswer(overall([item for _, item in per_chain], now), per_chain)


def policy_of(state: AppState) -> Policy:
    settings = state.config.settings
    return Policy(
        variance_threshold=settings.validate_threshold,
        upstream_max_age_seconds=UPSTREAM_MAX_AGE_INTERVALS * settings.figures_interval_seconds,
    )


async def _read(state: AppState) -> StoreRead:
    async def load() -> StoreRead:
        async with store_pool.transaction(state.pool) as conn:
            summaries = await store_balances.summaries(conn)
            volumes = await store_totals.volumes(conn)
            upstream = await store_figures.latest_good(conn)
            runs = await store_reconcile.list_latest(conn)
        return StoreRead(
            {item.chain_id: item for item in summaries},
            volumes,
            upstream,
            {run.chain_id: run for run in runs},
        )

    ttl = state.config.settings.cache_ttl_totals_seconds
    return await transfers.cached(state, SECTION, ttl, "all", load)


def _chain(
    chain: Chain,
    read: StoreRead,
    count: int,
    snapshot: transfers.ChainState,
    now: datetime,
    policy: Policy,
) -> ChainTotals:
    summary = read.summaries.get(chain.id)
    status = snapshot.ingest.get(chain.id)
    warm = snapshot.warm.get(chain.id)
    ours = StoreFigures(
        transfers=count,
        volume=read.volumes.get(chain.id, 0),
        holders=summary.holders if summary else 0,
        supply=summary.supply if summary else 0,
        coverage=coverage_of(summary),
        synced_at=status.last_success_at if status else None,
        ingest_stale=warm is None or warm.warm in (WarmStatus.STALE, WarmStatus.COLD),
        reconciled=clean(read.reconciled.get(chain.id)),
    )
    return chain_totals(chain.id, ours, observed(read.upstream, chain.id), now, policy)


def coverage_of(summary: BalanceSummary | None) -> Coverage:
    if summary is None:
        return Coverage(None, None, 0, False)
    return Coverage(summary.covered_from, summary.covered_to, summary.gaps, summary.complete)


def clean(run: ReconciliationRun | None) -> bool | None:
    """The newest reconciliation found the sampled window equal to the independent fetch."""
    if run is None or run.error is not None:
        return None
    return not (run.missing or run.extra or run.mismatched)


def observed(upstream: Sequence[UpstreamFigure], chain_id: int) -> dict[FigureName, list[Observed]]:
    found: dict[FigureName, list[Observed]] = defaultdict(list)
    for item in upstream:
        name = _TWINS.get(item.figure)
        if item.chain_id != chain_id or name is None:
            continue
        found[name].append(
            Observed(
                source=item.source or "upstream",
                value=item.value,
                fetched_at=item.fetched_at,
                last_attempt_at=item.last_attempt_at,
                last_error=None if item.last_ok else (item.last_error or "failed"),
            )
        )
    return found
