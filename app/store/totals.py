"""Figures for totals that the balances table gives in one pass (app.ops.totals_service)."""

from __future__ import annotations

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("totals")


@wrap_exceptions
async def volumes(conn: Connection) -> dict[int, int]:
    """{chain id: sum of every stored transfer's amount, raw units}."""
    cur = await conn.execute(Q["volumes"])
    return {int(row["chain_id"]): int(row["volume"]) for row in await cur.fetchall()}
