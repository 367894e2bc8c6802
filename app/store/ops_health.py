"""Reads for health, the status page and the DB-derived metrics (sql/queries/ops_health.sql).

Rows come back as dicts: app.ops.health shapes them. Tables added by other features
(``upstream_breakers``, ``job_runs``) are read only when :func:`relations` says they exist,
so a schema without them reports "unknown" instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("ops_health")
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Relations:
    breakers: bool
    job_runs: bool
    prices: bool = False
    finality: bool = False


@wrap_exceptions
async def relations(conn: Connection) -> Relations:
    cur = await conn.execute(Q["relations"])
    row = await cur.fetchone()
    return Relations(breakers=False, job_runs=False) if row is None else Relations(**row)


async def _all(conn: Connection, name: str, params: dict[str, Any] | None = None) -> list[Row]:
    cur = await conn.execute(Q[name], params)
    return await cur.fetchall()


@wrap_exceptions
async def list_breakers(conn: Connection) -> list[Row]:
    return await _all(conn, "list_breakers")


@wrap_exceptions
async def key_usage(conn: Connection) -> list[Row]:
    """Per API key fingerprint: budget row, calls and rate-limit answers over 1 h and 24 h."""
    return await _all(conn, "key_usage")


@wrap_exceptions
async def provider_calls(conn: Connection) -> list[Row]:
    """Per provider and outcome: calls and latency sums over 1 h and 24 h."""
    return await _all(conn, "provider_calls")


@wrap_exceptions
async def analytics_state(conn: Connection) -> Row:
    """Pending refresh ranges and each aggregate's watermark (``watermarks``: name -> time)."""
    state = (await _all(conn, "analytics_state"))[0]
    marks = await _all(conn, "analytics_watermarks")
    return {**state, "watermarks": {row["relation"]: row["watermark"] for row in marks}}


@wrap_exceptions
async def latest_validation(conn: Connection) -> Row | None:
    rows = await _all(conn, "latest_validation")
    return rows[0] if rows else None


@wrap_exceptions
async def recent_alerts(conn: Connection, limit: int = 20) -> list[Row]:
    return await _all(conn, "recent_alerts", {"limit": limit})
