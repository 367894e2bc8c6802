"""Merged migrations are frozen: sql/frozen.sha256 must match the files, and only grows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.store import freeze
from app.store.migrate import sha256_manifest
from app.store.queries import SQL_DIR

HOW_TO_ADD = "run `make freeze` (python -m app.store.freeze) and commit sql/frozen.sha256"


@pytest.fixture(scope="module")
def drift() -> freeze.Drift:
    return freeze.compare(freeze.read(SQL_DIR / freeze.FROZEN_NAME), sha256_manifest())


def test_frozen_migrations_are_unchanged(drift: freeze.Drift) -> None:
    assert not drift.changed, (
        f"{', '.join(drift.changed)}: merged migrations are frozen; add a new migration"
        " (sql/migrations/NNNN_name.sql) instead of editing one"
    )


def test_frozen_migrations_still_exist(drift: freeze.Drift) -> None:
    assert not drift.missing, (
        f"{', '.join(drift.missing)}: merged migrations are frozen and cannot be deleted"
    )


def test_every_migration_file_is_listed(drift: freeze.Drift) -> None:
    assert not drift.unlisted, f"{', '.join(drift.unlisted)} not in sql/frozen.sha256: {HOW_TO_ADD}"


def test_the_list_covers_every_kind_of_frozen_file() -> None:
    listed = freeze.read(SQL_DIR / freeze.FROZEN_NAME)
    assert {name.split("/")[0] for name in listed} == {"migrations", "timescale", "portable"}


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    return copy


def test_freeze_only_appends(sql_dir: Path) -> None:
    frozen = sql_dir / freeze.FROZEN_NAME
    before = frozen.read_text()
    (sql_dir / "migrations" / "0999_new.sql").write_text("select 1;\n")
    (sql_dir / "portable" / "0999_new.sql").write_text("select 2;\n")
    drift = freeze.freeze(sql_dir)
    assert drift.unlisted == ["migrations/0999_new.sql", "portable/0999_new.sql"]
    after = frozen.read_text()
    assert after.startswith(before)
    assert after[len(before) :].splitlines() == [
        f"{sha256_manifest(sql_dir)[name]}  {name}" for name in drift.unlisted
    ]
    assert freeze.freeze(sql_dir) == freeze.Drift([], [], [])
    assert frozen.read_text() == after


def test_freeze_never_rewrites_a_changed_entry(sql_dir: Path) -> None:
    frozen = sql_dir / freeze.FROZEN_NAME
    before = frozen.read_text()
    target = sql_dir / "migrations" / "0001_core.sql"
    target.write_text(target.read_text() + "-- an innocent-looking edit\n")
    drift = freeze.freeze(sql_dir)
    assert drift.changed == ["migrations/0001_core.sql"]
    assert drift.broken
    assert frozen.read_text() == before


def test_freeze_reports_a_deleted_migration(sql_dir: Path) -> None:
    (sql_dir / "portable" / "0001_core.sql").unlink()
    drift = freeze.freeze(sql_dir)
    assert drift.missing == ["portable/0001_core.sql"]
    assert drift.broken


def test_freeze_starts_a_missing_list(sql_dir: Path) -> None:
    (sql_dir / freeze.FROZEN_NAME).unlink()
    drift = freeze.freeze(sql_dir)
    assert drift.unlisted == list(sha256_manifest(sql_dir))
    assert freeze.read(sql_dir / freeze.FROZEN_NAME) == sha256_manifest(sql_dir)


def test_read_refuses_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / freeze.FROZEN_NAME
    path.write_text("abc  migrations/0001_core.sql\n")
    with pytest.raises(ValueError, match=r"frozen.sha256:1: expected"):
        freeze.read(path)
