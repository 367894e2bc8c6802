"""``transfers`` (a keyset connection) and ``transfer`` (one row by identity)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.errors import InvalidInput
from app.graphql.context import Info
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer import (
    PageInfo,
    Transfer,
    TransferConnection,
    TransferEdge,
    from_row,
)
from app.graphql.types.transfer_scalars import BigInt
from app.ops import transfer_connection as connection
from app.ops import transfer_inputs as inputs
from app.store.transfer_sql import Order


async def transfers(
    info: Info,
    chain_id: Annotated[
        SafeInt | None, strawberry.argument(description="One chain; omitted: every chain.")
    ] = None,
    address: Annotated[str | None, strawberry.argument(description="Sender or receiver.")] = None,
    from_: Annotated[str | None, strawberry.argument(name="from")] = None,
    to: str | None = None,
    tx_hash: str | None = None,
    from_block: Annotated[
        SafeInt | None, strawberry.argument(description="Inclusive; with or without chainId.")
    ] = None,
    to_block: Annotated[SafeInt | None, strawberry.argument(description="Inclusive.")] = None,
    since: Annotated[
        datetime | None, strawberry.argument(description="Block time, inclusive (UTC if no zone).")
    ] = None,
    until: Annotated[datetime | None, strawberry.argument(description="Exclusive.")] = None,
    min_value: Annotated[BigInt | None, strawberry.argument(description="Raw units.")] = None,
    max_value: BigInt | None = None,
    first: Annotated[
        int | None, strawberry.argument(description="Default 25; above 1000 counts as 1000.")
    ] = None,
    after: str | None = None,
    last: Annotated[int | None, strawberry.argument(description="At most 1000.")] = None,
    before: str | None = None,
    order_by: Order = Order.NEWEST_FIRST,
) -> TransferConnection:
    state = info.context.state
    transfer_filter = connection.build_filter(
        state.config,
        chain_id=chain_id,
        address=address,
        from_address=from_,
        to_address=to,
        tx_hash=tx_hash,
        from_block=from_block,
        to_block=to_block,
        since=since,
        until=until,
        min_value=min_value,
        max_value=max_value,
    )
    window = await connection.window(
        state, transfer_filter, order_by, first=first, last=last, after=after, before=before
    )
    edges = [TransferEdge(cursor=window.cursor(row), node=from_row(row)) for row in window.rows]
    page_info = PageInfo(
        has_next_page=window.has_next,
        has_previous_page=window.has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return TransferConnection(
        edges=edges, page_info=page_info, state=state, transfer_filter=transfer_filter
    )


async def transfer(info: Info, chain_id: SafeInt, tx_hash: str, log_index: int) -> Transfer | None:
    """One transfer by identity; null when the store has no such row."""
    inputs.chain(info.context.state.config, chain_id)
    if log_index < 0:
        raise InvalidInput("logIndex cannot be negative", field="logIndex")
    key = (int(chain_id), inputs.tx_hash(tx_hash, "txHash"), log_index)
    row = await info.context.loaders.transfer.load(key)
    return None if row is None else from_row(row)
