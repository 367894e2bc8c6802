"""Schema metadata: mode and ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.domain import SchemaMode
from app.store import queries
from app.store.errors import wrap_exceptions

if TYPE_CHECKING:
    from app.store.pool import Connection

Q = queries.load("meta")


@wrap_exceptions
async def ping(conn: Connection) -> tuple[str, SchemaMode | None]:
    """Server version and schema mode (None before the first migrate)."""
    cur = await conn.execute("select to_regclass('schema_info') is not null as ready")
    row = await cur.fetchone()
    if row is None or not row["ready"]:
        cur = await conn.execute("select current_setting('server_version') as server_version")
        version = await cur.fetchone()
        return (version["server_version"] if version else "?"), None
    cur = await conn.execute(Q["ping"])
    found = await cur.fetchone()
    assert found is not None
    return found["server_version"], SchemaMode(found["mode"]) if found["mode"] else None


@wrap_exceptions
async def list_migrations(conn: Connection) -> list[dict[str, Any]]:
    cur = await conn.execute(Q["list_migrations"])
    return await cur.fetchall()
