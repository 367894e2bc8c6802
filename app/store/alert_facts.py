"""Facts for the alert rules that no other store module reads: open circuit breakers and
recent price observations. Both tables belong to other features (upstream_breakers,
price_observations); while one is missing its reader returns None and the rule is skipped.
"""

from __future__ import annotations

from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("alert_facts")


@wrap_exceptions
async def optional_tables(conn: Connection) -> dict[str, bool]:
    """{"breakers": exists, "prices": exists}."""
    cur = await conn.execute(Q["optional_tables"])
    row = await cur.fetchone()
    return {"breakers": bool(row and row["breakers"]), "prices": bool(row and row["prices"])}


@wrap_exceptions
async def open_breakers(conn: Connection) -> list[dict[str, Any]]:
    """Breakers open now, with how long they have been open (seconds)."""
    cur = await conn.execute(Q["open_breakers"])
    return await cur.fetchall()


@wrap_exceptions
async def price_sources(conn: Connection, window_seconds: float) -> list[dict[str, Any]]:
    """Per price source within the window: attempts, good answers, the newest outcome."""
    cur = await conn.execute(Q["price_sources"], {"window_seconds": window_seconds})
    return await cur.fetchall()
