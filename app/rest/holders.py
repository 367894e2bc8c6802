"""``GET /api/holders`` (legacy-api.md §1.6), from the ``balances`` table only.

Parameters as the legacy API took them: ``chainId`` (default 1; ``0`` or ``all``: every
chain, an address once per chain it holds on), ``page`` (>= 1), ``pageSize`` (default 50,
clamped to 10..500) and ``search`` (hex digits: with ``0x`` the start of the address, without
it anywhere in the address, as the legacy ILIKE did). Bad input is a 400 with a code
(``invalid_chain``, ``invalid_page``, ``invalid_page_size``, ``invalid_search``), where the
legacy API answered 500 or ignored it.

The legacy data came from an upstream holder list copied into a snapshot table (balances
parsed through a float, lists truncated at the sweep's page limit); here every holder comes
from balances kept by ingestion, exact where the chain's coverage is complete. ``supply``
is what the store holds (minted minus burned), not the bundle service's figure.
Additions: ``data[].share`` (of the chain's supply), ``supply.totalSupplyRaw``,
``accuracy``, ``stale``, ``source``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.config import Config
from app.ops import holders
from app.ops import state as app_state
from app.ops import transfer_inputs as inputs
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.rest import http_cache, transfer_params, transfer_rows
from app.rest.address import tokens
from app.store.balances import BalanceSummary, Holder, HolderFilter
from app.warm import WarmStatus

SECTION = "rest_holders"
DEFAULT_CHAIN = 1
DEFAULT_PAGE_SIZE, MIN_PAGE_SIZE, MAX_PAGE_SIZE = 50, 10, 500
MAX_OFFSET = 2**62
_ALL = frozenset({"0", "all"})


@dataclass(frozen=True, slots=True)
class HoldersQuery:
    filter: HolderFilter
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def chain_id(config: Config, raw: str | None) -> int | None:
    text = (raw or "").strip().lower()
    if not text:
        return inputs.chain(config, DEFAULT_CHAIN, "chainId").id
    if text in _ALL:
        return None
    value = transfer_params.integer(text, "chainId", inputs.InvalidChain)
    return inputs.chain(config, value, "chainId").id


def page_size(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_PAGE_SIZE
    value = transfer_params.integer(raw, "pageSize", inputs.InvalidPageSize)
    return max(MIN_PAGE_SIZE, min(value, MAX_PAGE_SIZE))


def parse(config: Config, params: Mapping[str, str]) -> HoldersQuery:
    """The validated query, or an InvalidInput subclass naming the parameter."""
    chain = chain_id(config, params.get("chainId"))
    return HoldersQuery(
        filter=holders.search_filter(chain, params.get("search"), substring=True),
        page=transfer_params.page(params.get("page")),
        page_size=page_size(params.get("pageSize")),
    )


async def endpoint(request: Request) -> Response:
    state = app_state.of(request)
    query = parse(state.config, request.query_params)

    async def build() -> dict[str, Any]:
        return await document(state, query)

    chain = query.filter.chain_id
    chains = frozenset() if chain is None else frozenset({chain})
    ttl = state.config.settings.cache_ttl_holders_seconds
    return await http_cache.respond(request, state, SECTION, ttl, query, build, chains)


async def document(state: AppState, query: HoldersQuery) -> dict[str, Any]:
    snapshot = await service.chain_state(state)
    summaries = holders.by_chain(await holders.summaries(state))
    # OFFSET is a bigint: a page past 2**62 rows (none exists) reads as the empty page it is,
    # rather than overflowing into a 500 (page 10**17 of 500 did, found by fuzzing).
    offset = min(query.offset, MAX_OFFSET)
    found = await holders.page(state, query.filter, query.page_size, offset=offset)
    total = await holders.count(state, query.filter)
    chains = service.chains_for(state, query.filter.chain_id)
    accuracy = holders.accuracy(list(summaries.values()), [chain.id for chain in chains])
    names = {chain.id: chain.name for chain in state.config.chains}
    partial = [chain.name for chain in chains if not _complete(summaries, chain.id)]
    # Part of a chain's history bounds no supply (mints outside it are missing): unknown,
    # null, rather than a wrong figure, while any chain concerned is incomplete.
    supply_raw = None if partial else sum(summaries[c.id].supply for c in chains)
    supply = None if partial else sum(tokens(summaries[c.id].supply, c.decimals) for c in chains)
    stamp = snapshot.read_at  # not the clock: equal data, equal bytes, equal ETag
    body: dict[str, Any] = {
        "data": [_row(item, names, summaries) for item in found.rows],
        "chain": _chain(state, query.filter.chain_id),
        "pagination": {
            "page": query.page,
            "pageSize": query.page_size,
            "resultCount": len(found.rows),
            "totalRaw": total,
            "total": total,
            "hasMore": found.more,
        },
        "supply": {
            "totalSupply": supply,
            "totalSupplyRaw": None if supply_raw is None else str(supply_raw),
        },
        "lastUpdated": transfer_rows.iso(stamp),
        "timestamp": int(stamp.timestamp() * 1000),
        "accuracy": accuracy.value,
        "stale": any(_stale(snapshot, chain.id) for chain in chains),
        "source": "store",
    }
    if partial:
        body["warning"] = (
            "holders and balances count the stored transfers; coverage from the first block"
            f" is incomplete on {', '.join(partial)}"
        )
    return body


def _row(
    item: Holder, names: Mapping[int, str], summaries: Mapping[int, BalanceSummary]
) -> dict[str, Any]:
    summary = summaries.get(item.chain_id)
    return {
        "TokenHolderAddress": item.address,
        "TokenHolderQuantity": str(item.balance),
        "chainId": item.chain_id,
        "chainName": names.get(item.chain_id),
        "share": (
            holders.share(item.balance, summary.supply) if summary and summary.complete else None
        ),
    }


def _chain(state: AppState, chain_id: int | None) -> dict[str, Any]:
    for chain in state.config.chains:
        if chain.id == chain_id:
            return {"id": chain.id, "name": chain.name}
    return transfer_rows.ALL_CHAINS


def _complete(summaries: Mapping[int, BalanceSummary], chain_id: int) -> bool:
    summary = summaries.get(chain_id)
    return summary is not None and summary.complete


def _stale(snapshot: service.ChainState, chain_id: int) -> bool:
    warm = snapshot.warm.get(chain_id)
    return warm is None or warm.warm in (WarmStatus.STALE, WarmStatus.COLD)
