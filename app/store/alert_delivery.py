"""Alert delivery state: a durable queue of messages per alert and channel (alert_deliveries).

Enqueuing is idempotent, so a restarted or new leader re-runs it safely and never sends a
message twice: an opening and a resolve are one row each per channel, reminders one row per
round. An attempt is counted (and the row pushed back by its back-off) before the message is
sent, in a transaction of its own, then marked delivered or failed; after ``max_attempts``
failures the row is given up. Functions take a connection and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("alert_delivery")


@dataclass(frozen=True, slots=True)
class Due:
    """One message to send: which delivery row, and the alert it is about."""

    alert_id: int
    channel: str
    event: str  # opened, resolved or reminder
    seq: int
    attempts: int
    kind: str
    severity: str
    chain_id: int | None
    message: str
    details: dict[str, Any]
    dedupe_key: str
    occurrences: int
    created_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None

    @property
    def ref(self) -> dict[str, Any]:
        """The row's primary key, as query parameters."""
        return {"alert_id": self.alert_id, "channel": self.channel, "event": self.event,
                "seq": self.seq}  # fmt: skip


@wrap_exceptions
async def enqueue(conn: Connection, channels: Sequence[str], renotify_seconds: float) -> None:
    """Queue what is owed: openings, resolves (pending reminders of resolved alerts are
    cancelled) and, when ``renotify_seconds`` > 0, reminders of long-held critical alerts."""
    await conn.execute(Q["enqueue_opened"], {"channels": list(channels)})
    await conn.execute(Q["enqueue_resolved"])
    await conn.execute(Q["cancel_reminders"])
    if renotify_seconds > 0:
        await conn.execute(Q["enqueue_reminders"], {"renotify_seconds": renotify_seconds})


@wrap_exceptions
async def list_due(conn: Connection, channels: Sequence[str], limit: int = 50) -> list[Due]:
    """Messages due now on these channels (rows of a channel since removed wait)."""
    cur = await conn.execute(Q["list_due"], {"channels": list(channels), "limit": limit})
    return [Due(**row) for row in await cur.fetchall()]


@wrap_exceptions
async def start_attempt(conn: Connection, due: Due, retry_seconds: float) -> int:
    """Count an attempt and push the row back by ``retry_seconds``; returns the attempts."""
    cur = await conn.execute(Q["start_attempt"], due.ref | {"retry_seconds": retry_seconds})
    row = await cur.fetchone()
    return 0 if row is None else int(row["attempts"])


@wrap_exceptions
async def mark_delivered(conn: Connection, due: Due) -> None:
    """Delivered (and the alert's notified_at set by its first delivered opening)."""
    await conn.execute(Q["mark_delivered"], due.ref)


@wrap_exceptions
async def mark_failed(conn: Connection, due: Due, error: str, max_attempts: int) -> None:
    """Record a failed attempt (``error`` already redacted); given up at ``max_attempts``."""
    params = due.ref | {"error": error[:1000], "max_attempts": max_attempts}
    await conn.execute(Q["mark_failed"], params)


@wrap_exceptions
async def list_for_alert(conn: Connection, alert_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(Q["list_for_alert"], {"alert_id": alert_id})
    return await cur.fetchall()
