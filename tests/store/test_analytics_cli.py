"""``tokenpulse backfill-analytics``: refreshes N days with a progress line, in both modes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg

from app.store import pool as pool_module
from app.store import transfers as store_transfers
from tests.conftest import TEST_ENV, make_config
from tests.store import analytics_data as data
from tests.unit.test_cli import invoke


async def _load(database_url: str) -> int:
    rows = data.rows(5, now=datetime.now(UTC), seed=31, skip=0)
    conn = await pool_module.connect(make_config(database_url).settings)
    async with conn, conn.transaction():
        await store_transfers.copy_transfers(conn, rows, "etherscan")
    return len(rows)


def test_backfill_analytics_shows_progress_and_fills_the_days(database_url: str) -> None:
    loaded = asyncio.run(_load(database_url))
    result = invoke(
        ["backfill-analytics", "--days", "5"], TOKENPULSE_DATABASE_URL=database_url, **TEST_ENV
    )
    assert result.exit_code == 0, result.output
    assert "analytics: 100.0% 5/5 days" in result.stderr
    assert "analytics: 5 day(s) refreshed" in result.stdout
    with psycopg.connect(database_url) as conn:
        row = conn.execute("select sum(transfers), count(*) from analytics_daily").fetchone()
    assert row == (loaded, 5 * len(data.CHAINS))


def test_backfill_analytics_refuses_an_unmigrated_database(empty_database_url: str) -> None:
    result = invoke(
        ["backfill-analytics", "--days", "5"],
        TOKENPULSE_DATABASE_URL=empty_database_url,
        **TEST_ENV,
    )
    assert result.exit_code == 2
    assert "run `tokenpulse migrate`" in result.stderr


def test_backfill_analytics_needs_a_positive_number_of_days() -> None:
    result = invoke(["backfill-analytics", "--days", "0"], **TEST_ENV)
    assert result.exit_code == 2
    assert "--days" in result.stderr
