"""A throwaway PostgreSQL server for the benchmark, started the way the tests start theirs.

tests/pg.py knows where the server binaries are, how to run them as the ``postgres`` account
when we are root, and whether TimescaleDB is installed; pytest-postgresql's executor runs
initdb and pg_ctl. Unlike the tests, durability stays on: fsync and synchronous commit are part
of what a write costs in production.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from pytest_postgresql.executors import PostgreSQLExecutor

from tests import pg

# Production-like memory for a 24 GiB machine; a large max_wal_size keeps bulk loads from
# being dominated by forced checkpoints, as a tuned server would.
SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "max_wal_size": "4GB",
    "timezone": "UTC",
}


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    timescale: bool
    options: dict[str, str]

    def dsn(self, dbname: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return self.dsn(name)

    def version(self) -> str:
        with psycopg.connect(self.dsn("postgres")) as conn:
            row = conn.execute("select current_setting('server_version')").fetchone()
        return str(row[0]) if row else "?"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(found: Server, timeout: float = 30.0) -> None:
    # The port opens before recovery ends ("the database system is starting up").
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(found.dsn("postgres"), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _options(timescale: bool) -> dict[str, str]:
    options = dict(SERVER_SETTINGS)
    if timescale:
        options["shared_preload_libraries"] = "timescaledb"
        options["timescaledb.telemetry_level"] = "off"
    return options


@contextlib.contextmanager
def running() -> Iterator[Server]:
    """Start a server in a temporary directory; stop it and remove everything on exit."""
    timescale = pg.timescaledb_available()
    options = _options(timescale)
    folder = Path(tempfile.mkdtemp(prefix="tokenpulse-bench-"))
    port = _free_port()
    executor = PostgreSQLExecutor(
        executable=pg.pg_ctl_executable(),
        host="127.0.0.1",
        port=port,
        datadir=str(folder / "data"),
        unixsocketdir=str(folder),
        logfile=str(folder / "postgresql.log"),
        startparams="-w",
        dbname="tokenpulse_bench",
        user=pg.PG_ACCOUNT,
        postgres_options=" ".join(f"-c {key}={value}" for key, value in options.items()),
    )
    executor.start()
    try:
        found = Server("127.0.0.1", port, pg.PG_ACCOUNT, timescale, options)
        _wait_ready(found)
        yield found
    finally:
        executor.stop()
        shutil.rmtree(folder, ignore_errors=True)
