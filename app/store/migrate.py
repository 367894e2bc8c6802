"""Schema migrations: a ledger with sha256, an advisory lock, two modes, idempotent objects.

Layout (see docs/architecture.md):
- ``sql/migrations/NNNN_name.sql``: applied once each, in order, in one transaction each;
  ``sql/<mode>/NNNN_name.sql``, when present, is applied right after it in the same transaction.
  The ledger records the sha256 of the two texts; a ledger hash that no longer matches the
  files means a merged migration was edited, and migrate refuses to go on.
- ``sql/idempotent/*.sql`` then ``sql/<mode>/idempotent/*.sql``: re-applied on every run.

The mode is chosen once, at the first migrate, and recorded in ``schema_info``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from app.domain import SchemaMode
from app.errors import FrozenMigrationChanged, MigrationError, SchemaModeUnavailable
from app.store.errors import wrap_exceptions
from app.store.pool import Connection
from app.store.queries import SQL_DIR

log = logging.getLogger(__name__)
MIGRATION_LOCK = 0x746F6B6D  # "tokm": any constant shared by every migrating process
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(slots=True)
class Report:
    mode: SchemaMode
    applied: list[str] = field(default_factory=list)
    idempotent: list[str] = field(default_factory=list)


def discover(mode: SchemaMode, sql_dir: Path = SQL_DIR) -> list[Migration]:
    """The migrations for a mode, in order; consecutive numbering is enforced."""
    found: list[Migration] = []
    for path in sorted((sql_dir / "migrations").glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            raise MigrationError(f"bad migration file name {path.name} (want NNNN_snake_name.sql)")
        version = int(match[1])
        if version != len(found) + 1:
            raise MigrationError(f"migration {path.name} breaks the consecutive numbering")
        text = path.read_text("utf-8")
        mode_file = sql_dir / mode.value / path.name
        if mode_file.exists():
            text += f"\n-- {mode.value}/{path.name}\n" + mode_file.read_text("utf-8")
        found.append(Migration(version, match[2], text))
    return found


def idempotent_files(mode: SchemaMode, sql_dir: Path = SQL_DIR) -> list[Path]:
    common = sorted((sql_dir / "idempotent").glob("*.sql"))
    return common + sorted((sql_dir / mode.value / "idempotent").glob("*.sql"))


@wrap_exceptions
async def migrate(conn: Connection, requested: str = "auto", sql_dir: Path = SQL_DIR) -> Report:
    """Bring the schema up to date; safe to run concurrently and repeatedly.

    ``conn`` must be in autocommit mode: each migration gets its own transaction, and the
    advisory lock is held by the session across all of them.
    """
    if not conn.autocommit:
        raise MigrationError("migrate needs an autocommit connection")
    # Migrations may rewrite big tables: the pool's statement timeout protects requests, not DDL.
    await _execute(conn, "set statement_timeout = 0")
    await _execute(conn, f"select pg_advisory_lock({MIGRATION_LOCK})")
    try:
        return await _migrate_locked(conn, requested, sql_dir)
    finally:
        await _execute(conn, f"select pg_advisory_unlock({MIGRATION_LOCK})")


async def _migrate_locked(conn: Connection, requested: str, sql_dir: Path) -> Report:
    await _execute(conn, (sql_dir / "ledger.sql").read_text("utf-8"))
    mode = await _resolve_mode(conn, requested)
    report = Report(mode)
    applied = await _applied(conn)
    for migration in discover(mode, sql_dir):
        recorded = applied.get(migration.version)
        if recorded is not None:
            _check_frozen(migration, recorded)
            continue
        await _apply(conn, migration, mode)
        report.applied.append(f"{migration.version:04d}_{migration.name}")
        log.info("migration applied", extra={"migration": migration.name, "mode": mode.value})
    async with conn.transaction():
        for path in idempotent_files(mode, sql_dir):
            await _execute(conn, path.read_text("utf-8"))
            report.idempotent.append(path.relative_to(sql_dir).as_posix())
        await conn.execute("update schema_info set migrated_at = now()")
    return report


async def _apply(conn: Connection, migration: Migration, mode: SchemaMode) -> None:
    try:
        async with conn.transaction():
            await _execute(conn, migration.text)
            await conn.execute(
                "insert into schema_migrations (version, name, sha256, mode)"
                " values (%s, %s, %s, %s)",
                (migration.version, migration.name, migration.sha256, mode.value),
            )
    except psycopg.Error as exc:
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} failed and was rolled back:"
            f" {exc.diag.message_primary or exc}"
        ) from exc


def _check_frozen(migration: Migration, recorded: tuple[str, str]) -> None:
    name, sha = recorded
    if sha != migration.sha256:
        raise FrozenMigrationChanged(
            f"migration {migration.version:04d}_{name} was edited after it was applied"
            " (sha256 differs); add a new migration instead"
        )


async def _applied(conn: Connection) -> dict[int, tuple[str, str]]:
    cur = await conn.execute("select version, name, sha256 from schema_migrations")
    return {row["version"]: (row["name"], row["sha256"]) for row in await cur.fetchall()}


async def _resolve_mode(conn: Connection, requested: str) -> SchemaMode:
    cur = await conn.execute("select mode from schema_info")
    row = await cur.fetchone()
    if row is not None:
        recorded = SchemaMode(row["mode"])
        if requested not in ("auto", recorded.value):
            raise SchemaModeUnavailable(
                f"this database was created in {recorded.value} mode; {requested} was requested"
            )
        if recorded is SchemaMode.TIMESCALE:
            await _execute(conn, "create extension if not exists timescaledb")
        return recorded
    mode = await _choose_mode(conn, requested)
    await conn.execute("insert into schema_info (mode) values (%s)", (mode.value,))
    return mode


async def _choose_mode(conn: Connection, requested: str) -> SchemaMode:
    if requested == SchemaMode.PORTABLE.value:
        return SchemaMode.PORTABLE
    problem = await _timescale_problem(conn)
    if problem is None:
        return SchemaMode.TIMESCALE
    if requested == SchemaMode.TIMESCALE.value:
        raise SchemaModeUnavailable(f"timescale mode requested but {problem}")
    log.info("portable schema mode", extra={"reason": problem})
    return SchemaMode.PORTABLE


async def _timescale_problem(conn: Connection) -> str | None:
    """None when TimescaleDB with continuous aggregates is usable here, else why not."""
    cur = await conn.execute(
        "select exists (select from pg_available_extensions where name = 'timescaledb') as ok,"
        " current_setting('shared_preload_libraries') like '%%timescaledb%%' as preloaded"
    )
    row = await cur.fetchone()
    if row is None or not row["ok"]:
        return "the timescaledb extension is not installed"
    if not row["preloaded"]:
        return "timescaledb is not in shared_preload_libraries"
    await _execute(conn, "create extension if not exists timescaledb")
    cur = await conn.execute("select current_setting('timescaledb.license', true) as license")
    license_row = await cur.fetchone()
    license_name = license_row["license"] if license_row else None
    if license_name != "timescale":
        # The Apache-only build has hypertables but no continuous aggregates or policies.
        return f"timescaledb license is {license_name!r}, not 'timescale'"
    return None


async def _execute(conn: Connection, text: str) -> None:
    # SQL files are part of the code base; a multi-statement script runs without parameters.
    await conn.execute(text)


def sha256_manifest(sql_dir: Path = SQL_DIR) -> dict[str, str]:
    """sha256 of every frozen file (migrations and their mode parts), by relative path."""
    paths = [
        *sorted((sql_dir / "migrations").glob("*.sql")),
        *sorted((sql_dir / "timescale").glob("*.sql")),
        *sorted((sql_dir / "portable").glob("*.sql")),
    ]
    return {
        path.relative_to(sql_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in paths
    }
