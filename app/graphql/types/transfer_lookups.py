"""One address (balances from stored transfers, counts, recent transfers) and search results."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.context import Info
from app.graphql.types.chain import Chain
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer import Transfer
from app.graphql.types.transfer import from_row as transfer_from_row
from app.graphql.types.transfer_scalars import BigInt
from app.ops import lookups
from app.ops.lookups import SearchKind
from app.ops.transfer_service import Accuracy

strawberry.enum(SearchKind, description="What a search text was taken for.")


async def _chain(root: ChainBalance | BlockChainCount, info: Info) -> Chain | None:
    return await info.context.loaders.chain.load(int(root.chain_id))


@strawberry.type(description="An address on one chain, from the stored transfers.")
class ChainBalance:
    chain_id: SafeInt
    balance: BigInt = strawberry.field(description="received - sent, raw units.")
    received: BigInt
    sent: BigInt
    transfer_count: SafeInt = strawberry.field(description="A self-transfer counts once.")
    first_time: datetime | None
    last_time: datetime | None
    accuracy: Accuracy = strawberry.field(
        description="EXACT where the chain's coverage is complete; else a partial sum."
    )
    chain: Chain | None = strawberry.field(
        resolver=_chain, description="The chain (batched per request)."
    )


@strawberry.type(description="One address over every chain.")
class AddressSummary:
    address: str
    total_balance: BigInt
    transfer_count: SafeInt
    chain_count: int = strawberry.field(description="Chains where it sent or received.")
    accuracy: Accuracy = strawberry.field(description="EXACT only if every chain's balance is.")
    balances: list[ChainBalance] = strawberry.field(
        description="Every enabled chain, and any other it has transfers on."
    )
    recent_transfers: list[Transfer] = strawberry.field(description="The 20 newest.")


def summary_from(item: lookups.AddressSummary) -> AddressSummary:
    return AddressSummary(
        address=item.address,
        total_balance=BigInt(item.total_balance),
        transfer_count=SafeInt(item.transfer_count),
        chain_count=item.chain_count,
        accuracy=item.accuracy,
        balances=[
            ChainBalance(
                chain_id=SafeInt(entry.chain.id),
                balance=BigInt(entry.balance),
                received=BigInt(entry.received),
                sent=BigInt(entry.sent),
                transfer_count=SafeInt(entry.transfers),
                first_time=entry.first_time,
                last_time=entry.last_time,
                accuracy=entry.accuracy,
            )
            for entry in item.balances
        ],
        recent_transfers=[transfer_from_row(row) for row in item.recent],
    )


@strawberry.type(description="Transfers in one block number of one chain.")
class BlockChainCount:
    chain_id: SafeInt
    transfer_count: SafeInt
    chain: Chain | None = strawberry.field(
        resolver=_chain, description="The chain (batched per request)."
    )


@strawberry.type(description="A block number, on every chain that has transfers in it.")
class BlockHit:
    block_number: SafeInt
    transfer_count: SafeInt
    chains: list[BlockChainCount]


@strawberry.type(description="What the store holds for a search text.")
class SearchResult:
    kind: SearchKind
    query: str = strawberry.field(description="The text as understood (lowercase hex).")
    found: bool
    address: AddressSummary | None = strawberry.field(description="For an ADDRESS search.")
    transfers: list[Transfer] = strawberry.field(
        description="For a TRANSACTION search: its transfers, by log index."
    )
    block: BlockHit | None = strawberry.field(description="For a BLOCK search.")


def search_from(result: lookups.SearchResult) -> SearchResult:
    block = None
    if result.kind is SearchKind.BLOCK and result.block is not None:
        counts = result.block_chains
        block = BlockHit(
            block_number=SafeInt(result.block),
            transfer_count=SafeInt(sum(counts.values())),
            chains=[
                BlockChainCount(chain_id=SafeInt(chain_id), transfer_count=SafeInt(n))
                for chain_id, n in sorted(counts.items())
            ],
        )
    return SearchResult(
        kind=result.kind,
        query=result.query,
        found=result.found,
        address=summary_from(result.address) if result.address else None,
        transfers=[transfer_from_row(row) for row in result.transfers],
        block=block,
    )
