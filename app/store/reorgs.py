"""Reorg handling in the store: block hashes above finality, rewinds, and the event log.

The reorg check (app.ingest.reorg) compares :func:`list_recent_blocks` with the chain; when
blocks above ``fork_block`` turn out orphaned, the caller runs :func:`delete_above`, loads
the re-fetched rows, adds their coverage and :func:`insert_event` in ONE transaction, so the
store never shows the orphaned rows and the new ones at once, nor a covered hole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.store import queries, transfers
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("reorgs")


@dataclass(frozen=True, slots=True)
class KnownBlock:
    number: int
    hash: str  # lowercase 0x-hex


@dataclass(frozen=True, slots=True)
class ReorgEvent:
    id: int
    chain_id: int
    fork_block: int
    head: int
    depth: int
    rows_deleted: int
    rows_inserted: int
    detected_at: datetime


def _hex(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


@wrap_exceptions
async def list_recent_blocks(
    conn: Connection, chain_id: int, above: int, limit: int
) -> list[KnownBlock]:
    """Blocks above ``above`` whose hash the store relies on, newest first (at most ``limit``)."""
    params = {"chain_id": chain_id, "above": above, "limit": limit}
    cur = await conn.execute(Q["list_recent_blocks"], params)
    return [
        KnownBlock(row["block_number"], "0x" + bytes(row["block_hash"]).hex())
        for row in await cur.fetchall()
    ]


@wrap_exceptions
async def upsert_block_hash(
    conn: Connection, chain_id: int, number: int, block_hash: str, block_time: datetime | None
) -> None:
    """Remember a block's hash (the head a cycle saw) for the next reorg check."""
    params = {
        "chain_id": chain_id,
        "block_number": number,
        "block_hash": _hex(block_hash),
        "block_time": block_time,
    }
    await conn.execute(Q["upsert_block_hash"], params)


@wrap_exceptions
async def delete_block_hashes_upto(conn: Connection, chain_id: int, upto: int) -> int:
    """Forget checkpoints at or below the finality point: they can no longer change."""
    cur = await conn.execute(Q["delete_block_hashes_upto"], {"chain_id": chain_id, "upto": upto})
    return cur.rowcount


@wrap_exceptions
async def delete_above(conn: Connection, chain_id: int, fork_block: int) -> int:
    """Rewind a chain to ``fork_block``: its transfers, checkpoints and coverage above it go,
    and the deleted transfers' amounts leave the holder balances (same transaction).

    Returns how many transfers were deleted. Takes the chain's coverage lock first, so a
    concurrent coverage merge cannot interleave with the trim.
    """
    params = {"chain_id": chain_id, "fork_block": fork_block}
    deleted = await transfers.delete_blocks(conn, chain_id, fork_block + 1)
    await conn.execute(Q["delete_block_hashes_above"], params)
    await conn.execute(Q["delete_coverage_above"], params)
    await conn.execute(Q["trim_coverage_above"], params)
    return deleted


@wrap_exceptions
async def insert_event(
    conn: Connection,
    chain_id: int,
    fork_block: int,
    head: int,
    rows_deleted: int,
    rows_inserted: int,
) -> int:
    """Log a handled reorg; ``depth`` is ``head - fork_block``. Returns the event id."""
    params = {
        "chain_id": chain_id,
        "fork_block": fork_block,
        "head": head,
        "depth": max(0, head - fork_block),
        "rows_deleted": rows_deleted,
        "rows_inserted": rows_inserted,
    }
    cur = await conn.execute(Q["insert_event"], params)
    row = await cur.fetchone()
    if row is None:
        raise AssertionError("insert_event returned no row")
    return int(row["id"])


@wrap_exceptions
async def list_events(
    conn: Connection, chain_id: int | None = None, limit: int = 100
) -> list[ReorgEvent]:
    """Handled reorgs, newest first, of one chain or all."""
    cur = await conn.execute(Q["list_events"], {"chain_id": chain_id, "limit": limit})
    return [ReorgEvent(**row) for row in await cur.fetchall()]
