"""A throwaway PostgreSQL server that the suites can stop and start again on the same data.

The server runs as the ``postgres`` account when we are root, through the pg_ctl wrapper of
tests/pg.py (as the tests and bench/server.py run it). Unlike bench/server.py, pg_ctl is driven
directly: chaos stops the server and starts it again on the same data directory and port while
the worker and the API keep running, which an executor that owns the whole life cycle cannot do.
Durability stays on (fsync): a crash restart must find every committed row.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from reliability import procs
from tests import pg

# Small: two cores and a few GiB are shared with the other processes of the run.
SETTINGS = {"shared_buffers": "128MB", "max_wal_size": "1GB", "timezone": "UTC"}
DATABASE = "tokenpulse"


@dataclass(frozen=True)
class Postgres:
    folder: Path
    port: int
    timescale: bool
    pg_ctl: str

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def dsn(self, dbname: str = DATABASE) -> str:
        return f"postgresql://{pg.PG_ACCOUNT}@127.0.0.1:{self.port}/{dbname}"

    def _ctl(self, *args: str, timeout: float = 120) -> None:
        command = [self.pg_ctl, *args, "-D", str(self.data)]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def start(self) -> None:
        options = [f"-p {self.port}", f"-k {self.folder}", "-c listen_addresses=127.0.0.1"]
        options += [f"-c {key}={value}" for key, value in _settings(self.timescale).items()]
        log = str(self.folder / "postgresql.log")
        self._ctl("start", "-w", "-l", log, "-o", " ".join(options))
        wait_ready(self.dsn("postgres"))

    def stop(self, mode: str = "fast") -> None:
        """``fast`` disconnects every session and shuts down cleanly; ``immediate`` is a crash
        (the next start replays the WAL)."""
        self._ctl("stop", "-w", "-m", mode)

    def create_database(self) -> str:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f"create database {DATABASE}")
        return self.dsn()


def _settings(timescale: bool) -> dict[str, str]:
    found = dict(SETTINGS)
    if timescale:
        found["shared_preload_libraries"] = "timescaledb"
        found["timescaledb.telemetry_level"] = "off"
    return found


def wait_ready(dsn: str, timeout: float = 60.0) -> None:
    # The port opens before recovery ends ("the database system is starting up").
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def running(*, timescale: bool | None = None) -> Iterator[Postgres]:
    """initdb and start a server in a temporary folder; stop it and remove it all on exit."""
    if timescale is None:
        timescale = pg.timescaledb_available()
    folder = Path(tempfile.mkdtemp(prefix="tokenpulse-reliability-"))
    server = Postgres(folder, procs.free_port(), timescale, pg.pg_ctl_executable())
    try:
        init = f"-U {pg.PG_ACCOUNT} --auth=trust -E UTF8 --no-sync"
        server._ctl("initdb", "-o", init)
        server.start()
        server.create_database()
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
