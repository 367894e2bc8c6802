"""Chain and its coverage, as mirrored into the store."""

from __future__ import annotations

import strawberry

from app.domain import ProviderKind
from app.graphql.types.scalars import SafeInt

# Registered under its GraphQL name; annotations use the domain enum itself.
strawberry.enum(ProviderKind, name="Provider", description="Where a chain's transfers come from.")


@strawberry.type(description="Block ranges of a chain whose transfers are fully stored.")
class Coverage:
    covered_blocks: SafeInt = strawberry.field(description="Blocks covered, all ranges summed.")
    first_covered_block: SafeInt | None
    last_covered_block: SafeInt | None
    ranges: int = strawberry.field(description="Disjoint covered ranges; more than 1 = gaps.")


@strawberry.type(description="A chain the token is tracked on.")
class Chain:
    id: SafeInt = strawberry.field(description="The EVM chain id.")
    name: str
    slug: str
    provider: ProviderKind
    token_address: str = strawberry.field(description="The token contract, lowercase 0x-hex.")
    decimals: int
    first_block: SafeInt = strawberry.field(description="Where coverage starts.")
    finality: str = strawberry.field(description="finalized, safe, instant or depth:N.")
    block_time_seconds: float
    enabled: bool
    coverage: Coverage
