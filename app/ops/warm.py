"""Warm status per chain for the API: store rows in, :mod:`app.warm` readings out.

``assess`` is pure (health and tests call it with rows they already hold); ``collect`` reads
the two things it needs, the chains with their coverage and the ``ingest_status`` rows, in one
short read-only transaction. What counts as "synced up to" is the top of the coverage ledger,
and the head is the upstream head the last tip cycle saw (ingest_status.head).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.config import Settings
from app.domain import Chain
from app.ops.state import AppState
from app.store import chains as store_chains
from app.store import ingest_status as store_ingest_status
from app.store import pool as store_pool
from app.store.ingest_status import IngestStatus
from app.warm import Reading, Record, Thresholds, WarmStatus, classify

ORDER = (WarmStatus.FRESH, WarmStatus.LAGGING, WarmStatus.STALE, WarmStatus.COLD)  # best first


@dataclass(frozen=True, slots=True)
class ChainWarm:
    chain: Chain
    reading: Reading
    status: IngestStatus | None  # None: no tip cycle recorded yet
    last_covered_block: int | None

    @property
    def warm(self) -> WarmStatus:
        return self.reading.status


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(settings.warm_fresh_seconds, settings.warm_stale_seconds)


def assess(
    configured: Sequence[Chain],
    chain_rows: Sequence[Mapping[str, Any]],
    statuses: Sequence[IngestStatus],
    now: datetime,
    limits: Thresholds,
) -> tuple[ChainWarm, ...]:
    """One reading per configured chain, in configuration order."""
    rows = {row["chain_id"]: row for row in chain_rows}
    by_chain = {status.chain_id: status for status in statuses}
    return tuple(
        _assess(chain, rows.get(chain.id, {}), by_chain.get(chain.id), now, limits)
        for chain in configured
    )


def _assess(
    chain: Chain,
    row: Mapping[str, Any],
    status: IngestStatus | None,
    now: datetime,
    limits: Thresholds,
) -> ChainWarm:
    last_covered = row.get("last_covered_block")
    record = Record(
        last_success_at=status.last_success_at if status else None,
        head=status.head if status else None,
        synced_block=last_covered,
        covered=int(row.get("covered_blocks") or 0) > 0,
        block_time_seconds=chain.block_time_seconds,
    )
    return ChainWarm(chain, classify(record, now, limits), status, last_covered)


def worst(items: Sequence[ChainWarm]) -> WarmStatus | None:
    """The worst status among enabled chains (None: no enabled chain)."""
    found = [item.warm for item in items if item.chain.enabled]
    return max(found, key=ORDER.index) if found else None


def counts(items: Sequence[ChainWarm]) -> dict[str, int]:
    """How many enabled chains are in each state."""
    enabled = [item.warm for item in items if item.chain.enabled]
    return {status.value: enabled.count(status) for status in ORDER}


async def collect(state: AppState, *, wait_seconds: float | None = None) -> tuple[ChainWarm, ...]:
    async with store_pool.transaction(state.pool, wait_seconds=wait_seconds) as conn:
        chain_rows = await store_chains.list_chains(conn)
        statuses = await store_ingest_status.list_all(conn)
    limits = thresholds(state.config.settings)
    return assess(state.config.chains, chain_rows, statuses, datetime.now(UTC), limits)
