"""Analytics at scale: refreshes, the store reads of an answer, and the API over HTTP.

On a table of ``--rows`` synthetic transfers (bench/dataset.py: 365 days ending now, 5,000
holders and a hot address, the busiest chain Polygon), per schema mode: the time of
``tokenpulse backfill-analytics --days 90`` (a day per statement, the precomputed windows
rebuilt once at the end), then of the rest of the year, then of a job run with nothing new;
the latency of every store read an analytics answer makes for 7-day, 30-day, 90-day and
all-time windows (every chain, and the busiest chain), next to the legacy distinct count
(``count(distinct)`` over the raw transfers of the window); and, from ``bench.run``, the API
over HTTP (bench/analytics_api.py) beside the legacy approach (bench/analytics_legacy.py),
reported by bench/analytics_report.py into docs/performance.md.

    python -m bench.analytics [--rows 1000000] [--samples 20] [--modes portable timescale]
    python -m bench.run --analytics-only [--api-rows 1000000] [--out docs/performance.md]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from psycopg import sql

from app import config
from app.ingest import aggregates
from app.store import analytics
from app.store import analytics_reads as reads_module
from app.store import analytics_window as windows
from app.store import pool as store_pool
from bench import analytics_api, analytics_report, data, dataset, server, store

ROOT = Path(__file__).resolve().parents[1]
BUSIEST_CHAIN = 137
WINDOWS: tuple[int | None, ...] = (7, 30, 90, None)  # None: all
ENV = {
    "TOKENPULSE_ETHERSCAN_API_KEYS": "bench-key",
    "TOKENPULSE_CRONOS_API_KEYS": "bench-key",
    "TOKENPULSE_LOG_LEVEL": "WARNING",
}
VACUUMED = (
    "analytics_address_daily",
    "analytics_daily_uniques",
    "analytics_address_days",
    "analytics_address_windows",
    "analytics_window_counts",
    "analytics_daily_largest",
)
RAW_DISTINCT = """
select count(distinct address) from (
    select from_address as address from transfers
    where block_time >= %(from)s and block_time < %(to)s
    union all
    select to_address from transfers where block_time >= %(from)s and block_time < %(to)s
) as sides
"""


@dataclass
class Timing:
    read: str  # which store function
    window: str  # 7d, 30d, 90d, all
    scope: str  # all chains, or the chain id
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass
class AnalyticsBench:
    mode: str
    rows: int
    refresh_90_days_seconds: float
    refresh_rest_seconds: float  # the other 275 days of the year
    activity_rows: int
    activity_mb: float
    timings: list[Timing]
    raw_distinct_ms: dict[str, float]  # legacy: count(distinct) over raw rows, per window
    recent_refresh_seconds: float = 0.0  # a job run: yesterday and today, nothing new
    rebuild_seconds: float = 0.0  # every precomputed window rebuilt (catch_up_windows)
    http: analytics_api.ApiTimings | None = None


def label(days: int | None) -> str:
    return "all" if days is None else f"{days}d"


async def run(
    create_database: Callable[[str], str],
    mode: str,
    rows: int,
    seed: int,
    samples: int,
    say: Callable[[str], None],
    *,
    http: analytics_api.Timing | None = None,
    log: Path | None = None,
) -> AnalyticsBench:
    """Build, refresh and time one mode; ``http`` also times the API over HTTP (``log``:
    the servers' output)."""
    dsn = create_database(f"tokenpulse_bench_analytics_{mode}")
    env = {**ENV, "TOKENPULSE_DATABASE_URL": dsn}
    cfg = config.load(env)
    await store.migrate_twice(cfg, mode)
    await store.upsert_chains(cfg)
    # The year ends now: the API's windows are the real last 7/30/90 days.
    now = datetime.now(UTC)
    start = now - timedelta(days=data.SPAN_DAYS)
    shares = data.split(rows, cfg.chains, BUSIEST_CHAIN)
    dataset.build(dsn, shares, cfg.chains, seed, say, start=start)
    started = time.perf_counter()
    await aggregates.backfill(cfg.settings, 90, now=now)
    ninety = time.perf_counter() - started
    say(f"analytics {mode}: 90 days refreshed in {ninety:.1f} s")
    started = time.perf_counter()
    conn = await aggregates.maintenance_connection(cfg.settings)  # as the refresh job's
    async with conn:
        await aggregates.refresh_days(conn, start, analytics.day_start(now) - 89 * analytics.DAY)
        rest = time.perf_counter() - started
        say(f"analytics {mode}: the other days refreshed in {rest:.1f} s")
        recent = await _time_recent_refresh(conn, now)
        rebuild = await _time_rebuild(conn)
        # After every write, so that what is timed next is the steady state of a refreshed
        # database: the rebuild rewrote every window row, and autovacuum cleaning them up
        # during the API's timing made a run's p95 depend on when it started.
        for table in VACUUMED:
            await conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier(table)))
        size = await _activity_size(conn)
        await conn.execute("set jit = off")  # as an answer's reads run (app.store.analytics_reads)
        timings = await _time_reads(conn, now, samples, cfg)
        raw = {label(days): await _raw_ms(conn, now, days) for days in WINDOWS}
    result = AnalyticsBench(mode, rows, ninety, rest, size[0], size[1], timings, raw, recent)
    result.rebuild_seconds = rebuild
    if http is not None:
        say(f"analytics {mode}: timing the API over HTTP")
        where = log or Path(f"analytics-api-{mode}.log")
        result.http = await analytics_api.measure(env, where, say, http)
    return result


async def _time_rebuild(conn: store_pool.Connection) -> float:
    """Every precomputed window rebuilt (after UTC midnight the six bounded ones are)."""
    await conn.execute("update analytics_window_state set as_of = null")
    started = time.perf_counter()
    await analytics.catch_up_windows(conn)
    return time.perf_counter() - started


async def _time_recent_refresh(conn: store_pool.Connection, now: datetime) -> float:
    """What each analytics_refresh job run costs: yesterday and today (nothing new)."""
    started = time.perf_counter()
    today = analytics.day_start(now)
    await aggregates.refresh_days(conn, today - analytics.DAY, today + analytics.DAY)
    return time.perf_counter() - started


async def _activity_size(conn: store_pool.Connection) -> tuple[int, float]:
    cur = await conn.execute("select count(*) as n from analytics_address_daily")
    count = await cur.fetchone()
    cur = await conn.execute(
        "select sum(pg_total_relation_size(c.oid)) / 1048576.0 as mb from pg_class c"
        " where c.oid = 'analytics_address_daily'::regclass or c.oid in (select inhrelid"
        " from pg_inherits where inhparent = 'analytics_address_daily'::regclass)"
    )
    mb = await cur.fetchone()
    return int(count["n"]) if count else 0, float(mb["mb"] or 0) if mb else 0.0


async def _time_reads(
    conn: store_pool.Connection, now: datetime, samples: int, cfg: config.Config
) -> list[Timing]:
    found: list[Timing] = []
    names = {chain.id: chain.name for chain in cfg.chains}
    for days in WINDOWS:
        window = analytics.Window.last_days(days, now) if days else _all(now)
        for chain_id in (None, BUSIEST_CHAIN):
            scope = "all chains" if chain_id is None else str(chain_id)
            chains = list(names) if chain_id is None else [chain_id]
            reads: dict[str, Callable[[], Awaitable[Any]]] = {
                "window_totals": partial(windows.window_totals, conn, window, chain_id),
                "daily_series": partial(windows.daily_series, conn, window, chain_id),
                "top_addresses": partial(windows.top_addresses, conn, window, chain_id),
                "largest": partial(
                    reads_module.list_largest, conn, chains, (window.start, _end(window)), names
                ),
                "newest": partial(reads_module.find_newest_transfer_at, conn, chains),
            }
            if chain_id is None:
                reads["chain_distribution"] = partial(windows.chain_distribution, conn, window)
            reads["one answer"] = partial(_answer_reads, conn, window, chain_id, chains, names)
            for name, read in reads.items():
                timing = Timing(name, label(days), scope)
                await read()  # warm: plans and buffers, as a running API has them
                for _ in range(samples):
                    started = time.perf_counter()
                    await read()
                    timing.latencies_ms.append((time.perf_counter() - started) * 1000)
                found.append(timing)
    return found


async def _answer_reads(
    conn: store_pool.Connection,
    window: analytics.Window,
    chain_id: int | None,
    chains: list[int],
    names: dict[int, str],
) -> None:
    """Every read of one answer, in its snapshot (app.ops.analytics_service.compute)."""
    bounds = (window.start, _end(window))
    previous = None if window.start is None else (window.previous().start, window.start)
    async with conn.transaction():
        ask = reads_module.Ask.of(chain_id, chains, bounds, previous, names, 18)
        await reads_module.read_inputs(conn, ask)


def _all(now: datetime) -> analytics.Window:
    """The API's ``all``: every day up to today."""
    return analytics.Window(None, analytics.day_start(now) + analytics.DAY)


def _end(window: analytics.Window) -> datetime:
    assert window.end is not None
    return window.end


async def _raw_ms(conn: store_pool.Connection, now: datetime, days: int | None) -> float:
    window = analytics.Window.last_days(days, now) if days else _all(now)
    bounds = {
        "from": window.start or now - timedelta(days=data.SPAN_DAYS + 1),
        "to": _end(window),
    }
    await conn.execute("set statement_timeout = 0")
    started = time.perf_counter()
    await conn.execute(RAW_DISTINCT, bounds)
    return (time.perf_counter() - started) * 1000


def markdown(results: list[AnalyticsBench]) -> str:
    lines = ["## Analytics aggregates", ""]
    for r in results:
        lines += [
            f"### {r.mode} mode, {r.rows:,} transfers",
            "",
            "- refresh of a 90-day backfill (a day per statement):"
            f" {r.refresh_90_days_seconds:.1f} s;"
            f" the other 275 days: {r.refresh_rest_seconds:.1f} s",
            f"- analytics_address_daily: {r.activity_rows:,} rows, {r.activity_mb:.0f} MB",
            "",
            "| read | window | scope | p50 ms | p95 ms |",
            "| --- | --- | --- | ---: | ---: |",
        ]
        lines += [
            f"| {t.read} | {t.window} | {t.scope} | {t.p50:.1f} | {t.p95:.1f} |" for t in r.timings
        ]
        raw = ", ".join(f"{k} {v:.0f} ms" for k, v in r.raw_distinct_ms.items())
        lines += ["", f"Legacy distinct count over raw transfers (one run): {raw}.", ""]
    return "\n".join(lines)


async def only(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    """``python -m bench.run --analytics-only``: this section alone, on ``--api-rows`` rows,
    written into ``--out`` (the rest of the file kept)."""
    when, load_at_start = datetime.now(UTC), os.getloadavg()[0]
    folder = ROOT / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    with server.running() as pg:
        modes = args.modes or (["timescale", "portable"] if pg.timescale else ["portable"])
        for mode in modes:
            log = folder / f"analytics-api-{mode}.log"
            rows = args.api_rows or 1_000_000
            timing = analytics_api.Timing()
            results.append(
                await run(pg.create_database, mode, rows, args.seed, 20, say, http=timing, log=log)
            )
    previous = args.out.read_text() if args.out and args.out.exists() else ""
    part = write(previous, results, when, (load_at_start, os.getloadavg()[0]))
    if args.out:
        args.out.write_text(analytics_report.replace_in(previous, part))
    print(part)
    return 0


def write(
    previous: str, results: list[AnalyticsBench], when: datetime, load: tuple[float, float]
) -> str:
    """The analytics part of the report: ``results`` and the other table sizes' sections of
    ``previous`` (the report as it was)."""
    return analytics_report.merge(previous, analytics_report.section(results, when, load))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=20, help="timed calls per read")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--modes", nargs="+", choices=["timescale", "portable"])
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = []
    with server.running() as pg:
        modes = args.modes or (["timescale", "portable"] if pg.timescale else ["portable"])
        for mode in modes:
            result = await run(pg.create_database, mode, args.rows, args.seed, args.samples, say)
            print(markdown([result]), flush=True)  # each mode as soon as it is measured
            results.append(result)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
