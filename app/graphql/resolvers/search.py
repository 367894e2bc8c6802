"""``search``: an address, a transaction hash or a block number, in the store."""

from __future__ import annotations

from app.graphql.context import Info
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer_lookups import SearchResult, search_from
from app.ops import lookups
from app.ops import transfer_inputs as inputs


async def search(info: Info, query: str, chain_id: SafeInt | None = None) -> SearchResult:
    state = info.context.state
    if chain_id is not None:
        inputs.chain(state.config, chain_id)
    return search_from(await lookups.search(state, query, chain_id))
