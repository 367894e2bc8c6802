"""The transfers API's reads, shared by REST and GraphQL, through the response caches.

Sections of the app's CacheRegistry (app.ops.cache), each with its TTL setting:

============================  =========================  ====================================
section                       TTL setting                holds
============================  =========================  ====================================
``transfer_pages``            cache_ttl_transfers        keyset pages and legacy page probes
``transfer_counts``           cache_ttl_transfers        exact counts under filters
``transfer_totals``           cache_ttl_totals           each chain's exact count
``chain_state``               cache_ttl_chains           coverage, newest transfer, ingest
                                                         status and warm status of all chains
============================  =========================  ====================================

An entry names its chain (one-chain queries) or none (all chains). When the worker commits
a batch, the notification refresher drops the chain's entries and the all-chains ones; the
hook installed here then recounts the chain's total at once, so requests do not pay for it.
A TTL of 0 turns a section off (every call reads the store).

Accuracy: counts and sums are exact over the stored rows. They are also the chain's true
figures only where its coverage is complete (one range from ``first_block`` up, no gap):
:func:`accuracy` says ``exact`` then, ``partial`` otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from app.domain import Chain
from app.errors import TokenpulseError
from app.ops import warm as ops_warm
from app.ops.cache import Section
from app.ops.state import AppState
from app.ops.warm import ChainWarm
from app.store import chains as store_chains
from app.store import freshness as store_freshness
from app.store import ingest_status as store_ingest_status
from app.store import pool as store_pool
from app.store import transfer_pages
from app.store.ingest_status import IngestStatus
from app.store.transfer_pages import StoredTransfer
from app.store.transfer_sql import Key, Order, PageRequest, TransferFilter
from app.totals import Accuracy as Accuracy  # re-exported: counts are EXACT or PARTIAL

log = logging.getLogger(__name__)
T = TypeVar("T")
PAGES, COUNTS, TOTALS, CHAIN_STATE = (
    "transfer_pages",
    "transfer_counts",
    "transfer_totals",
    "chain_state",
)


@dataclass(frozen=True, slots=True)
class Page:
    rows: tuple[StoredTransfer, ...]
    more: bool  # rows follow beyond this page, in the direction it was read


@dataclass(frozen=True, slots=True)
class ChainState:
    """What the store says about every chain, read in one transaction."""

    rows: Mapping[int, Mapping[str, Any]]  # store.chains.list_chains, by chain id
    freshness: Mapping[int, Mapping[str, Any]]  # store.freshness, by chain id
    ingest: Mapping[int, IngestStatus]
    warm: Mapping[int, ChainWarm]  # configured chains only
    read_at: datetime

    def complete(self, chain: Chain) -> bool:
        """Coverage is one range starting at or below the chain's first block."""
        row = self.rows.get(chain.id, {})
        first = row.get("first_covered_block")
        return int(row.get("ranges") or 0) == 1 and first is not None and first <= chain.first_block

    def head(self, chain_id: int) -> int | None:
        status = self.ingest.get(chain_id)
        return status.head if status else None


def _ttl(state: AppState, name: str) -> float:
    settings = state.config.settings
    ttls = {
        PAGES: settings.cache_ttl_transfers_seconds,
        COUNTS: settings.cache_ttl_transfers_seconds,
        TOTALS: settings.cache_ttl_totals_seconds,
        CHAIN_STATE: settings.cache_ttl_chains_seconds,
    }
    return ttls.get(name, 0.0)


async def cached(
    state: AppState,
    section_name: str,
    ttl: float,
    key: Hashable,
    load: Callable[[], Awaitable[T]],
    chains: frozenset[int] = frozenset(),
) -> T:
    """``load()`` through a cache section (single flight); TTL 0: straight to ``load()``.

    The section is kept to ``cache_max_entries`` by dropping its oldest entries."""
    if ttl <= 0:
        return await load()
    section = state.cache.section(section_name, ttl)
    prune(state, section)
    value: T = await section.get_or_load(key, load, chains)
    return value


def prune(state: AppState, section: Section) -> None:
    """Make room for one more entry: the oldest go first (dicts keep insertion order)."""
    overflow = len(section.entries) - state.config.settings.cache_max_entries + 1
    for stale_key in list(section.entries)[: max(0, overflow)]:
        del section.entries[stale_key]


def chains_of(transfer_filter: TransferFilter) -> frozenset[int]:
    """The chains an entry depends on; empty means every chain."""
    chain_id = transfer_filter.chain_id
    return frozenset() if chain_id is None else frozenset({chain_id})


async def read_page(state: AppState, request: PageRequest) -> Page:
    """A page of ``request.limit`` rows, and whether more follow."""

    async def load() -> Page:
        ask = replace(request, limit=request.limit + 1)
        async with store_pool.read(state.pool) as conn:
            rows = await transfer_pages.list_page(conn, ask)
        return Page(tuple(rows[: request.limit]), len(rows) > request.limit)

    if request.limit == 0:
        return Page((), False)
    return await cached(
        state, PAGES, _ttl(state, PAGES), ("page", request), load, chains_of(request.filter)
    )


async def key_at(
    state: AppState, transfer_filter: TransferFilter, order: Order, offset: int
) -> Key | None:
    """The key of the row ``offset`` rows into the order (legacy page numbers), or None."""

    async def load() -> tuple[Key | None]:
        request = PageRequest(transfer_filter, order, 1, offset=offset)
        async with store_pool.read(state.pool) as conn:
            return (await transfer_pages.find_key_at(conn, request),)

    key = ("at", transfer_filter, order, offset)
    found = await cached(state, PAGES, _ttl(state, PAGES), key, load, chains_of(transfer_filter))
    return found[0]  # wrapped: the cache treats a bare None as a miss


def is_whole_chain(transfer_filter: TransferFilter) -> bool:
    """No filter but (at most) the chain: the count is a sum of chain totals."""
    return transfer_filter == TransferFilter(chain_id=transfer_filter.chain_id)


async def count(state: AppState, transfer_filter: TransferFilter) -> int:
    """Exactly how many stored transfers the filter selects."""
    if is_whole_chain(transfer_filter):
        ids = await chain_ids(state, transfer_filter.chain_id)
        return sum((await chain_totals(state, ids)).values())

    async def load() -> int:
        async with store_pool.read(state.pool) as conn:
            return await transfer_pages.count(conn, transfer_filter)

    key = transfer_filter
    return await cached(state, COUNTS, _ttl(state, COUNTS), key, load, chains_of(transfer_filter))


async def chain_ids(state: AppState, chain_id: int | None) -> list[int]:
    """``[chain_id]``, or every chain the store or the configuration knows."""
    if chain_id is not None:
        return [chain_id]
    known = {chain.id for chain in state.config.chains}
    known |= set((await chain_state(state)).rows)
    return sorted(known)


async def chain_totals(state: AppState, ids: Sequence[int]) -> dict[int, int]:
    """{chain id: its stored transfers}, each counted once per batch (concurrently when cold)."""

    def loader(chain_id: int) -> Callable[[], Awaitable[int]]:
        async def load() -> int:
            async with store_pool.read(state.pool) as conn:
                return await transfer_pages.count_chain(conn, chain_id)

        return load

    ttl = _ttl(state, TOTALS)
    counts = await asyncio.gather(
        *(
            cached(state, TOTALS, ttl, chain_id, loader(chain_id), frozenset({chain_id}))
            for chain_id in ids
        )
    )
    return dict(zip(ids, counts, strict=True))


async def chain_state(state: AppState) -> ChainState:
    async def load() -> ChainState:
        async with store_pool.transaction(state.pool) as conn:
            rows = await store_chains.list_chains(conn)
            fresh = await store_freshness.list_chain_freshness(conn)
            statuses = await store_ingest_status.list_all(conn)
        now = datetime.now(UTC)
        limits = ops_warm.thresholds(state.config.settings)
        warm = ops_warm.assess(state.config.chains, rows, statuses, now, limits)
        return ChainState(
            rows={row["chain_id"]: row for row in rows},
            freshness={row["chain_id"]: row for row in fresh},
            ingest={status.chain_id: status for status in statuses},
            warm={item.chain.id: item for item in warm},
            read_at=now,
        )

    return await cached(state, CHAIN_STATE, _ttl(state, CHAIN_STATE), "all", load)


def accuracy(snapshot: ChainState, chains: Sequence[Chain]) -> Accuracy:
    """Exact when every chain concerned has complete coverage (see the module docstring)."""
    return Accuracy.EXACT if all(snapshot.complete(chain) for chain in chains) else Accuracy.PARTIAL


def chains_for(state: AppState, chain_id: int | None) -> list[Chain]:
    """The configured chain, or every enabled one (what an all-chains answer depends on)."""
    if chain_id is not None:
        return [chain for chain in state.config.chains if chain.id == chain_id]
    return list(state.config.enabled_chains)


def install(state: AppState) -> None:
    """Recount a chain's total as soon as a batch of it is announced (if totals are in use)."""

    async def refresh(chain_id: int | None) -> None:
        if TOTALS not in state.cache.sections:
            return  # nobody asked for a total yet: count when someone does
        try:
            await chain_totals(state, await chain_ids(state, chain_id))
        except TokenpulseError as exc:  # the next request counts again
            log.warning(
                "recounting chain totals failed: %s", exc.message, extra={"chain_id": chain_id}
            )

    state.cache.on_invalidate(refresh)
