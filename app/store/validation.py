"""Validation reports: each run's comparison of our figures with the explorers', stored whole
(JSON and Markdown) so a later reader sees exactly what the run saw."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("validation")


@dataclass(frozen=True, slots=True)
class StoredReport:
    id: int
    origin: str  # nightly or cli
    started_at: datetime
    finished_at: datetime
    threshold: float
    report: dict[str, Any]
    markdown: str
    flagged: int


@wrap_exceptions
async def insert_report(
    conn: Connection,
    *,
    origin: str,
    started_at: datetime,
    finished_at: datetime,
    threshold: float,
    report: Mapping[str, Any],
    markdown: str,
    flagged: int,
) -> int:
    """Store one run's report; returns its id."""
    params = {
        "origin": origin,
        "started_at": started_at,
        "finished_at": finished_at,
        "threshold": threshold,
        "report": json.dumps(report, default=str),
        "markdown": markdown,
        "flagged": flagged,
    }
    cur = await conn.execute(Q["insert"], params)
    row = await cur.fetchone()
    if row is None:  # insert ... returning always returns its row
        raise AssertionError("insert returned no row")
    return int(row["id"])


@wrap_exceptions
async def find_latest(conn: Connection) -> StoredReport | None:
    cur = await conn.execute(Q["find_latest"])
    row = await cur.fetchone()
    return None if row is None else StoredReport(**row)


@wrap_exceptions
async def list_recent(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    """The newest runs without their bodies: id, origin, times, threshold, flagged."""
    cur = await conn.execute(Q["list_recent"], {"limit": limit})
    return await cur.fetchall()
