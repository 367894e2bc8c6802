"""Holders: an address's balance on one chain, and their Relay connection."""

from __future__ import annotations

import strawberry

from app.graphql.context import Info
from app.graphql.types.chain import Chain
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer import PageInfo
from app.graphql.types.transfer_scalars import BigInt
from app.ops import holders
from app.ops.state import AppState
from app.ops.transfer_service import Accuracy
from app.store.balances import HolderFilter


async def _chain(root: Holder, info: Info) -> Chain | None:
    return await info.context.loaders.chain.load(int(root.chain_id))


@strawberry.type(description="An address with a positive balance on one chain.")
class Holder:
    address: str = strawberry.field(description="Lowercase 0x-hex.")
    chain_id: SafeInt
    chain_name: str | None = strawberry.field(description="As the legacy /api/holders gives it.")
    balance: BigInt = strawberry.field(description="Raw units (no decimals applied).")
    share: float | None = strawberry.field(
        description="Fraction of the chain's supply (0 to 1); null while no supply is stored."
    )
    received: BigInt = strawberry.field(description="Raw units, over the stored transfers.")
    sent: BigInt
    transfer_count: SafeInt = strawberry.field(description="A self-transfer counts once.")
    chain: Chain | None = strawberry.field(
        resolver=_chain, description="The chain (batched per request)."
    )


@strawberry.type(description="A holder and the cursor that pages on from it.")
class HolderEdge:
    cursor: str
    node: Holder


def _nodes(root: HolderConnection) -> list[Holder]:
    return [edge.node for edge in root.edges]


async def _total_count(root: HolderConnection) -> SafeInt:
    return SafeInt(await holders.count(root.state, root.holder_filter))


async def _total_count_accuracy(root: HolderConnection) -> Accuracy:
    found = await holders.summaries(root.state)
    return holders.accuracy(found, root.chain_ids)


@strawberry.type(description="A page of holders by balance, largest first (Relay connection).")
class HolderConnection:
    edges: list[HolderEdge]
    page_info: PageInfo
    state: strawberry.Private[AppState]
    holder_filter: strawberry.Private[HolderFilter]
    chain_ids: strawberry.Private[list[int]]
    nodes: list[Holder] = strawberry.field(
        resolver=_nodes, description="The holders of the page, without cursors."
    )
    total_count: SafeInt = strawberry.field(
        resolver=_total_count,
        description=(
            "Holders under chainId and search (not the page): addresses other than the zero"
            " address with a positive balance."
        ),
    )
    total_count_accuracy: Accuracy = strawberry.field(
        resolver=_total_count_accuracy,
        description=(
            "EXACT when every chain concerned is covered from its first block without a gap;"
            " PARTIAL otherwise (balances and counts of the stored transfers only)."
        ),
    )
