"""Totals per chain and over all chains, each figure with its accuracy (app.totals)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.types import transfer as _transfer  # noqa: F401  (registers Accuracy)
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer_scalars import BigInt
from app.totals import Accuracy


@strawberry.type(description="What an upstream source said of a figure, beside ours.")
class UpstreamFigure:
    source: str = strawberry.field(description="etherscan, explorer or rpc.")
    value: BigInt | None = strawberry.field(description="The last good value; null if none.")
    fetched_at: datetime | None = strawberry.field(description="When that value was fetched.")
    age_seconds: float | None
    stale: bool = strawberry.field(
        description="The newest attempt failed, or the value is older than the allowed age."
    )
    variance: float | None = strawberry.field(
        description="|ours - theirs| / theirs; null where ours is not the chain's figure."
    )


@strawberry.type(description="One figure: its value, accuracy and where it comes from.")
class Figure:
    value: BigInt | None = strawberry.field(description="Raw units or a count; null: unknown.")
    accuracy: Accuracy
    source: str = strawberry.field(description="store, or the upstream source standing in.")
    source_timestamp: datetime | None = strawberry.field(
        description="When the source was last brought up to date (sync or fetch time)."
    )
    age_seconds: float | None
    stale: bool
    upstream: list[UpstreamFigure]


@strawberry.type(description="The stored block ranges a chain's figures rest on.")
class TotalsCoverage:
    first_block: SafeInt | None
    last_block: SafeInt | None
    gaps: int = strawberry.field(
        description="Holes between the contract's first block and lastBlock."
    )
    complete: bool = strawberry.field(description="One range from the contract's first block up.")


@strawberry.type(description="A chain's totals.")
class ChainTotals:
    chain_id: SafeInt
    chain_name: str
    coverage: TotalsCoverage
    transfers: Figure = strawberry.field(description="Transfer count.")
    volume: Figure = strawberry.field(description="Sum of transferred amounts, raw units.")
    holders: Figure = strawberry.field(description="Addresses with a positive balance.")
    supply: Figure = strawberry.field(description="Minted minus burned, raw units.")


@strawberry.type(description="Totals of the requested chains, and their sums.")
class Totals:
    transfers: Figure
    volume: Figure
    holders: Figure
    supply: Figure
    chains: list[ChainTotals]
