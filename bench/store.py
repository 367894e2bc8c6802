"""Database measurements: migrate, bulk loads and keyset pages, through the real store code."""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from app.config import Config
from app.domain import SchemaMode, Transfer
from app.store import chains, migrate, transfers
from app.store import pool as store_pool
from bench import data

PAGE_SIZE = 100


@dataclass(frozen=True)
class Migrated:
    mode: SchemaMode
    first_seconds: float
    again_seconds: float
    migrations: int


async def migrate_twice(cfg: Config, requested: str) -> Migrated:
    """Migrate an empty database, then again (the no-op every deploy runs); both timed."""
    timings: list[float] = []
    applied = 0
    mode = SchemaMode.PORTABLE
    for _ in range(2):
        started = time.perf_counter()
        conn = await store_pool.connect(cfg.settings, autocommit=True)
        async with conn:
            report = await migrate.migrate(conn, requested)
        timings.append(time.perf_counter() - started)
        applied += len(report.applied)
        mode = report.mode
    return Migrated(mode, timings[0], timings[1], applied)


async def upsert_chains(cfg: Config) -> None:
    conn = await store_pool.connect(cfg.settings)
    async with conn, conn.transaction():
        await chains.upsert_chains(conn, cfg.chains)


async def copy_raw(dsn: str, rows: Sequence[Transfer], table: str = "transfers") -> float:
    """Binary COPY straight into ``table``, one transaction; returns seconds."""
    copy_rows = [data.copy_row(row) for row in rows]  # conversion is not what we measure
    statement = sql.SQL("copy {} ({}) from stdin (format binary)").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(name) for name in data.COPY_COLUMNS),
    )
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        started = time.perf_counter()
        async with conn.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(list(data.COPY_TYPES))
            for row in copy_rows:
                await copy.write_row(row)
        await conn.commit()
        return time.perf_counter() - started


async def copy_without_indexes(dsn: str, rows: Sequence[Transfer]) -> float:
    """The same COPY into an index-free copy of `transfers`: the floor set by the client,
    the wire and the heap, so the difference is what the indexes cost."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute("create table bare_transfers (like transfers including defaults)")
    try:
        return await copy_raw(dsn, rows, "bare_transfers")
    finally:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await conn.execute("drop table bare_transfers")


def chain_batches(rows: Sequence[Transfer], batch: int) -> list[Sequence[Transfer]]:
    """``rows`` as ingestion commits them: one chain per transaction (a chain's windows are
    written by its own sink), at most ``batch`` rows each, every chain in its block order."""
    by_chain: dict[int, list[Transfer]] = collections.defaultdict(list)
    for row in rows:
        by_chain[row.chain_id].append(row)
    return [
        part[lo : lo + batch] for part in by_chain.values() for lo in range(0, len(part), batch)
    ]


async def load_through_store(
    cfg: Config, rows: Sequence[Transfer], batch: int
) -> tuple[float, int, float]:
    """The ingest write path: ``transfers.copy_transfers`` per batch of one chain, one
    transaction each.

    Returns (seconds, rows inserted, seconds to re-load the last batch, which inserts none).
    """
    batches = chain_batches(rows, batch)
    conn = await store_pool.connect(cfg.settings)
    async with conn:
        inserted = 0
        started = time.perf_counter()
        for part in batches:
            async with conn.transaction():
                inserted += await transfers.copy_transfers(conn, part, "rpc")
        seconds = time.perf_counter() - started
        last = batches[-1]
        started = time.perf_counter()
        async with conn.transaction():
            again = await transfers.copy_transfers(conn, last, "rpc")
        reload_seconds = time.perf_counter() - started
    assert again == 0, "re-loading a batch must insert nothing"
    return seconds, inserted, reload_seconds


async def load_concurrently(
    cfg: Config, rows: Sequence[Transfer], batch: int, writers: int
) -> tuple[float, int]:
    """The same write path from ``writers`` connections at once, each with chains of its
    own, as ingestion writes chains concurrently. Returns (seconds, rows inserted)."""
    conns = [await store_pool.connect(cfg.settings) for _ in range(writers)]
    try:
        started = time.perf_counter()
        parts = zip(conns, by_chain(rows, writers), strict=True)
        counts = await asyncio.gather(*(_load(conn, part, batch) for conn, part in parts))
        return time.perf_counter() - started, sum(counts)
    finally:
        for conn in conns:
            await conn.close()


def by_chain(rows: Sequence[Transfer], parts: int) -> list[list[Transfer]]:
    """``rows`` in ``parts`` of whole chains, about the same size, each in its original order."""
    sizes = collections.Counter(row.chain_id for row in rows)
    owner: dict[int, int] = {}
    loads = [0] * parts
    for chain_id, size in sizes.most_common():
        part = loads.index(min(loads))
        owner[chain_id] = part
        loads[part] += size
    split: list[list[Transfer]] = [[] for _ in range(parts)]
    for row in rows:
        split[owner[row.chain_id]].append(row)
    return split


async def _load(conn: store_pool.Connection, rows: Sequence[Transfer], batch: int) -> int:
    inserted = 0
    for part in chain_batches(rows, batch):
        async with conn.transaction():
            inserted += await transfers.copy_transfers(conn, part, "rpc")
    return inserted


async def analyze(cfg: Config) -> tuple[int, int]:
    """ANALYZE transfers; returns (rows, indexes on the table)."""
    conn = await store_pool.connect(cfg.settings, autocommit=True)
    async with conn:
        await conn.execute("analyze transfers")
        cur = await conn.execute(
            "select (select count(*) from transfers) as n,"
            " (select count(*) from pg_indexes where tablename = 'transfers') as indexes"
        )
        row = await cur.fetchone()
    return (int(row["n"]), int(row["indexes"])) if row else (0, 0)


async def keyset_pages(
    cfg: Config, chain_id: int, samples: int, seed: int
) -> dict[str, list[float]]:
    """Latency in ms of ``transfers.list_recent`` pages: the first page, and random depths."""
    conn = await store_pool.connect(cfg.settings)
    async with conn:
        cursors = await _cursors(conn, chain_id)
        rng = random.Random(seed)
        first = await _time_pages(conn, chain_id, [None] * samples)
        deep = await _time_pages(conn, chain_id, [rng.choice(cursors) for _ in range(samples)])
    return {"first page": first, "random depth": deep}


async def first_page_plan(cfg: Config, chain_id: int) -> tuple[float, float, int]:
    """(planning ms, execution ms, chunks) of the first page from a fresh session's EXPLAIN."""
    conn = await store_pool.connect(cfg.settings)
    async with conn:
        params: dict[str, Any] = {"chain_id": chain_id, "limit": PAGE_SIZE}
        params |= {"before_time": None, "before_block": None, "before_log_index": None}
        query = sql.SQL("explain (analyze, summary, format json) ") + sql.SQL(
            transfers.Q["list_recent"]
        )
        cur = await conn.execute(query, params)
        row = await cur.fetchone()
        plan = row["QUERY PLAN"][0] if row else {}
        cur = await conn.execute(
            "select count(*) as n from pg_inherits where inhparent = 'transfers'::regclass"
        )
        chunks = await cur.fetchone()
    return plan["Planning Time"], plan["Execution Time"], int(chunks["n"]) if chunks else 0


async def _cursors(conn: store_pool.Connection, chain_id: int) -> list[tuple[datetime, int, int]]:
    cur = await conn.execute(
        "select block_time, block_number, log_index from transfers where chain_id = %s",
        (chain_id,),
    )
    return [(r["block_time"], r["block_number"], r["log_index"]) for r in await cur.fetchall()]


async def _time_pages(
    conn: store_pool.Connection, chain_id: int, befores: list[Any]
) -> list[float]:
    for before in befores[:20]:  # warm-up: plans cached, pages in shared buffers
        await transfers.list_recent(conn, chain_id, PAGE_SIZE, before)
    timings: list[float] = []
    for before in befores:
        started = time.perf_counter()
        await transfers.list_recent(conn, chain_id, PAGE_SIZE, before)
        timings.append((time.perf_counter() - started) * 1000)
        await conn.rollback()  # end the implicit read transaction, as a pooled request would
    return timings
