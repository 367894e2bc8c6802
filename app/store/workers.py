"""Worker heartbeats and the leader lock (a session-level advisory lock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("workers")


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    worker_id: str
    hostname: str
    pid: int
    version: str
    started_at: datetime


@wrap_exceptions
async def try_leader_lock(conn: Connection, key: int) -> bool:
    """Take the leader lock on this session if free. Held until unlock or disconnect,

    which is what makes failover work: a dead leader's session ends and frees the lock.
    """
    cur = await conn.execute(Q["try_leader_lock"], {"key": key})
    row = await cur.fetchone()
    return bool(row and row["acquired"])


@wrap_exceptions
async def holds_leader_lock(conn: Connection, key: int) -> bool:
    """Whether this session still holds the leader lock; raises if the session is gone."""
    cur = await conn.execute(Q["holds_leader_lock"], {"key": key})
    row = await cur.fetchone()
    return bool(row and row["held"])


@wrap_exceptions
async def configure_lock_session(
    conn: Connection, idle_seconds: int, interval_seconds: int
) -> None:
    """Let the server notice a vanished leader within seconds (see the query's comment)."""
    params = {"idle": str(idle_seconds), "interval": str(interval_seconds)}
    await conn.execute(Q["configure_lock_session"], params)


@wrap_exceptions
async def release_leader_lock(conn: Connection, key: int) -> None:
    await conn.execute(Q["release_leader_lock"], {"key": key})


@wrap_exceptions
async def upsert_heartbeat(conn: Connection, worker: WorkerIdentity, role: str) -> None:
    params = {
        "worker_id": worker.worker_id,
        "hostname": worker.hostname,
        "pid": worker.pid,
        "role": role,
        "version": worker.version,
        "started_at": worker.started_at,
    }
    await conn.execute(Q["upsert_heartbeat"], params)


@wrap_exceptions
async def delete_heartbeat(conn: Connection, worker_id: str) -> None:
    await conn.execute(Q["delete_heartbeat"], {"worker_id": worker_id})


@wrap_exceptions
async def delete_stale(conn: Connection, older_than_seconds: float) -> int:
    cur = await conn.execute(Q["delete_stale"], {"older_than_seconds": older_than_seconds})
    return cur.rowcount


@wrap_exceptions
async def list_workers(conn: Connection) -> list[dict[str, Any]]:
    cur = await conn.execute(Q["list_workers"])
    return await cur.fetchall()
