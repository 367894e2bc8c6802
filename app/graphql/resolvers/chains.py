"""``chains``: every chain in the store with its coverage summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain import ProviderKind
from app.graphql.context import Info
from app.graphql.types.chain import Chain, Coverage
from app.graphql.types.scalars import SafeInt
from app.store import chains as store_chains
from app.store import pool as store_pool


async def chains(info: Info) -> list[Chain]:
    async with store_pool.transaction(info.context.pool) as conn:
        rows = await store_chains.list_chains(conn)
    return [chain_from_row(row) for row in rows]


def chain_from_row(row: Mapping[str, Any]) -> Chain:
    return Chain(
        id=SafeInt(row["chain_id"]),
        name=row["name"],
        slug=row["slug"],
        provider=ProviderKind(row["provider"]),
        token_address=row["token_address"],
        decimals=row["decimals"],
        first_block=SafeInt(row["first_block"]),
        finality=row["finality"],
        block_time_seconds=row["block_time_seconds"],
        enabled=row["enabled"],
        coverage=Coverage(
            covered_blocks=SafeInt(int(row["covered_blocks"])),
            first_covered_block=_optional(row["first_covered_block"]),
            last_covered_block=_optional(row["last_covered_block"]),
            ranges=int(row["ranges"]),
        ),
    )


def _optional(value: int | None) -> SafeInt | None:
    return None if value is None else SafeInt(int(value))
