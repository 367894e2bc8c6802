"""The benchmark harness behind ``make bench``; writes docs/performance.md.

For each schema mode this machine can run (timescale when TimescaleDB is installed, and
portable), on a throwaway PostgreSQL server: time migrate, bulk-load synthetic transfers by
binary COPY and through the store's write path, time keyset pages, and, when the API app is
there, time GET /api/health and a GraphQL ``chains`` query over HTTP. Bounded: about a minute
per mode with the defaults. Then the upstream budget (bench/ingest.py): the Ingestor against
the simulator for ``--budget-seconds`` (60) per provider latency of ``--budget-latency-ms``
(loopback and 700 ms: about three minutes; ``--budget-seconds 0`` skips it). Then the
transfers API benchmark (bench/transfers_api.py) on a table of ``--api-rows`` transfers of its
own: 1 M by default (``make bench``, a few minutes per mode), 10 M for ``make bench-full``;
``--api-rows 0`` skips it. ``--analytics`` adds the analytics aggregates (bench/analytics.py:
the refresh of a 90-day backfill and the 7d/30d/90d/all window reads) on ``--api-rows`` rows.

    python -m bench.run [--rows 200000] [--store-rows 100000] [--api-rows 1000000] [--analytics]
                        [--budget-seconds 60] [--out docs/performance.md]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import config
from app.config import Config
from app.store import pool as store_pool
from bench import analytics as analytics_bench
from bench import analytics_api as analytics_http
from bench import analytics_report as analytics_doc
from bench import api, data, ingest, report, server, store, transfers_api, transfers_report

ROOT = Path(__file__).resolve().parents[1]
BUSIEST_CHAIN = 137  # Polygon: the legacy explorer's busiest BZR chain
BENCH_ENV = {
    "TOKENPULSE_ETHERSCAN_API_KEYS": "bench-key",
    "TOKENPULSE_CRONOS_API_KEYS": "bench-key",
    "TOKENPULSE_LOG_LEVEL": "WARNING",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000, help="rows loaded by raw COPY")
    parser.add_argument("--store-rows", type=int, default=100_000, help="rows via the store")
    parser.add_argument(
        "--batch",
        type=int,
        help="rows per backfill transaction (default: TOKENPULSE_BACKFILL_COMMIT_ROWS)",
    )
    parser.add_argument(
        "--window-batch", type=int, default=5_000, help="rows per tip-cycle window transaction"
    )
    parser.add_argument("--writers", type=int, default=2, help="concurrent store connections")
    parser.add_argument("--budget-seconds", type=float, default=60.0, help="budget run length")
    parser.add_argument(
        "--budget-latency-ms", type=int, nargs="+", default=[0, 700], help="answer delays"
    )
    parser.add_argument("--samples", type=int, default=500, help="timed calls per query")
    parser.add_argument("--api-samples", type=int, default=300, help="timed HTTP requests")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--api-seconds", type=float, default=4.0, help="concurrent phase")
    parser.add_argument("--api-rows", type=int, default=1_000_000, help="transfers API table")
    parser.add_argument(
        "--analytics",
        action="store_true",
        help="also bench the analytics aggregates (bench/analytics.py) on --api-rows rows",
    )
    parser.add_argument(
        "--analytics-only",
        action="store_true",
        help="only the analytics section (aggregates and API), into --out's analytics part",
    )
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--modes", nargs="+", choices=["timescale", "portable"])
    parser.add_argument("--out", type=Path, help="Markdown report (e.g. docs/performance.md)")
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def bench_mode(
    pg: server.Server, mode: str, args: argparse.Namespace, workdir: Path
) -> report.ModeResult:
    dsn = pg.create_database(f"tokenpulse_bench_{mode}")
    env = {**BENCH_ENV, "TOKENPULSE_DATABASE_URL": dsn}
    cfg = config.load(env)
    migrated = await store.migrate_twice(cfg, mode)
    say(f"{mode}: migrated in {migrated.first_seconds:.2f} s; generating rows")
    await store.upsert_chains(cfg)
    batch = args.batch or cfg.settings.backfill_commit_rows
    concurrent = args.store_rows if args.writers > 1 else 0
    windowed = args.store_rows if args.window_batch else 0
    shares = data.split(
        args.rows + args.store_rows + concurrent + windowed, cfg.chains, BUSIEST_CHAIN
    )
    rows = data.transfers(shares, cfg.chains, args.seed)
    copied, via_store = rows[: args.rows], rows[args.rows : args.rows + args.store_rows]
    bare_seconds = await store.copy_without_indexes(dsn, copied)
    copy_seconds = await store.copy_raw(dsn, copied)
    say(f"{mode}: raw COPY {len(copied):,} rows in {copy_seconds:.2f} s")
    store_seconds, inserted, reload_seconds = await store.load_through_store(cfg, via_store, batch)
    say(f"{mode}: store path {inserted:,} rows in {store_seconds:.2f} s")
    both = (0.0, 0)
    if concurrent:
        both = await store.load_concurrently(
            cfg, rows[args.rows + args.store_rows :][:concurrent], batch, args.writers
        )
        say(f"{mode}: {args.writers} writers {both[1]:,} rows in {both[0]:.2f} s")
    window = (0.0, 0)
    if windowed:
        start = args.rows + args.store_rows + concurrent
        seconds, count, _ = await store.load_through_store(cfg, rows[start:], args.window_batch)
        window = (seconds, count)
        say(f"{mode}: {args.window_batch:,}-row windows {count:,} rows in {seconds:.2f} s")
    total, indexes = await store.analyze(cfg)
    plan = await store.first_page_plan(cfg, BUSIEST_CHAIN)
    pages = await store.keyset_pages(cfg, BUSIEST_CHAIN, args.samples, args.seed)
    say(f"{mode}: keyset pages timed; API next")
    endpoints = await api.run(
        env, workdir / f"api-{mode}.log", args.api_samples, args.concurrency, args.api_seconds
    )
    return report.ModeResult(
        migrated=migrated,
        copy_rows=len(copied),
        copy_seconds=copy_seconds,
        bare_copy_seconds=bare_seconds,
        store_rows=inserted,
        store_seconds=store_seconds,
        store_batch=batch,
        reload_ms=reload_seconds * 1000,
        total_rows=total,
        indexes=indexes,
        page_chain=BUSIEST_CHAIN,
        page_chain_rows=shares[BUSIEST_CHAIN],
        pages=pages,
        plan_ms=plan[:2],
        chunks=plan[2],
        api=endpoints,
        timescaledb=await _timescaledb(cfg) if migrated.mode.value == "timescale" else None,
        writers=args.writers if concurrent else 0,
        concurrent_rows=both[1],
        concurrent_seconds=both[0],
        window_batch=args.window_batch if windowed else 0,
        window_rows=window[1],
        window_seconds=window[0],
    )


async def _budget(
    pg: server.Server, args: argparse.Namespace, latency_ms: int, workdir: Path
) -> ingest.IngestResult:
    dsn = pg.create_database(f"tokenpulse_bench_budget_{latency_ms}")
    log = workdir / f"simulator-{latency_ms}ms.log"
    run = await ingest.run(dsn, BENCH_ENV, args.budget_seconds, args.seed, log, latency_ms)
    say(
        f"budget ({latency_ms} ms answers): utilisation {run.utilisation:.3f},"
        f" {run.violations} violations"
    )
    return run


async def _timescaledb(cfg: Config) -> tuple[str, str] | None:
    """(extension version, chunk interval of transfers) in timescale mode."""
    conn = await store_pool.connect(cfg.settings)
    async with conn:
        cur = await conn.execute(
            "select e.extversion, d.time_interval::text as chunk_interval"
            " from pg_extension e, timescaledb_information.dimensions d"
            " where e.extname = 'timescaledb' and d.hypertable_name = 'transfers'"
        )
        row = await cur.fetchone()
    return (str(row["extversion"]), str(row["chunk_interval"])) if row else None


def _api_record(result: transfers_api.ApiBench) -> dict[str, Any]:
    """The API figures without every latency (percentiles instead)."""
    measured = []
    for item in result.measurements:
        cuts = report.percentiles(item.latencies_ms) if len(item.latencies_ms) > 1 else ()
        fields = dataclasses.asdict(item) | {
            "latencies_ms": None,
            "requests": len(item.latencies_ms),
        }
        measured.append(fields | {"p50_p95_p99_ms": cuts, "rps": item.rps})
    return dataclasses.asdict(result) | {"measurements": measured}


def _record(
    results: list[report.ModeResult],
    when: datetime,
    machine: report.Machine,
    api_results: list[transfers_api.ApiBench],
    budgets: list[ingest.IngestResult],
) -> Path:
    folder = ROOT / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{when:%Y%m%dT%H%M%SZ}.json"
    payload: dict[str, Any] = {
        "when": when.isoformat(),
        "machine": dataclasses.asdict(machine),
        "modes": [dataclasses.asdict(result) for result in results],
        "transfers_api": [_api_record(result) for result in api_results],
        "budget": [dataclasses.asdict(run) | {"utilisation": run.utilisation} for run in budgets],
    }
    path.write_text(json.dumps(payload, indent=1, default=str))
    return path


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.analytics_only:
        return await analytics_bench.only(args, say)
    started = time.monotonic()
    when = datetime.now(UTC)
    load_at_start = os.getloadavg()[0]
    results: list[report.ModeResult] = []
    with server.running() as pg:
        modes = args.modes or (["timescale", "portable"] if pg.timescale else ["portable"])
        workdir = ROOT / "bench" / "results"
        workdir.mkdir(parents=True, exist_ok=True)
        for mode in modes:
            results.append(await bench_mode(pg, mode, args, workdir))
        budgets = [
            await _budget(pg, args, latency, workdir)
            for latency in (args.budget_latency_ms if args.budget_seconds > 0 else [])
        ]
        api_results: list[transfers_api.ApiBench] = []
        for mode in modes if args.api_rows > 0 else []:
            api_log = workdir / f"transfers-api-{mode}.log"
            api_results.append(
                await transfers_api.run(
                    pg.create_database, mode, args.api_rows, args.seed, api_log, say
                )
            )
        analytics_results = [
            await analytics_bench.run(
                pg.create_database,
                mode,
                args.api_rows or 1_000_000,
                args.seed,
                20,
                say,
                http=analytics_http.Timing(),
                log=workdir / f"analytics-api-{mode}.log",
            )
            for mode in (modes if args.analytics else [])
        ]
        machine = report.Machine.read(pg.version())
    params = {
        "rows": args.rows,
        "store_rows": args.store_rows,
        "writers": args.writers,
        "span_days": data.SPAN_DAYS,
        "holders": data.HOLDERS,
        "seed": args.seed,
        "load": (load_at_start, os.getloadavg()[0]),
    }
    text = report.markdown(results, machine, when, params, pg.options, budgets)
    previous = args.out.read_text() if args.out and args.out.exists() else None
    if api_results:
        chapter = transfers_report.section(api_results, when, params["load"])
        text += "\n" + transfers_report.merge(previous, chapter)
    elif previous and transfers_report.HEADING in previous:  # keep the last API figures
        text += "\n" + previous[previous.index(transfers_report.HEADING) :]
    if analytics_results:
        part = analytics_bench.write(previous or "", analytics_results, when, params["load"])
        text = analytics_doc.replace_in(text, part)
    elif previous and analytics_doc.HEADING not in text:  # keep the last analytics figures
        text = analytics_doc.replace_in(text, analytics_doc.part_of(previous))
    if args.out:
        args.out.write_text(text)
        say(f"wrote {args.out}")
    record = _record(results, when, machine, api_results, budgets)
    say(f"raw figures in {record.relative_to(ROOT)}")
    print(text)
    say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
