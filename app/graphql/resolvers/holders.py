"""``holders``: a keyset connection over the balances table, by balance (largest first)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.context import Info
from app.graphql.types.holder import Holder, HolderConnection, HolderEdge
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer import PageInfo
from app.graphql.types.transfer_scalars import BigInt
from app.ops import holders
from app.ops import transfer_inputs as inputs
from app.ops import transfer_service as service
from app.store import balances as store_balances
from app.store.balances import BalanceSummary


async def holders_connection(
    info: Info,
    chain_id: Annotated[
        SafeInt | None,
        strawberry.argument(description="One chain; omitted: every chain (an address per chain)."),
    ] = None,
    first: Annotated[
        int, strawberry.argument(description="Default 50; above 1000 counts as 1000.")
    ] = holders.DEFAULT_SIZE,
    after: str | None = None,
    search: Annotated[
        str | None,
        strawberry.argument(
            description="Hex digits the address starts with (0x optional); 40: one address."
        ),
    ] = None,
) -> HolderConnection:
    state = info.context.state
    if chain_id is not None:
        inputs.chain(state.config, chain_id)
    holder_filter = holders.search_filter(chain_id, search)
    size = inputs.size(first, default=holders.DEFAULT_SIZE, maximum=holders.MAX_SIZE, field="first")
    after_key = None if after is None else holders.decode(after, holder_filter, "after")
    found = await holders.page(state, holder_filter, size, after=after_key)
    summaries = holders.by_chain(await holders.summaries(state))
    edges = [
        HolderEdge(cursor=found.cursor(row), node=_node(info, row, summaries.get(row.chain_id)))
        for row in found.rows
    ]
    page_info = PageInfo(
        has_next_page=found.more,
        has_previous_page=after_key is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    chain_ids = [chain.id for chain in service.chains_for(state, chain_id)]
    return HolderConnection(
        edges=edges,
        page_info=page_info,
        state=state,
        holder_filter=holder_filter,
        chain_ids=chain_ids,
    )


def _node(info: Info, row: store_balances.Holder, summary: BalanceSummary | None) -> Holder:
    names = {chain.id: chain.name for chain in info.context.state.config.chains}
    return Holder(
        address=row.address,
        chain_id=SafeInt(row.chain_id),
        chain_name=names.get(row.chain_id),
        balance=BigInt(row.balance),
        share=holders.share(row.balance, summary.supply) if summary and summary.complete else None,
        received=BigInt(row.received),
        sent=BigInt(row.sent),
        transfer_count=SafeInt(row.transfers),
    )
