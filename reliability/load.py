"""Load: the API under concurrent clients while the worker ingests; latency and errors per route.

    python -m reliability.load [--seconds 120] [--clients 8] [--warm-seconds 60]

The stack starts empty, the worker ingests for ``--warm-seconds`` (tip and backfill, the
simulator clock at ``--speed``) and keeps ingesting while ``--clients`` clients send requests
back to back (no pause) for ``--seconds``: REST (transfers, stats, chains, health, holders) and
GraphQL (transfers, warmStatus). Each request is classified (reliability/traffic.py); p50, p95,
p99 and max are over the successful answers, and the error rate over all of them. Unlike
bench/ (one route at a time on a still database), this is the API mixed, while batches commit
and invalidate its caches.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from reliability import checks, procs, results, stack, traffic

WORKER = {
    "TOKENPULSE_INGEST_INTERVAL_SECONDS": "5",
    "TOKENPULSE_INGEST_JITTER_SECONDS": "1",
    "TOKENPULSE_BACKFILL_INTERVAL_SECONDS": "5",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reliability.load")
    parser.add_argument("--seconds", type=float, default=120.0, help="time under load")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--warm-seconds", type=float, default=60.0, help="ingestion before load")
    parser.add_argument("--speed", type=float, default=60.0, help="simulator clock")
    parser.add_argument("--density", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--portable", action="store_true", help="portable schema mode")
    parser.add_argument("--results", type=Path, default=results.ROOT)
    return parser.parse_args(argv)


def load(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    options = stack.Options(
        seed=args.seed,
        density=args.density,
        speed=args.speed,
        timescale=False if args.portable else None,
        worker=WORKER,
    )
    with stack.running(options, folder) as running:
        return measure(args, running)


def measure(args: argparse.Namespace, running: stack.Stack) -> dict[str, Any]:
    """The load on a running stack whose worker ingests."""
    procs.wait_until(lambda: checks.covered_blocks(running.dsn) > 0, 60, "first windows")
    time.sleep(args.warm_seconds)
    rows_before = _rows(running.dsn)
    with traffic.running(running.api_url, args.clients, 0.0) as clients:
        time.sleep(args.seconds)
    rows_after = _rows(running.dsn)
    alive = running.worker.alive() and running.api.alive()
    summary = clients.summary()
    failed = sum(count for name, count in summary["outcomes"].items() if name != "ok")
    verdicts = {
        "noFailedRequests": failed == 0,
        "ingestedDuringLoad": rows_after > rows_before,
        "processesAlive": alive,
    }
    return {
        "suite": "load",
        "passed": all(verdicts.values()),
        "verdicts": verdicts,
        "schemaMode": "timescale" if running.db.timescale else "portable",
        "speed": args.speed,
        "transfersBefore": rows_before,
        "transfersAfter": rows_after,
        **summary,
        "machine": results.machine(),
    }


def _rows(dsn: str) -> int:
    return int(checks.query(dsn, "select count(*) from transfers")[0][0])


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    folder = results.run_folder("load", args.results)
    result = load(args, folder)
    path = results.write(folder, "load", result)
    print(f"load: {'PASSED' if result['passed'] else 'FAILED'} {result['verdicts']} -> {path}")
    for name, route in result["routes"].items():
        print(
            f"  {name:24} n={route['requests']:6} err={route['errorRate']}"
            f" p50={route['p50Ms']} p95={route['p95Ms']} p99={route['p99Ms']} ms"
        )
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
