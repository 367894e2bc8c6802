"""Transfers: the row, its Relay connection (keyset cursors), and the subscription's batches."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.context import Info
from app.graphql.types.chain import Chain
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer_scalars import BigInt
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.ops.transfer_service import Accuracy
from app.store.transfer_pages import StoredTransfer
from app.store.transfer_sql import Order, TransferFilter

# Registered under their GraphQL names; annotations use the Python enums themselves.
strawberry.enum(
    Order,
    name="TransferOrder",
    description="NEWEST_FIRST: by block time, chain, block, log index, descending; OLDEST_FIRST.",
)
strawberry.enum(
    Accuracy,
    description=(
        "How far a figure can be trusted (docs/api.md, Accuracy). VERIFIED: exact, and an"
        " independent upstream source agrees; EXACT: from the stored transfers, whose coverage"
        " is the chains' whole history up to their covered head; PARTIAL: coverage has gaps"
        " or starts late, so the figure is a lower bound; ESTIMATED: an upstream figure"
        " stands in for ours. Transfer counts and balances are EXACT or PARTIAL."
    ),
)


async def _chain(root: Transfer, info: Info) -> Chain | None:
    return await info.context.loaders.chain.load(int(root.chain_id))


@strawberry.type(description="One ERC-20 Transfer log of the token.")
class Transfer:
    id: strawberry.ID = strawberry.field(description="chainId:txHash:logIndex.")
    chain_id: SafeInt
    block_number: SafeInt
    block_time: datetime
    block_hash: str
    tx_hash: str
    log_index: int
    tx_index: int | None
    from_: str = strawberry.field(name="from", description="Sender, lowercase 0x-hex.")
    to: str = strawberry.field(description="Receiver, lowercase 0x-hex.")
    value: BigInt = strawberry.field(description="Amount in raw units (no decimals applied).")
    chain: Chain | None = strawberry.field(
        resolver=_chain, description="The chain, with its coverage (batched per request)."
    )


def from_row(row: StoredTransfer) -> Transfer:
    return Transfer(
        id=strawberry.ID(f"{row.chain_id}:{row.tx_hash}:{row.log_index}"),
        chain_id=SafeInt(row.chain_id),
        block_number=SafeInt(row.block_number),
        block_time=row.block_time,
        block_hash=row.block_hash,
        tx_hash=row.tx_hash,
        log_index=row.log_index,
        tx_index=row.tx_index,
        from_=row.from_address,
        to=row.to_address,
        value=BigInt(row.value),
    )


@strawberry.type(description="A transfer and the cursor that pages on from it.")
class TransferEdge:
    cursor: str
    node: Transfer


@strawberry.type(description="Where a page sits in the whole order (Relay).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(
        description="With `first`: whether `after` was given (a row precedes the page)."
    )
    start_cursor: str | None
    end_cursor: str | None


def _nodes(root: TransferConnection) -> list[Transfer]:
    return [edge.node for edge in root.edges]


async def _total_count(root: TransferConnection) -> SafeInt:
    return SafeInt(await service.count(root.state, root.transfer_filter))


async def _total_count_accuracy(root: TransferConnection) -> Accuracy:
    snapshot = await service.chain_state(root.state)
    chains = service.chains_for(root.state, root.transfer_filter.chain_id)
    return service.accuracy(snapshot, chains)


@strawberry.type(description="A page of transfers in keyset order (Relay connection).")
class TransferConnection:
    edges: list[TransferEdge]
    page_info: PageInfo
    state: strawberry.Private[AppState]
    transfer_filter: strawberry.Private[TransferFilter]
    nodes: list[Transfer] = strawberry.field(
        resolver=_nodes, description="The transfers of the page, without cursors."
    )
    total_count: SafeInt = strawberry.field(
        resolver=_total_count,
        description=(
            "Exact number of stored transfers under the filters (not the page). Opt-in: only"
            " counted when selected. Unfiltered chain totals are kept per chain and recounted"
            " per ingested batch; an address alone (with or without chainId) is read from the"
            " per-address counts ingestion keeps; any other filter reads every matching row."
        ),
    )
    total_count_accuracy: Accuracy = strawberry.field(
        resolver=_total_count_accuracy,
        description="Whether totalCount is the chains' whole history.",
    )


@strawberry.type(description="New transfers of one committed ingestion batch.")
class TransferBatch:
    chain_id: SafeInt | None = strawberry.field(description="Null only on a gap notice.")
    from_block: SafeInt | None
    to_block: SafeInt | None
    inserted: int = strawberry.field(description="Rows the batch inserted.")
    transfers: list[Transfer] = strawberry.field(description="The batch's rows, oldest first.")
    truncated: bool = strawberry.field(
        description="More rows than were pushed: query transfers for the block range."
    )
    gap: bool = strawberry.field(
        description="Batches may have been missed before this one: query transfers to catch up."
    )
