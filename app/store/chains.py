"""The chains table: the configured chains mirrored into the database, with coverage."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.domain import Chain
from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("chains")


def _params(chain: Chain) -> dict[str, Any]:
    return {
        "chain_id": chain.id,
        "name": chain.name,
        "slug": chain.slug,
        "provider": chain.provider.value,
        "token_address": bytes.fromhex(chain.token_address[2:]),
        "decimals": chain.decimals,
        "first_block": chain.first_block,
        "finality": str(chain.finality),
        "block_time_seconds": chain.block_time_seconds,
        "enabled": chain.enabled,
    }


@wrap_exceptions
async def upsert_chains(conn: Connection, chains: Iterable[Chain]) -> int:
    """Mirror the configured chains; returns how many rows changed."""
    changed = 0
    async with conn.cursor() as cur:
        for chain in chains:
            await cur.execute(Q["upsert_chain"], _params(chain))
            changed += cur.rowcount
    return changed


@wrap_exceptions
async def list_chains(conn: Connection) -> list[dict[str, Any]]:
    """Every chain with its coverage summary, by chain id."""
    cur = await conn.execute(Q["list_chains"])
    rows = await cur.fetchall()
    for row in rows:
        row["token_address"] = "0x" + bytes(row["token_address"]).hex()
    return rows
