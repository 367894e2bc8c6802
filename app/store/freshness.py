"""How fresh each chain's stored data is: newest/oldest transfer and last coverage write."""

from __future__ import annotations

from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("freshness")


@wrap_exceptions
async def list_chain_freshness(conn: Connection) -> list[dict[str, Any]]:
    """One row per chain in the chains table, by chain id; times are None when nothing is stored."""
    cur = await conn.execute(Q["list_chain_freshness"])
    return await cur.fetchall()
