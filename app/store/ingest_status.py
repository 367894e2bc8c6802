"""Per-chain ingestion status: the last tip cycle's head, finality point, outcome and back-off.

Written by app.ingest once per sync_tip cycle (in its own short transaction, after the
cycle's data has committed); read by health, warm status and the status page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("ingest_status")


@dataclass(frozen=True, slots=True)
class IngestStatus:
    chain_id: int
    head: int | None
    safe_head: int | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    backoff_until: datetime | None
    last_cycle: dict[str, Any] | None
    updated_at: datetime


@wrap_exceptions
async def upsert_success(
    conn: Connection,
    chain_id: int,
    head: int | None,
    safe_head: int | None,
    cycle: Mapping[str, Any],
) -> None:
    """Record a successful cycle; clears the failure count and back-off."""
    params = {
        "chain_id": chain_id,
        "head": head,
        "safe_head": safe_head,
        "cycle": json.dumps(cycle, default=str),
    }
    await conn.execute(Q["record_success"], params)


@wrap_exceptions
async def upsert_failure(
    conn: Connection,
    chain_id: int,
    error: str,
    *,
    head: int | None = None,
    safe_head: int | None = None,
    base_seconds: float = 30.0,
    cap_seconds: float = 900.0,
) -> tuple[int, datetime]:
    """Record a failed cycle; returns (consecutive failures, back-off end).

    The back-off is ``base_seconds`` after the first failure and doubles with each further
    one, up to ``cap_seconds``. ``error`` must already be redacted.
    """
    params = {
        "chain_id": chain_id,
        "head": head,
        "safe_head": safe_head,
        "error": error[:2000],
        "base_seconds": max(0.0, base_seconds),
        "cap_seconds": max(0.0, cap_seconds),
    }
    cur = await conn.execute(Q["record_failure"], params)
    row = await cur.fetchone()
    if row is None:  # an upsert with RETURNING always returns its row
        raise AssertionError("record_failure returned no row")
    return int(row["consecutive_failures"]), row["backoff_until"]


@wrap_exceptions
async def find(conn: Connection, chain_id: int) -> IngestStatus | None:
    cur = await conn.execute(Q["find"], {"chain_id": chain_id})
    row = await cur.fetchone()
    return IngestStatus(**row) if row else None


@wrap_exceptions
async def list_all(conn: Connection) -> list[IngestStatus]:
    cur = await conn.execute(Q["list_all"])
    return [IngestStatus(**row) for row in await cur.fetchall()]
