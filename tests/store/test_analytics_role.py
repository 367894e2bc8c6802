"""The analysts' read-only role: it reads every view of the ``analytics`` schema and nothing
else; writes through the views, the application's tables and other schemas are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from app.config import Config
from app.ingest import aggregates
from app.store import chains as store_chains
from app.store import pool as pool_module
from app.store import transfers as store_transfers
from tests.store import analytics_data as data

Pool = pool_module.Pool
ROLE = "tokenpulse_analyst"
VIEWS = {
    "chains", "transfers", "hourly", "hourly_global", "daily", "daily_global",
    "address_daily", "holders", "totals",
}  # fmt: skip


@asynccontextmanager
async def as_analyst(pool: Pool) -> AsyncIterator[pool_module.Connection]:
    """A connection acting as the role (SET ROLE: the same privilege checks as a login
    granted the role), rolled back at the end."""
    async with pool.connection() as conn:
        try:
            async with conn.transaction():
                await conn.execute(sql.SQL("set local role {}").format(sql.Identifier(ROLE)))
                yield conn
                raise _Rollback
        except _Rollback:
            pass


class _Rollback(Exception):
    pass


async def refused(pool: Pool, statement: Any) -> None:
    async with as_analyst(pool) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute(statement)


async def filled(config: Config, pool: Pool) -> None:
    async with pool.connection() as conn, conn.transaction():
        await store_chains.upsert_chains(conn, config.chains)
        rows = data.rows(3, now=datetime.now(UTC), seed=21)
        await store_transfers.copy_transfers(conn, rows, "etherscan")
    await aggregates.backfill(config.settings, 3)


async def test_the_schema_has_the_documented_views(pool: Pool) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select table_name, table_type from information_schema.tables"
            " where table_schema = 'analytics'"
        )
        found = {(r["table_name"], r["table_type"]) for r in await cur.fetchall()}
    assert found == {(name, "VIEW") for name in VIEWS}


async def test_the_role_reads_every_view(config: Config, pool: Pool) -> None:
    await filled(config, pool)
    async with as_analyst(pool) as conn:
        for name in sorted(VIEWS):
            query = sql.SQL("select * from analytics.{} limit 5").format(sql.Identifier(name))
            cur = await conn.execute(query)
            rows = await cur.fetchall()
            assert rows or name == "holders", name  # the test rows leave no holder data
        cur = await conn.execute("select sum(transfers) as n from analytics.daily")
        assert (await cur.fetchone() or {}).get("n")


# Views over one table are automatically updatable: only the privilege check stops these.
@pytest.mark.parametrize(
    "statement",
    [
        "insert into analytics.chains (chain_id, name, slug, decimals, first_block, enabled)"
        " values (99, 'x', 'x', 18, 0, true)",
        "update analytics.chains set enabled = false",
        "delete from analytics.chains",
        "update analytics.holders set transfers = 0",
        "delete from analytics.holders",
        "delete from analytics.address_daily",
        "truncate analytics_daily_uniques",
        "create view analytics.mine as select 1 as one",
        "select analytics_refresh(now() - interval '1 day', now())",
    ],
)
async def test_writes_are_refused(pool: Pool, statement: str) -> None:
    await refused(pool, statement)


async def test_no_view_can_be_written(pool: Pool) -> None:
    # Views over joins or aggregates cannot be written by anyone; the rest by no analyst.
    for name in sorted(VIEWS):
        view = sql.Identifier(name)
        for statement in (
            sql.SQL("delete from analytics.{}").format(view),
            sql.SQL("update analytics.{} set chain_id = chain_id").format(view),
        ):
            if name in ("hourly_global", "daily_global"):  # no chain_id column
                statement = sql.SQL("delete from analytics.{} where false").format(view)
            async with as_analyst(pool) as conn:
                with pytest.raises(
                    (
                        psycopg.errors.InsufficientPrivilege,
                        psycopg.errors.ObjectNotInPrerequisiteState,
                        psycopg.errors.FeatureNotSupported,
                    )
                ):
                    await conn.execute(statement)


async def test_every_application_table_is_refused(pool: Pool) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'public' and c.relkind in ('r', 'v', 'm', 'p')"
        )
        names = sorted(r["relname"] for r in await cur.fetchall())
    # The tables the issue names: raw transfers, coverage, the upstream keys' budget ledger.
    assert {"transfers", "coverage", "rate_budget", "upstream_calls"} <= set(names)
    assert "analytics_daily" in names
    for name in names:
        await refused(pool, sql.SQL("select * from public.{} limit 1").format(sql.Identifier(name)))


async def test_other_schemas_are_refused(pool: Pool, mode: str) -> None:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("create schema if not exists private_notes")
        await conn.execute("create table if not exists private_notes.secrets (s text)")
    await refused(pool, "select * from private_notes.secrets")
    await refused(pool, "create table public.mine (x int)")
    if mode == "timescale":  # the materialized rows behind the continuous aggregates
        async with pool.connection() as conn:
            cur = await conn.execute(
                "select materialization_hypertable_schema as s,"
                " materialization_hypertable_name as t"
                " from timescaledb_information.continuous_aggregates"
            )
            hidden = await cur.fetchall()
        assert hidden
        for row in hidden:
            await refused(
                pool, sql.SQL("select * from {}.{}").format(
                    sql.Identifier(row["s"]), sql.Identifier(row["t"])
                )
            )  # fmt: skip
