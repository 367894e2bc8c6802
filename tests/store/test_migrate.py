from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.domain import SchemaMode
from app.errors import FrozenMigrationChanged, MigrationError, SchemaModeUnavailable
from app.store import meta, migrate
from app.store import pool as pool_module
from app.store.queries import SQL_DIR
from tests.conftest import TIMESCALE, make_config


async def _run(dsn: str, requested: str = "auto", sql_dir: Path = SQL_DIR) -> migrate.Report:
    conn = await pool_module.connect(make_config(dsn).settings, autocommit=True)
    async with conn:
        return await migrate.migrate(conn, requested, sql_dir)


@pytest.mark.parametrize("requested", ["portable", "auto"])
async def test_migrate_twice_is_a_noop(empty_database_url: str, requested: str) -> None:
    first = await _run(empty_database_url, requested)
    assert first.applied == [f"{m.version:04d}_{m.name}" for m in migrate.discover(first.mode)]
    expected = SchemaMode.TIMESCALE if TIMESCALE and requested == "auto" else SchemaMode.PORTABLE
    assert first.mode is expected
    second = await _run(empty_database_url, requested)
    assert second.applied == []
    assert second.mode is first.mode
    assert second.idempotent == first.idempotent != []


async def test_ledger_records_sha256_and_mode(database_url: str, mode: str) -> None:
    conn = await pool_module.connect(make_config(database_url).settings)
    async with conn:
        rows = await meta.list_migrations(conn)
        _, recorded_mode = await meta.ping(conn)
    expected = {m.version: m.sha256 for m in migrate.discover(SchemaMode(mode))}
    assert {row["version"]: row["sha256"] for row in rows} == expected
    assert {row["mode"] for row in rows} == {mode}
    assert recorded_mode is SchemaMode(mode)


async def test_editing_an_applied_migration_fails(tmp_path: Path, empty_database_url: str) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    await _run(empty_database_url, "portable", sql_dir)
    first = sorted((sql_dir / "migrations").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(FrozenMigrationChanged, match="edited after it was applied"):
        await _run(empty_database_url, "portable", sql_dir)


async def test_new_migration_is_applied_once(tmp_path: Path, empty_database_url: str) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    await _run(empty_database_url, "portable", sql_dir)
    version = len(list((sql_dir / "migrations").glob("*.sql"))) + 1
    (sql_dir / "migrations" / f"{version:04d}_extra.sql").write_text(
        "create table extra (id int primary key);"
    )
    report = await _run(empty_database_url, "portable", sql_dir)
    assert report.applied == [f"{version:04d}_extra"]
    assert (await _run(empty_database_url, "portable", sql_dir)).applied == []


async def test_failed_migration_leaves_nothing_behind(
    tmp_path: Path, empty_database_url: str
) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    await _run(empty_database_url, "portable", sql_dir)
    version = len(list((sql_dir / "migrations").glob("*.sql"))) + 1
    (sql_dir / "migrations" / f"{version:04d}_broken.sql").write_text(
        "create table half_done (id int); select * from no_such_table;"
    )
    with pytest.raises(MigrationError):
        await _run(empty_database_url, "portable", sql_dir)
    conn = await pool_module.connect(make_config(empty_database_url).settings)
    async with conn:
        cur = await conn.execute("select to_regclass('half_done') is null as gone")
        row = await cur.fetchone()
    assert row is not None
    assert row["gone"]


def test_numbering_gap_is_refused(tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    (sql_dir / "migrations" / "0099_far_ahead.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="consecutive"):
        migrate.discover(SchemaMode.PORTABLE, sql_dir)


async def test_mode_cannot_change_after_creation(empty_database_url: str) -> None:
    await _run(empty_database_url, "portable")
    with pytest.raises(SchemaModeUnavailable, match="portable mode"):
        await _run(empty_database_url, "timescale")


@pytest.mark.skipif(TIMESCALE, reason="only meaningful where TimescaleDB is missing")
async def test_timescale_mode_refused_without_extension(empty_database_url: str) -> None:
    with pytest.raises(SchemaModeUnavailable, match="timescale mode requested"):
        await _run(empty_database_url, "timescale")


async def test_concurrent_migrations_serialise(empty_database_url: str) -> None:
    import asyncio

    reports = await asyncio.gather(*[_run(empty_database_url, "portable") for _ in range(3)])
    applied = [name for report in reports for name in report.applied]
    assert sorted(applied) == sorted(set(applied))
    assert len(applied) == len(migrate.discover(SchemaMode.PORTABLE))
