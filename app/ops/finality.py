"""Finality per chain for the API (GraphQL ``finality``, REST ``/api/finality``), from the
worker's stored probes only (app.store.finality): latest vs safe/finalized block, the lag in
blocks and seconds, and how long since the finality point last advanced.

``lag_seconds`` is ``latest_time - finalized_time`` when the source gave both headers' times;
otherwise ``lag_blocks x block_time_seconds`` of the chain, flagged ``lag_estimated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.domain import Chain
from app.ops import transfer_service
from app.ops.state import AppState
from app.store import finality as store_finality
from app.store import pool as store_pool
from app.store.finality import ChainFinality


@dataclass(frozen=True, slots=True)
class FinalityView:
    chain: Chain
    stored: ChainFinality | None  # None: never probed
    now: datetime

    @property
    def point(self) -> int | None:
        return None if self.stored is None else self.stored.point

    @property
    def lag_blocks(self) -> int | None:
        row = self.stored
        if row is None or row.latest_block is None or row.point is None:
            return None
        return max(0, row.latest_block - row.point)

    @property
    def lag_estimated(self) -> bool:
        row = self.stored
        return row is None or row.latest_time is None or row.finalized_time is None

    @property
    def lag_seconds(self) -> float | None:
        row, blocks = self.stored, self.lag_blocks
        if row is None or blocks is None:
            return None
        if row.latest_time is not None and row.finalized_time is not None:
            return max(0.0, (row.latest_time - row.finalized_time).total_seconds())
        return round(blocks * self.chain.block_time_seconds, 3)

    @property
    def since_advanced_seconds(self) -> float | None:
        return _age(self.stored.advanced_at if self.stored else None, self.now)

    @property
    def age_seconds(self) -> float | None:
        """How old the newest good probe is."""
        return _age(self.stored.observed_at if self.stored else None, self.now)


SECTION = "finality"


async def collect(state: AppState, chain_id: int | None = None) -> list[FinalityView]:
    """Every enabled chain (or the one asked for), in configuration order. The stored rows
    go through the ``finality`` cache section (TOKENPULSE_CACHE_TTL_FINALITY_SECONDS)."""

    async def load() -> dict[int, ChainFinality]:
        async with store_pool.read(state.pool) as conn:
            return {row.chain_id: row for row in await store_finality.list_latest(conn)}

    ttl = state.config.settings.cache_ttl_finality_seconds
    rows = await transfer_service.cached(state, SECTION, ttl, "all", load)
    now = datetime.now(UTC)
    chains = state.config.enabled_chains
    return [
        FinalityView(chain, rows.get(chain.id), now)
        for chain in chains
        if chain_id is None or chain.id == chain_id
    ]


def legacy_cache_fields(state: AppState, chain_id: int = 1) -> dict[str, Any] | None:
    """``blockNumber`` and ``blockNumberHex`` of the cached rows, for /api/cache-health's
    ``finality`` section as the legacy one had them (legacy-api.md §7.3); no query: None
    while nothing is cached."""
    section = state.cache.sections.get(SECTION)
    entry = None if section is None else section.entries.get("all")
    if entry is None:
        return None
    row = entry.value.get(chain_id)
    point = None if row is None else row.point
    return {"blockNumber": point, "blockNumberHex": None if point is None else hex(point)}


def _age(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else round(max(0.0, (now - then).total_seconds()), 3)
