"""Alerts: things an operator should hear about, of any kind (validation variance today).

At most one alert per ``dedupe_key`` is open: raising it again refreshes that alert (message,
details, ``last_seen_at``, ``occurrences``) instead of adding a row, so a condition that holds
for a week is one alert, not seven. Resolving closes it; the same key may then open a new one.
Delivery (Slack, email) is the ops notifiers' job, which will set ``notified_at``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("alerts")


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    kind: str
    severity: Severity
    chain_id: int | None
    message: str
    details: dict[str, Any]
    dedupe_key: str
    occurrences: int
    created_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    notified_at: datetime | None


@wrap_exceptions
async def raise_alert(
    conn: Connection,
    *,
    kind: str,
    dedupe_key: str,
    message: str,
    severity: Severity = Severity.WARNING,
    chain_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> tuple[int, bool]:
    """Open an alert unless one with this key is open (then refresh it).

    Returns (alert id, whether a new alert was created).
    """
    params = {
        "kind": kind,
        "severity": severity.value,
        "chain_id": chain_id,
        "message": message,
        "details": json.dumps(dict(details or {}), default=str),
        "dedupe_key": dedupe_key,
    }
    cur = await conn.execute(Q["raise_alert"], params)
    row = await cur.fetchone()
    if row is None:  # an upsert with RETURNING always returns its row
        raise AssertionError("raise_alert returned no row")
    return int(row["id"]), bool(row["created"])


@wrap_exceptions
async def resolve(conn: Connection, dedupe_key: str) -> int | None:
    """Close the open alert of this key; returns its id, or None when none was open."""
    cur = await conn.execute(Q["resolve"], {"dedupe_key": dedupe_key})
    row = await cur.fetchone()
    return None if row is None else int(row["id"])


@wrap_exceptions
async def list_open(conn: Connection, kind: str | None = None) -> list[Alert]:
    """Open alerts, oldest first, of one kind or all."""
    cur = await conn.execute(Q["list_open"], {"kind": kind})
    return [_alert(row) for row in await cur.fetchall()]


def _alert(row: dict[str, Any]) -> Alert:
    return Alert(**(row | {"severity": Severity(row["severity"])}))
