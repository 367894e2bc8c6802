"""The transfers API benchmark (milestone A3): four query shapes over REST and GraphQL,
uncached and cached, at concurrency 1 and 32, beside the legacy approach.

Per schema mode, on its own database:

1. ``transfers`` is filled with ``rows`` synthetic transfers over the ten chains
   (bench.dataset: generated in the server, indexes built afterwards, VACUUM ANALYZE), every
   chain covered from its first block and synced, as a live deployment would be;
2. the API (``app.asgi.create_app``) is served by uvicorn on loopback twice: **uncached**
   (the response caches off: TOKENPULSE_CACHE_TTL_{TRANSFERS,SEARCH,ADDRESS}_SECONDS=0, so
   every request reads its page, and counts its filtered total, from PostgreSQL; chain
   totals and chain state stay cached, as the per-chain counter table of a later issue will
   be) and **cached** (the defaults);
3. the legacy approach (bench.legacy_app: exact ``COUNT(*)`` and ``OFFSET`` pages) is served
   the same way on the same database, as the baseline.

Shapes: the first page of all chains and of one chain (Polygon, the busiest) with the
frontend's parameters (pageSize 25, includeTotals), an address filter (10 holders in turn),
and a deep page (10 cursors between 25 % and 75 % of the order; the legacy baseline asks for
the page at the same depth with ``page``). Each phase runs the calls of a shape in turn.

Before each of the three servings is timed, the harness waits (at most
``Timing.quiet_timeout`` seconds) for the 1-minute load average to fall below
``Timing.quiet_load_per_core`` per core: building the table, or anything else the machine
runs, would otherwise be timed with the API. The report states the load each timing began
at, and says so when it never fell below the threshold.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from app import config
from app.config import Config
from app.ops import cursors
from app.store import coverage, ingest_status
from app.store import pool as store_pool
from app.store.transfer_sql import Key, Order, TransferFilter
from bench import data, dataset, load, store

ROOT = Path(__file__).resolve().parents[1]
PAGE = 25
HOLDERS = 10
DEEP = 10
QUIET_POLL_SECONDS = 5.0  # the 1-minute load average moves little faster than this
UNCACHED = {
    "TOKENPULSE_CACHE_TTL_TRANSFERS_SECONDS": "0",
    "TOKENPULSE_CACHE_TTL_SEARCH_SECONDS": "0",
    "TOKENPULSE_CACHE_TTL_ADDRESS_SECONDS": "0",
}
GRAPHQL_PAGE = (
    "query($c: SafeInt, $a: String, $after: String) {"
    " transfers(chainId: $c, address: $a, after: $after, first: 25) {"
    " edges { cursor node { id chainId blockNumber blockTime txHash logIndex from to value } }"
    " pageInfo { hasNextPage endCursor } } }"
)
FRONTEND = "page=1&pageSize=25&sort=desc&includeTotals=true"


@dataclass(frozen=True)
class Timing:
    samples: int = 200  # requests at concurrency 1 (or fewer when seconds run out)
    seconds: float = 3.0  # longest phase at concurrency 1
    burst: float = 2.5  # length of a concurrency-32 phase
    legacy_samples: int = 40
    legacy_seconds: float = 6.0
    concurrency: int = 32
    quiet_load_per_core: float = 0.5  # 1-minute load average per core before timing starts
    quiet_timeout: float = 300.0  # longest wait for it; then timing starts anyway (reported)


@dataclass(frozen=True)
class Shape:
    name: str
    rest: tuple[load.Call, ...]
    graphql: tuple[load.Call, ...]
    legacy: tuple[load.Call, ...]


@dataclass
class Measurement:
    shape: str
    api: str  # REST, GraphQL or legacy
    cache: str  # uncached, cached, or "" for legacy
    concurrency: int
    latencies_ms: list[float]
    seconds: float
    errors: int
    problem: str | None
    server_cpu_ms: float | None  # CPU of the serving process per request (not PostgreSQL's)

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Quiet:
    """The 1-minute load average when a timing began, and how long it took to get there."""

    load: float
    waited_seconds: float
    threshold: float

    @property
    def reached(self) -> bool:
        return self.load < self.threshold


@dataclass
class ApiBench:
    mode: str
    rows: int
    built: dataset.Built
    table_mb: float
    depths: list[int]
    cold_totals_ms: float
    measurements: list[Measurement] = field(default_factory=list)
    quiet: dict[str, Quiet] = field(default_factory=dict)  # by serving: uncached, cached, legacy


async def wait_for_quiet(
    timing: Timing,
    say: Callable[[str], None],
    *,
    cores: int | None = None,
    loadavg: Callable[[], tuple[float, float, float]] = os.getloadavg,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Quiet:
    """Wait until the 1-minute load average is below the threshold, or the timeout passes."""
    threshold = timing.quiet_load_per_core * (cores or os.cpu_count() or 1)
    started = clock()
    for polls in itertools.count():
        load, waited = loadavg()[0], clock() - started
        if load < threshold or waited >= timing.quiet_timeout:
            if load >= threshold:
                say(f"load average still {load:.2f} after {waited:.0f} s: timing anyway")
            return Quiet(load, waited, threshold)
        if polls == 0:
            say(f"waiting for the load average ({load:.2f}) to fall below {threshold:.2f}")
        await sleep(QUIET_POLL_SECONDS)
    raise AssertionError("unreachable")  # itertools.count() never ends


def graphql(variables: dict[str, Any]) -> load.Call:
    return load.Call("POST", "/graphql", {"query": GRAPHQL_PAGE, "variables": variables})


def shapes(holders: Sequence[str], deep: Sequence[tuple[Key, int]]) -> list[Shape]:
    def encode(key: Key) -> str:
        return cursors.encode(key, Order.NEWEST_FIRST, TransferFilter())

    return [
        Shape(
            "first page, all chains",
            (load.Call("GET", f"/api/transfers?chainId=0&{FRONTEND}"),),
            (graphql({}),),
            (load.Call("GET", "/legacy/transfers?chainId=0&page=1&pageSize=25"),),
        ),
        Shape(
            "first page, one chain",
            (load.Call("GET", f"/api/transfers?chainId=137&{FRONTEND}"),),
            (graphql({"c": 137}),),
            (load.Call("GET", "/legacy/transfers?chainId=137&page=1&pageSize=25"),),
        ),
        Shape(
            "address filter",
            tuple(
                load.Call("GET", f"/api/transfers?chainId=0&address={a}&{FRONTEND}")
                for a in holders
            ),
            tuple(graphql({"a": a}) for a in holders),
            tuple(
                load.Call("GET", f"/legacy/transfers?address={a}&page=1&pageSize=25")
                for a in holders
            ),
        ),
        Shape(
            "deep cursor page",
            tuple(
                load.Call(
                    "GET",
                    f"/api/transfers?chainId=0&pageSize=25&includeTotals=true&cursor={encode(k)}",
                )
                for k, _ in deep
            ),
            tuple(graphql({"after": encode(k)}) for k, _ in deep),
            tuple(
                load.Call("GET", f"/legacy/transfers?chainId=0&page={d // PAGE + 1}&pageSize=25")
                for _, d in deep
            ),
        ),
    ]


async def prepare(
    cfg: Config, mode: str, rows: int, seed: int, say: Callable[[str], None]
) -> tuple[dataset.Built, float]:
    """Migrate, mirror chains, build the table, cover and sync every chain."""
    await store.migrate_twice(cfg, mode)
    await store.upsert_chains(cfg)
    dsn = cfg.settings.database_url.get_secret_value() if cfg.settings.database_url else ""
    built = dataset.build(dsn, data.split(rows, cfg.chains, 137), cfg.chains, seed, say)
    conn = await store_pool.connect(cfg.settings)
    async with conn, conn.transaction():
        cur = await conn.execute(
            "select chain_id, max(block_number) as top from transfers group by chain_id"
        )
        for row in await cur.fetchall():
            first = next(chain.first_block for chain in cfg.chains if chain.id == row["chain_id"])
            await coverage.add_range(conn, row["chain_id"], first, row["top"])
            await ingest_status.upsert_success(conn, row["chain_id"], row["top"], row["top"], {})
        # The table and, in timescale mode, its chunks (the hypertable itself holds nothing).
        cur = await conn.execute(
            "select sum(pg_total_relation_size(c.oid)) / 1048576.0 as mb from pg_class c"
            " where c.oid = 'transfers'::regclass or c.oid in"
            " (select inhrelid from pg_inherits where inhparent = 'transfers'::regclass)"
        )
        size = await cur.fetchone()
    return built, float(size["mb"]) if size else 0.0


def deep_keys(dsn: str, rows: int, seed: int) -> list[tuple[Key, int]]:
    """DEEP keys between 25 % and 75 % of the newest-first order, with their depth."""
    found: list[tuple[Key, int]] = []
    rng = random.Random(seed)
    with psycopg.connect(dsn) as conn:
        conn.execute("set statement_timeout = 0")
        for _ in range(DEEP):
            offset = rng.randrange(rows // 4, 3 * rows // 4)
            # Key columns only: an index-only walk (the generated keys never tie, so the
            # first four columns order the rows exactly).
            row = conn.execute(
                "select block_time, chain_id, block_number, log_index from transfers"
                " order by block_time desc, chain_id desc, block_number desc, log_index desc"
                " offset %s limit 1",
                (offset,),
            ).fetchone()
            if row is None:
                continue
            tx = conn.execute(
                "select tx_hash from transfers where block_time = %s and chain_id = %s"
                " and block_number = %s and log_index = %s",
                row,
            ).fetchone()
            assert tx is not None
            found.append(((row[0], row[1], row[2], row[3], "0x" + bytes(tx[0]).hex()), offset))
    return found


@contextlib.contextmanager
def serving(env: Mapping[str, str], log: Path, factory: str) -> Iterator[tuple[str, int]]:
    """uvicorn running ``factory`` in a child process; yields (base URL, pid)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [
        sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_up(target: load.Target, path: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        conn = target.connect()
        try:
            await conn.request("GET", path)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
        finally:
            await conn.close()


async def measure(
    target: load.Target,
    pid: int,
    calls: Sequence[load.Call],
    label: tuple[str, str, str],
    timing: Timing,
) -> list[Measurement]:
    """Concurrency 1 then the burst, after a warm-up; a failed warm-up skips both."""
    shape, api, cache = label
    legacy = api == "legacy"
    problem = await load.warm(target, calls[:1] if legacy else calls)
    found: list[Measurement] = []
    for workers in (1, timing.concurrency):
        if problem is not None:
            found.append(Measurement(shape, api, cache, workers, [], 0.0, 1, problem, None))
            continue
        before = cpu_seconds(pid)
        if workers == 1:
            samples = timing.legacy_samples if legacy else timing.samples
            seconds = timing.legacy_seconds if legacy else timing.seconds
            sample = await load.sequential(target, calls, samples, seconds)
        else:
            seconds = timing.legacy_seconds if legacy else timing.burst
            sample = await load.concurrent(target, calls, workers, seconds)
        done = len(sample.latencies_ms)
        cpu = (cpu_seconds(pid) - before) / done * 1000 if done else None
        found.append(
            Measurement(
                shape,
                api,
                cache,
                workers,
                sample.latencies_ms,
                sample.seconds,
                sample.errors,
                sample.problem,
                cpu,
            )
        )
    return found


async def run(
    pg_dsn: Callable[[str], str],
    mode: str,
    rows: int,
    seed: int,
    log: Path,
    say: Callable[[str], None],
    timing: Timing = Timing(),
) -> ApiBench:
    dsn = pg_dsn(f"tokenpulse_api_{mode}")
    env = {
        "TOKENPULSE_DATABASE_URL": dsn,
        "TOKENPULSE_ETHERSCAN_API_KEYS": "bench-key",
        "TOKENPULSE_CRONOS_API_KEYS": "bench-key",
        "TOKENPULSE_LOG_LEVEL": "WARNING",
    }
    cfg = config.load(env)
    say(f"{mode}: building {rows:,} transfers for the API benchmark")
    built, size = await prepare(cfg, mode, rows, seed, lambda text: say(f"{mode}: {text}"))
    deep = deep_keys(dsn, rows, seed)
    holders = [dataset.holder(seed, index) for index in range(HOLDERS)]
    result = ApiBench(mode, rows, built, size, [depth for _, depth in deep], 0.0)
    say(f"{mode}: table built ({size:,.0f} MB); measuring the API")
    for cache, extra in (("uncached", UNCACHED), ("cached", {})):
        with serving({**env, **extra}, log, "bench.api_app:create") as (url, pid):
            target = load.Target(url)
            await wait_up(target, "/healthz")
            result.quiet[cache] = await wait_for_quiet(timing, lambda text: say(f"{mode}: {text}"))
            if cache == "uncached":  # the first request counts every chain: the cold total
                started = time.perf_counter()
                await load.warm(target, shapes(holders, deep)[0].rest)
                result.cold_totals_ms = (time.perf_counter() - started) * 1000
            for shape in shapes(holders, deep):
                for api, calls in (("REST", shape.rest), ("GraphQL", shape.graphql)):
                    result.measurements += await measure(
                        target, pid, calls, (shape.name, api, cache), timing
                    )
        say(f"{mode}: API {cache} done")
    with serving(env, log, "bench.legacy_app:create") as (url, pid):
        target = load.Target(url)
        await wait_up(target, "/")
        result.quiet["legacy"] = await wait_for_quiet(timing, lambda text: say(f"{mode}: {text}"))
        for shape in shapes(holders, deep):
            result.measurements += await measure(
                target, pid, shape.legacy, (shape.name, "legacy", ""), timing
            )
    say(f"{mode}: legacy baseline done")
    return result
