"""The connection pool, created by the ASGI lifespan or the worker and passed down."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import psycopg
import psycopg_pool
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.domain import DatabaseStatus, SchemaMode
from app.store import meta
from app.store.errors import translate

Connection: TypeAlias = psycopg.AsyncConnection[DictRow]
Pool: TypeAlias = AsyncConnectionPool[Connection]


def conninfo(settings: Settings, dsn: str | None = None) -> str:
    if dsn is not None:
        return dsn
    if settings.database_url is None:
        raise ValueError("TOKENPULSE_DATABASE_URL is not set")
    return settings.database_url.get_secret_value()


def connect_kwargs(settings: Settings, statement_timeout_ms: int | None = None) -> dict[str, Any]:
    timeout = (
        settings.db_statement_timeout_ms if statement_timeout_ms is None else statement_timeout_ms
    )
    options = f"-c statement_timeout={timeout} -c timezone=UTC"
    return {
        "row_factory": dict_row,
        "connect_timeout": max(1, round(settings.db_connect_timeout)),
        "options": options,
        "application_name": "tokenpulse",
    }


def create(
    settings: Settings,
    *,
    dsn: str | None = None,
    name: str = "tokenpulse",
    prepare_threshold: int | None = 5,
) -> Pool:
    """A closed pool; open it with ``await pool.open()`` in the lifespan.

    ``prepare_threshold``: executions of a statement on a connection before psycopg prepares
    it (psycopg's default 5; 0: at once; None: never). The API passes 0 (app.asgi): its reads
    are a few statement shapes run over and over, and a prepared statement is what lets
    PostgreSQL stop planning them (after 5 plans on the connection it settles on a generic plan
    when that is as cheap: on a hypertable, planning costs more than running a page). The pool
    hands connections out in turn, so with psycopg's 5 a statement ran unprepared 5 times on
    every connection of the pool first.
    """
    kwargs = connect_kwargs(settings) | {"prepare_threshold": prepare_threshold}
    return AsyncConnectionPool(
        conninfo(settings, dsn),
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        kwargs=kwargs,
        connection_class=psycopg.AsyncConnection[DictRow],
        open=False,
        # Runs when a connection is handed out: a dead one is replaced, not returned. The
        # pool's own check leaves the connection idle, where a bare "select 1" would leave
        # it inside a transaction, turning the caller's first conn.transaction() into a
        # savepoint whose end commits nothing.
        check=AsyncConnectionPool.check_connection,
        timeout=settings.db_connect_timeout,
        # A lost connection's replacement backs off 1, 2, 4... s for as long as this lasts
        # (psycopg's default: 5 min), so after an outage of T s the first connection came up
        # to ~T s late (reliability/chaos: 24 s after PostgreSQL was back). Given up sooner,
        # the next request that waits starts a fresh attempt at once.
        reconnect_timeout=settings.db_connect_timeout,
        name=name,
    )


def dsn_of(pool: Pool) -> str:
    """The connection string a pool of :func:`create` connects with (always a string)."""
    if not isinstance(pool.conninfo, str):
        raise TypeError("a pool of create() has a string conninfo")
    return pool.conninfo


async def connect(
    settings: Settings,
    *,
    dsn: str | None = None,
    autocommit: bool = False,
    statement_timeout_ms: int | None = None,
) -> Connection:
    """One connection outside any pool (migrations, the leader lock, analytics refreshes).
    ``statement_timeout_ms``: instead of TOKENPULSE_DB_STATEMENT_TIMEOUT_MS (0: none)."""
    kwargs = connect_kwargs(settings, statement_timeout_ms)
    try:
        return await psycopg.AsyncConnection.connect(
            conninfo(settings, dsn), autocommit=autocommit, **kwargs
        )
    except psycopg.Error as exc:
        raise translate(exc) from exc


async def check_database(pool: Pool, wait_seconds: float) -> DatabaseStatus:
    """A real round trip to the database; never raises."""
    started = time.perf_counter()
    try:
        async with pool.connection(timeout=wait_seconds) as conn:
            version, mode = await meta.ping(conn)
    except Exception as exc:  # any failure is a status to report, not an error to raise
        error = translate(exc) if not isinstance(exc, ValueError) else exc
        return DatabaseStatus(
            ok=False, latency_ms=None, mode=None, server_version=None, error=str(error)
        )
    latency = (time.perf_counter() - started) * 1000
    return DatabaseStatus(ok=True, latency_ms=round(latency, 2), mode=mode, server_version=version)


@contextlib.asynccontextmanager
async def transaction(
    pool: Pool, *, wait_seconds: float | None = None
) -> AsyncIterator[Connection]:
    """A pooled connection inside a transaction, with driver errors translated.

    For callers that may not import psycopg (the API layers): waiting longer than
    ``wait_seconds`` (default: the pool's timeout) for a connection raises DatabaseUnavailable
    instead of a bare psycopg_pool.PoolTimeout.
    """
    try:
        async with pool.connection(timeout=wait_seconds) as conn, conn.transaction():
            yield conn
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        raise translate(exc) from exc


@contextlib.asynccontextmanager
async def read(pool: Pool, *, wait_seconds: float | None = None) -> AsyncIterator[Connection]:
    """A pooled connection for ONE read statement, outside any transaction (autocommit).

    A single statement reads one snapshot with or without a transaction; what a transaction
    adds is two round trips (BEGIN, COMMIT), each a point where a busy machine can deschedule
    the request, on every API read. Several statements that must agree still need
    :func:`transaction`. The connection goes back to the pool out of autocommit, as the
    pool's other users expect it. Errors as in :func:`transaction`.
    """
    try:
        async with pool.connection(timeout=wait_seconds) as conn:
            await conn.set_autocommit(True)  # idle, as the pool hands it out: no round trip
            try:
                yield conn
            finally:
                with contextlib.suppress(psycopg.Error):  # a broken one is discarded anyway
                    await conn.set_autocommit(False)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        raise translate(exc) from exc


__all__ = [
    "Connection",
    "Pool",
    "SchemaMode",
    "check_database",
    "connect",
    "create",
    "read",
    "transaction",
]
