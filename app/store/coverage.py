"""The coverage ledger: which block ranges of each chain are fully ingested."""

from __future__ import annotations

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("coverage")
BlockRange = tuple[int, int]  # inclusive


@wrap_exceptions
async def add_range(conn: Connection, chain_id: int, from_block: int, to_block: int) -> BlockRange:
    """Mark [from_block, to_block] covered; returns the merged range that now contains it.

    Call it in the transaction that writes the range's rows, so rows and coverage commit together.
    """
    cur = await conn.execute(
        Q["add_range"], {"chain_id": chain_id, "from_block": from_block, "to_block": to_block}
    )
    row = await cur.fetchone()
    assert row is not None
    return row["from_block"], row["to_block"]


@wrap_exceptions
async def list_ranges(conn: Connection, chain_id: int) -> list[BlockRange]:
    cur = await conn.execute(Q["list_ranges"], {"chain_id": chain_id})
    return [(row["from_block"], row["to_block"]) for row in await cur.fetchall()]


@wrap_exceptions
async def list_gaps(
    conn: Connection, chain_id: int, first_block: int, head: int
) -> list[BlockRange]:
    """Uncovered ranges in [first_block, head], in block order."""
    cur = await conn.execute(
        Q["list_gaps"], {"chain_id": chain_id, "first_block": first_block, "head": head}
    )
    return [(row["from_block"], row["to_block"]) for row in await cur.fetchall()]
