"""Runtime settings (``runtime_settings``) and their change notifications.

A writer upserts or deletes a row and calls :func:`notify_changed` in the same transaction;
PostgreSQL delivers the notification on ``tokenpulse_settings`` only when it commits, so a
listener that reloads on it always reads the new rows. The listening side, as for
app.store.notify, needs a dedicated autocommit connection: :func:`listen` subscribes it and
:func:`changes` yields the changed keys, with a ``select 1`` every ``keepalive`` quiet seconds
so a dead session is noticed (StoreError, like every driver error here).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from app.store import queries
from app.store.errors import translate, wrap_exceptions
from app.store.pool import Connection

Q = queries.load("settings")
CHANNEL = "tokenpulse_settings"


@dataclass(frozen=True, slots=True)
class StoredSetting:
    key: str
    value: str
    updated_at: datetime
    updated_by: str


@wrap_exceptions
async def list_settings(conn: Connection) -> list[StoredSetting]:
    cur = await conn.execute(Q["list_settings"])
    return [StoredSetting(**row) for row in await cur.fetchall()]


@wrap_exceptions
async def upsert_setting(conn: Connection, key: str, value: str, updated_by: str) -> StoredSetting:
    params = {"key": key, "value": value, "updated_by": updated_by}
    cur = await conn.execute(Q["upsert_setting"], params)
    row = await cur.fetchone()
    assert row is not None  # an upsert with RETURNING always returns its row
    return StoredSetting(**row)


@wrap_exceptions
async def delete_setting(conn: Connection, key: str) -> bool:
    """Delete a key's override; False when there was none."""
    cur = await conn.execute(Q["delete_setting"], {"key": key})
    return await cur.fetchone() is not None


@wrap_exceptions
async def lock_writers(conn: Connection) -> None:
    """Serialise writers until the caller's transaction ends (readers are not blocked)."""
    await conn.execute(Q["lock_writers"])


@wrap_exceptions
async def notify_changed(conn: Connection, key: str) -> None:
    """Announce a change of ``key``; it goes out when the caller's transaction commits."""
    await conn.execute(Q["notify_changed"], {"key": key})


@wrap_exceptions
async def listen(conn: Connection) -> None:
    """Subscribe an autocommit connection to the channel."""
    await conn.execute(sql.SQL("listen {}").format(sql.Identifier(CHANNEL)))


async def changes(conn: Connection, *, keepalive: float = 30.0) -> AsyncIterator[str]:
    """Changed keys as they are announced on a listening connection, until it fails.

    Each key is yielded after psycopg's ``notifies()`` generator has ended (``stop_after=1``):
    that generator holds the connection's lock, so a caller reloading on this connection
    inside the loop would wait for itself forever. What arrives in between is kept by psycopg
    (its backlog) for the next round.
    """
    try:
        while True:
            keys = [
                notice.payload
                async for notice in conn.notifies(timeout=keepalive, stop_after=1)
                if notice.channel == CHANNEL
            ]
            if not keys:  # quiet for a while: is the session still there?
                await conn.execute("select 1")
            for key in keys:
                yield key
    except psycopg.Error as exc:
        raise translate(exc) from exc
