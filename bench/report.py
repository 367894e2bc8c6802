"""Turn the measurements into docs/performance.md (and a JSON record under bench/results/)."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.api import Endpoint
from bench.ingest import IngestResult
from bench.store import PAGE_SIZE, Migrated


@dataclass
class ModeResult:
    migrated: Migrated
    copy_rows: int
    copy_seconds: float
    bare_copy_seconds: float
    store_rows: int
    store_seconds: float
    store_batch: int
    reload_ms: float
    total_rows: int
    indexes: int
    page_chain: int
    page_chain_rows: int
    pages: dict[str, list[float]]
    plan_ms: tuple[float, float]  # planning, execution of the first page in a new session
    chunks: int  # hypertable chunks (0 in portable mode)
    api: list[Endpoint] = field(default_factory=list)
    timescaledb: tuple[str, str] | None = None  # extension version, chunk interval
    writers: int = 0  # connections of the concurrent store measure (0: not measured)
    concurrent_rows: int = 0
    concurrent_seconds: float = 0.0
    window_batch: int = 0  # rows per transaction of the tip-cycle measure (0: not measured)
    window_rows: int = 0
    window_seconds: float = 0.0

    @property
    def concurrent_rate(self) -> float | None:
        return self.concurrent_rows / self.concurrent_seconds if self.writers else None

    @property
    def window_rate(self) -> float | None:
        return self.window_rows / self.window_seconds if self.window_batch else None


@dataclass
class Machine:
    cores: int
    memory_gib: float
    cpu: str
    python: str
    postgres: str

    @classmethod
    def read(cls, postgres: str) -> Machine:
        return cls(os.cpu_count() or 0, _memory_gib(), _cpu(), platform.python_version(), postgres)


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024**2, 1)
    return 0.0


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def percentiles(samples: Sequence[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _latency_row(name: str, samples: Sequence[float], extra: str = "") -> str:
    p50, p95, p99 = percentiles(samples)
    return f"| {name} | {len(samples)} | {_ms(p50)} | {_ms(p95)} | {_ms(p99)} | {extra} |"


def _mode_section(result: ModeResult) -> list[str]:
    m = result.migrated
    copy_rate = result.copy_rows / result.copy_seconds
    store_rate = result.store_rows / result.store_seconds
    version = f" (TimescaleDB {result.timescaledb[0]})" if result.timescaledb else ""
    lines = [
        f"### {m.mode.value} mode{version}",
        "",
        "| Measure | Result |",
        "| --- | --- |",
        f"| migrate an empty database ({m.migrations} migrations + idempotent files)"
        f" | {m.first_seconds * 1000:.0f} ms |",
        f"| migrate again (no-op) | {m.again_seconds * 1000:.0f} ms |",
        f"| binary COPY straight into `transfers` ({result.copy_rows:,} rows, one transaction)"
        f" | **{copy_rate:,.0f} rows/s** ({result.copy_seconds:.2f} s) |",
        f"| the same COPY into an index-free copy of the table (the floor without indexes)"
        f" | {result.copy_rows / result.bare_copy_seconds:,.0f} rows/s |",
        f"| store write path `transfers.copy_transfers` as backfill commits"
        f" ({result.store_rows:,} rows; transactions of one chain, up to"
        f" {result.store_batch:,} rows) | **{store_rate:,.0f} rows/s**"
        f" ({result.store_seconds:.2f} s) |",
        *_concurrent_lines(result),
        *_window_lines(result),
        f"| re-load of an already stored {result.store_batch:,}-row batch (inserts 0)"
        f" | {result.reload_ms:.0f} ms |",
        "",
        f"Keyset pages of {PAGE_SIZE} (`transfers.list_recent`) on chain {result.page_chain}"
        f" ({result.page_chain_rows:,} of {result.total_rows:,} rows), one connection, in ms:",
        "",
        "| Query | Samples | p50 | p95 | p99 | |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [_latency_row(name, samples) for name, samples in result.pages.items()]
    planning, execution = result.plan_ms
    chunks = f" over {result.chunks} chunks" if result.chunks else ""
    lines += [
        "",
        f"EXPLAIN ANALYZE of the first page in a new session{chunks}: planning"
        f" {_ms(planning)} ms, execution {_ms(execution)} ms.",
    ]
    lines += ["", *_api_lines(result.api), ""]
    return lines


def _window_lines(result: ModeResult) -> list[str]:
    rate = result.window_rate
    if rate is None:
        return []
    return [
        f"| the same one window per transaction, as tip cycles commit ({result.window_rows:,}"
        f" rows; windows of one chain, up to {result.window_batch:,} rows)"
        f" | {rate:,.0f} rows/s ({result.window_seconds:.2f} s) |"
    ]


def _concurrent_lines(result: ModeResult) -> list[str]:
    rate = result.concurrent_rate
    if rate is None:
        return []
    return [
        f"| the same from {result.writers} connections at once, each writing chains of its own"
        f" ({result.concurrent_rows:,} rows), as chains are ingested concurrently"
        f" | **{rate:,.0f} rows/s** ({result.concurrent_seconds:.2f} s) |"
    ]


def _api_lines(endpoints: Sequence[Endpoint]) -> list[str]:
    if not endpoints:
        return []
    lines = [
        "API over HTTP (uvicorn, one worker, loopback), sequential requests, in ms:",
        "",
        "| Request | Samples | p50 | p95 | p99 | Throughput, concurrent clients |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for endpoint in endpoints:
        if endpoint.problem or not endpoint.latencies_ms:
            lines.append(f"| {endpoint.name} | 0 | | | | not measured: {endpoint.problem} |")
            continue
        rps = f"{endpoint.concurrent_rps:,.0f} req/s" if endpoint.concurrent_rps else ""
        lines.append(_latency_row(endpoint.name, endpoint.latencies_ms, rps))
    return lines


def markdown(
    results: Sequence[ModeResult],
    machine: Machine,
    when: datetime,
    params: dict[str, Any],
    server_settings: dict[str, str],
    budgets: Sequence[IngestResult] = (),
) -> str:
    settings = ", ".join(f"`{key}={value}`" for key, value in server_settings.items())
    load = ", ".join(f"{value:.2f}" for value in params["load"])
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` (bench/run.py); rerun it rather than editing by hand.",
        "",
        f"- **Date:** {when:%Y-%m-%d %H:%M} UTC",
        f"- **Machine:** {machine.cores} cores ({machine.cpu}), {machine.memory_gib} GiB RAM,"
        f" Python {machine.python}, PostgreSQL {machine.postgres}",
        f"- **Server:** a throwaway local cluster with durability on (fsync, synchronous"
        f" commit), {settings}",
        f"- **Data:** {params['rows']:,} synthetic transfers by raw COPY, then"
        f" {params['store_rows']:,} through the store{_concurrent_data(params)}, over 10 chains"
        f" and {params['span_days']} days; {params['holders']:,} holder addresses;"
        f" seed {params['seed']}",
        f"- **Load average** (1 min) at the start and the end: {load}",
        "",
        "## Results",
        "",
    ]
    for result in results:
        lines += _mode_section(result)
    lines += _budget_section(budgets)
    lines += ["## What the figures say", "", *_findings(results), *_budget_findings(budgets), ""]
    lines += METHOD.splitlines()
    return "\n".join(lines).rstrip() + "\n"


def _concurrent_data(params: dict[str, Any]) -> str:
    writers = int(params.get("writers", 0))
    return f" and {params['store_rows']:,} more from {writers} connections" if writers > 1 else ""


ANCHOR_ROWS_PER_SECOND = 50_000
GOAL_UTILISATION = 0.95


def _budget_section(budgets: Sequence[IngestResult]) -> list[str]:
    if not budgets:
        return []
    first = budgets[0]
    lines = [
        "## Upstream budget",
        "",
        f"The worker's ingestion (tip cycles of {first.chains} Etherscan chains and backfill of"
        f" their history) for {first.seconds:.0f} s through {len(first.keys)} API keys paced at"
        f" {first.calls_per_second:g} call/s each plus a {first.margin_seconds * 1000:.0f} ms"
        " margin, by the PostgreSQL budget ledger, against the simulator in a process of its"
        " own. Calls are counted in the simulator's log; allowed = keys x rate x seconds; a"
        " violation is two calls of one key less than a second apart.",
        "",
        "| Provider latency | Calls per key | Allowed per key | Utilisation"
        " | Of the pacing ceiling | Violations | Most calls of a key in 1 s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in budgets:
        calls = " + ".join(str(key.calls) for key in run.keys)
        busiest = max((key.max_per_second for key in run.keys), default=0)
        latency = f"{run.latency_ms} ms per answer" if run.latency_ms else "loopback"
        lines.append(
            f"| {latency} | {calls} | {run.allowed_per_key:.0f} | **{run.utilisation:.3f}**"
            f" | {run.utilisation / run.ceiling:.3f} | **{run.violations}** | {busiest} |"
        )
    ceiling = first.ceiling
    lines += [
        "",
        f"The pacing ceiling: calls start {1 / first.calls_per_second + first.margin_seconds:g} s"
        f" apart at best, so {ceiling:.3f} of the rate is the most any run can use.",
        "",
    ]
    return lines


def _window_note(result: ModeResult) -> str:
    rate = result.window_rate
    if rate is None:
        return ""
    return f" (one window of up to {result.window_batch:,} rows per transaction: {rate:,.0f})"


def _writers_note(result: ModeResult, store_rate: float) -> str:
    concurrent = result.concurrent_rate
    if concurrent is None or concurrent > 1.1 * store_rate:
        return ""
    return (
        f" {result.writers} connections at once were no faster on this 2-core machine, where"
        " they share the cores with the client and whatever else the load average shows."
    )


def _budget_findings(budgets: Sequence[IngestResult]) -> list[str]:
    found: list[str] = []
    for run in budgets:
        latency = f"{run.latency_ms} ms answers" if run.latency_ms else "loopback"
        verdict = "meets" if run.utilisation >= GOAL_UTILISATION else "is below"
        found.append(
            f"- budget ({latency}): utilisation {run.utilisation:.3f} {verdict} the goal of"
            f" {GOAL_UTILISATION} ({run.utilisation / run.ceiling:.1%} of the"
            f" {run.ceiling:.3f} the pacing margin leaves), with {run.violations} violations;"
            f" {run.tip_cycles} tip cycles, {run.rows:,} transfers stored."
            + (f" Errors: {', '.join(run.errors)}." if run.errors else "")
        )
    return found


def _findings(results: Sequence[ModeResult]) -> list[str]:
    """Observations derived from this run's numbers (so they never go stale)."""
    found: list[str] = []
    for result in results:
        mode = result.migrated.mode.value
        store_rate = result.store_rows / result.store_seconds
        index_cost = result.copy_seconds / result.bare_copy_seconds
        copy_share = store_rate / (result.copy_rows / result.copy_seconds)
        verdict = "meets" if store_rate >= ANCHOR_ROWS_PER_SECOND else "is below"
        concurrent = result.concurrent_rate
        both = (
            f"; from {result.writers} connections {concurrent:,.0f}"
            f" ({'meets' if concurrent >= ANCHOR_ROWS_PER_SECOND else 'below'})"
            if concurrent is not None
            else ""
        )
        found.append(
            f"- {mode}: the store write path on one connection {verdict} the anchor of"
            f" {ANCHOR_ROWS_PER_SECOND:,} rows/s ({store_rate:,.0f}{both}). Upkeep of the"
            f" {result.indexes} indexes on `transfers` makes the raw COPY {index_cost:.1f}x"
            " slower than into an index-free table; the ones keyed by random bytes (tx hash,"
            " from, to addresses) touch a different page for nearly every row. The store path"
            f" runs at {copy_share:.0%} of the raw COPY's rate: its batches of new rows are a"
            " COPY too, in a savepoint, but each also keeps the holder balances in the same"
            " transaction: one upsert per (chain, address) the batch touches (this data's"
            " senders and receivers are uniform over its holders, the worst case: a batch"
            " touches thousands), then a commit per batch. That upkeep is per address, not"
            " per row, so it shrinks per row as transactions grow: hence backfill's"
            " transactions of many windows"
            + _window_note(result)
            + "."
            + _writers_note(result, store_rate)
        )
        planning, execution = result.plan_ms
        if result.timescaledb and planning > 5 * execution:
            found.append(
                f"- {mode}: planning dominates a keyset page ({_ms(planning)} ms to plan,"
                f" {_ms(execution)} ms to run, in a new session): each call plans over"
                f" {result.chunks} chunks. A chunk interval of {result.timescaledb[1]} is small"
                " for one token's transfers; a longer one (set_chunk_time_interval in a new"
                " migration) would plan over fewer chunks."
            )
    return found


METHOD = """## Method

- **Migrate**: `app.store.migrate.migrate` on an empty database (ledger, every migration in its
  own transaction, idempotent files), then again: the second run is what every deploy pays.
- **Raw COPY**: psycopg 3 binary `COPY transfers (...) FROM STDIN` with `set_types` and
  `write_row`, all rows in one transaction, every index in place. Row conversion to bytes
  happens before the clock starts; the Python side of `write_row` is inside it.
- **Store write path**: what ingestion runs: `app.store.transfers.copy_transfers`, one
  transaction per batch of one chain's rows (each chain's windows go through a sink of its
  own): a binary COPY straight into `transfers` in a savepoint, then the batch's balance
  deltas, summed per (chain, address) by the client, applied by one upsert; when a row was
  already stored (the unique identity refuses it), the savepoint rolls back and the batch
  goes through a staging table and `INSERT ... ON CONFLICT DO NOTHING`. Backfill commits a
  chain's consecutive windows together up to `TOKENPULSE_BACKFILL_COMMIT_ROWS` rows (the
  headline line); tip cycles commit each window (the window line). Rows are converted from
  the domain objects inside the clock. The re-load line loads the last batch a second time
  (every row a duplicate, so the fallback). The concurrent line splits fresh rows by chain
  between connections that load at the same time.
- **Keyset pages**: after `ANALYZE`, `transfers.list_recent(chain, 100, before)` on the busiest
  chain: the newest page, and pages that start at a uniformly random existing row. Each is
  timed from the call to the decoded rows, on one connection, after 20 warm-up calls.
- **Upstream budget** (bench/ingest.py): `Ingestor.open` with the PostgreSQL budget ledger,
  the first tip cycle of every chain, then steady work: a tip cycle per chain every
  `TOKENPULSE_INGEST_INTERVAL_SECONDS` plus jitter, and `app.ingest.warm.fill_gaps` (the
  worker's backfill) throughout. The simulator (bench/sim_server.py, its own process on
  127.0.0.1, seed as above) logs every call when its limits admit it; the window opens 3 s
  into the steady work. A latency row delays every answer (the simulator's `latency` fault).
- **API**: the app from `app.asgi.create_app`, served by uvicorn in a child process on
  127.0.0.1 and called with httpx: sequential requests after 20 warm-ups, then concurrent
  clients for a few seconds. The client and server share the machine's cores.

Reading the figures: one run on a 2-core machine, client and server side by side. Other work
on the machine moves them by tens of percent between runs (the load averages above say how
busy it was), so compare orders of magnitude rather than single digits. The project's anchor
for the write path is at least 50,000 rows/s through binary COPY.
"""
