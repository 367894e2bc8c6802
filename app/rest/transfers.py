"""``GET /api/transfers``: the legacy store-mode document (legacy-api.md §1.3), from the store.

Parameters: app.rest.transfer_params. Pages: ``page`` 1 is the first keyset page; a later
page finds its first row with one probe of key columns (``find_key_at``, an index-only
walk over the rows before it) and reads the page by keyset from there. ``cursor`` (the
``meta.nextCursor`` of a previous answer) reads the next page by keyset alone, however deep.

Counts (``includeTotals``, on unless ``false``): ``meta.total`` is the exact number of
stored rows under the filters; ``totals.allTimeTotal`` the stored rows of the requested
chains. Chain totals are kept per chain and recounted once per ingested batch, so an
unfiltered count costs nothing per request; an address alone (with or without the chain) is
read from the per-address counts the write path keeps (``balances``); other filters count
their rows (cached).
``includeTotals=false`` skips every count: ``meta.total`` and ``totalPages`` are null.

What the legacy API got wrong is not reproduced: all chains work (``chainId=0``), an
unknown chain is a 400, ``lastBlock``/``lastTimestamp`` of the snapshots are filled in.
Additions: ``meta.nextCursor``, ``totals.accuracy``, each row's ``logIndex``, snapshot
``warmStatus``/``coverageComplete``/``lastCoveredBlock``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.domain import Chain
from app.ops import cursors
from app.ops import state as app_state
from app.ops import transfer_connection as connection
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.ops.transfer_service import Accuracy, ChainState
from app.rest import http_cache, transfer_params, transfer_rows
from app.rest.transfer_params import TransfersQuery
from app.store.transfer_pages import StoredTransfer
from app.store.transfer_sql import Order, PageRequest
from app.warm import WarmStatus

SECTION = "rest_transfers"
MAX_OFFSET = 2**62  # no page starts further in (OFFSET is a bigint)
LIMITS = {
    "maxPageSize": transfer_params.MAX_PAGE_SIZE,
    "totalFetchLimit": None,
    "resultWindow": None,
}
DEFAULTS = {"chainId": 0, "pageSize": transfer_params.DEFAULT_PAGE_SIZE, "sort": "desc"}
_WARNINGS = {
    WarmStatus.COLD: ("STORE_DATA_NOT_READY", "no data ingested yet"),
    WarmStatus.STALE: ("STORE_DATA_STALE", "ingestion is behind"),
    WarmStatus.LAGGING: ("CHAIN_LAGGING", "ingestion is lagging"),
}


@dataclass(frozen=True, slots=True)
class Rows:
    items: tuple[StoredTransfer, ...]
    more: bool
    next_cursor: str | None


async def endpoint(request: Request) -> Response:
    state = app_state.of(request)
    query = transfer_params.parse(state.config, request.query_params)
    ttl = state.config.settings.cache_ttl_transfers_seconds

    async def build() -> dict[str, Any]:
        return await document(state, query)

    chains = service.chains_of(query.filter)
    return await http_cache.respond(request, state, SECTION, ttl, query, build, chains)


async def document(state: AppState, query: TransfersQuery) -> dict[str, Any]:
    snapshot = await service.chain_state(state)
    per_chain, total, rows = await _read(state, query)
    chains = service.chains_for(state, query.filter.chain_id)
    accuracy = service.accuracy(snapshot, chains)
    stale = any(_stale(snapshot, chain.id) for chain in chains)
    # Times come from the chain state read, not the clock: equal data, equal bytes, equal
    # ETag, even with the response cache off.
    now = snapshot.read_at
    stamp = int(now.timestamp() * 1000)
    snapshots = [
        transfer_rows.snapshot(chain, snapshot, per_chain.get(chain.id) if per_chain else None, now)
        for chain in state.config.enabled_chains
    ]
    config = state.config
    return {
        "data": [transfer_rows.row(item, config, snapshot) for item in rows.items],
        "meta": _meta(query, total, rows),
        "totals": _totals(query, total, per_chain, rows, stamp, stale, accuracy),
        "chain": _chain(state, query),
        "sort": "asc" if query.order is Order.OLDEST_FIRST else "desc",
        "filters": {
            "startBlock": query.filter.from_block,
            "endBlock": query.filter.to_block,
            "address": query.filter.address,
            "hash": query.filter.tx_hash,
        },
        "timestamp": stamp,
        "stale": stale,
        "source": "store",
        "warnings": _warnings(snapshot, chains, accuracy if query.include_totals else None),
        "limits": LIMITS,
        "defaults": DEFAULTS,
        "warm": {"chains": snapshots, "timestamp": stamp},
        "chains": snapshots,
        "availableChains": transfer_rows.available_chains(config),
        "request": {"includeTotals": query.include_totals},
    }


async def _read(
    state: AppState, query: TransfersQuery
) -> tuple[dict[int, int] | None, int | None, Rows]:
    """Chain totals, the filtered count and the rows. The count and the first page (or a
    cursor page) are read at once, on two connections; a later page waits for the count,
    which can spare it the probe when it lies past the end."""
    if not query.include_totals:
        return None, None, await _rows(state, query, None)
    per_chain = await service.chain_totals(state, await service.chain_ids(state, None))
    if query.page > 1 and query.cursor is None:
        total = await service.count(state, query.filter)
        return per_chain, total, await _rows(state, query, total)
    total, rows = await asyncio.gather(
        service.count(state, query.filter), _rows(state, query, None)
    )
    return per_chain, total, rows


async def _rows(state: AppState, query: TransfersQuery, total: int | None) -> Rows:
    f, order, size = query.filter, query.order, query.page_size
    if query.cursor is not None:
        window = await connection.window(
            state, f, order, first=size, after=query.cursor, first_name="pageSize",
            after_name="cursor",
        )  # fmt: skip
        return _with_cursor(window.rows, window.has_next, query)
    after = None
    if query.page > 1:
        # Past the end: no probe needed. Past 2**62 rows (OFFSET is a bigint; no table holds
        # that many) too, without totals: page 10**18 of 100 was a 500 (found by fuzzing).
        if query.offset >= (MAX_OFFSET if total is None else total):
            return Rows((), False, None)
        after = await service.key_at(state, f, order, query.offset - 1)
        if after is None:
            return Rows((), False, None)
    page = await service.read_page(state, PageRequest(f, order, size, after=after))
    return _with_cursor(page.rows, page.more, query)


def _with_cursor(items: tuple[StoredTransfer, ...], more: bool, query: TransfersQuery) -> Rows:
    cursor = cursors.encode(items[-1].key, query.order, query.filter) if more and items else None
    return Rows(items, more, cursor)


def _meta(query: TransfersQuery, total: int | None, rows: Rows) -> dict[str, Any]:
    size = query.page_size
    return {
        "page": None if query.cursor else query.page,
        "pageSize": size,
        "total": total,
        "totalPages": None if total is None else -(-total // size),
        "hasMore": rows.more,
        "windowExceeded": False,
        "maxWindowPages": None,
        "resultWindow": None,
        "cursor": query.cursor,
        "nextCursor": rows.next_cursor,
    }


def _totals(
    query: TransfersQuery,
    total: int | None,
    per_chain: dict[int, int] | None,
    rows: Rows,
    stamp: int,
    stale: bool,
    accuracy: Accuracy,
) -> dict[str, Any] | None:
    if total is None or per_chain is None:
        return None
    chain_id = query.filter.chain_id
    all_time = per_chain.get(chain_id, 0) if chain_id is not None else sum(per_chain.values())
    return {
        "total": total,
        "upstreamTotal": None,
        "allTimeTotal": all_time,
        "truncated": False,
        "resultLength": len(rows.items),
        "timestamp": stamp,
        "stale": stale,
        "source": "store",
        "allTimeTotalAvailable": True,
        "accuracy": accuracy.value,
    }


def _chain(state: AppState, query: TransfersQuery) -> dict[str, Any]:
    chain_id = query.filter.chain_id
    for chain in state.config.chains:
        if chain.id == chain_id:
            return {"id": chain.id, "name": chain.name, "provider": chain.provider.value}
    return transfer_rows.ALL_CHAINS


def _stale(snapshot: ChainState, chain_id: int) -> bool:
    warm = snapshot.warm.get(chain_id)
    return warm is None or warm.warm in (WarmStatus.STALE, WarmStatus.COLD)


def _warnings(
    snapshot: ChainState, chains: list[Chain], accuracy: Accuracy | None
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chain in chains:
        warm = snapshot.warm.get(chain.id)
        code = _WARNINGS.get(warm.warm if warm else WarmStatus.COLD)
        if code is not None:
            reason = warm.reading.reason if warm else code[1]
            message = f"{chain.name}: {code[1]} ({reason})"
            found.append(_warning(f"chain:{chain.id}", code[0], message))
    if accuracy is Accuracy.PARTIAL:
        gaps = ", ".join(chain.name for chain in chains if not snapshot.complete(chain))
        message = f"totals count the stored transfers; coverage is incomplete on {gaps}"
        found.append(_warning("store", "TOTALS_PARTIAL", message))
    return found


def _warning(scope: str, code: str, message: str) -> dict[str, Any]:
    return {"scope": scope, "code": code, "message": message, "retryable": True}
