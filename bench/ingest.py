"""Upstream budget utilisation: the real Ingestor against the simulator, for a bounded run.

The worker's ingestion work, driven directly: after every chain's first tip cycle (as a new
leader runs them), a tip cycle per chain every TOKENPULSE_INGEST_INTERVAL_SECONDS plus jitter
(the worker's tip jobs, at random phases) and backfill (``app.ingest.warm.fill_gaps``, the
worker's backfill job) for the whole run, on the Etherscan chains only, so every call goes
through the same API keys. The measured window opens 3 s into that steady work. Calls are
paced by the PostgreSQL budget ledger (``Ingestor.open`` without a ``ledger``) at the default
rate and pacing margin. The chains hold months of history, so backfill always has work queued:
the budget, not the amount of work, should be the limit.

The simulator runs in a child process (bench/sim_server.py) and its call log is the
provider's view: calls made per key in the run's window, against calls allowed (rate x
seconds); a violation is two calls of one key less than a second apart at the provider.
``latency_ms`` delays every answer (the simulator's ``latency`` fault), as a distant provider
does: then one chain's calls, each waiting for its answer, cannot keep a key busy alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app import config
from app.config import Config
from app.domain import ProviderKind
from app.errors import TokenpulseError
from app.ingest import warm
from app.ingest.runtime import Ingestor
from app.simulator import calllog
from app.store import migrate
from app.store import pool as store_pool

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("test-etherscan-key-1", "test-etherscan-key-2")  # accepted by every simulator
START_TIMEOUT = 60.0  # the simulator generates its history before it opens its port
SETTLE_SECONDS = 3.0  # steady work before the measured window opens


@dataclass
class KeyUse:
    label: str  # the simulator's label of the key
    calls: int  # calls the provider saw in the window
    max_per_second: int  # most calls inside any 1-second window
    violations: int  # pairs of consecutive calls less than a second apart


@dataclass
class IngestResult:
    seconds: float
    latency_ms: int  # added to every answer
    calls_per_second: float  # per key
    margin_seconds: float
    chains: int
    keys: list[KeyUse] = field(default_factory=list)
    tip_cycles: int = 0
    rows: int = 0  # transfers stored at the end
    errors: list[str] = field(default_factory=list)

    @property
    def allowed_per_key(self) -> float:
        return self.calls_per_second * self.seconds

    @property
    def utilisation(self) -> float:
        return sum(key.calls for key in self.keys) / (self.allowed_per_key * len(self.keys))

    @property
    def ceiling(self) -> float:
        """The utilisation the pacing allows at most: one call per interval plus margin."""
        return 1 / (1 + self.margin_seconds * self.calls_per_second)

    @property
    def violations(self) -> int:
        return sum(key.violations for key in self.keys)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def simulator(seed: int, density: float, log: Path) -> Iterator[str]:
    """Run bench/sim_server.py in a child process; yields its base URL."""
    port = _free_port()
    command = [sys.executable, "-m", "bench.sim_server", "--port", str(port)]
    command += ["--seed", str(seed), "--density", str(density)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _wait_until_up(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with contextlib.suppress(httpx.TransportError):
            if (await client.get("/_sim/state")).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the simulator did not answer within {START_TIMEOUT:.0f} s")
        await asyncio.sleep(0.2)


async def _slow_down(client: httpx.AsyncClient, latency_ms: int) -> None:
    if latency_ms > 0:
        fault = {"kind": "latency", "service": "etherscan", "params": {"ms": latency_ms}}
        (await client.post("/_sim/faults", json=fault)).raise_for_status()


def etherscan_only(cfg: Config) -> Config:
    """The configuration with only its Etherscan chains enabled: they share one key set."""
    chains = tuple(
        chain
        if chain.provider is ProviderKind.ETHERSCAN
        else dataclasses.replace(chain, enabled=False)
        for chain in cfg.chains
    )
    return dataclasses.replace(cfg, chains=chains)


@dataclass
class _Work:
    tip_cycles: int = 0
    errors: Counter[str] = field(default_factory=Counter)


async def _tip(ingestor: Ingestor, chain_id: int, work: _Work) -> None:
    try:
        await ingestor.sync_tip(chain_id)
        work.tip_cycles += 1
    except TokenpulseError as exc:
        work.errors[f"tip: {type(exc).__name__}"] += 1


async def _tips(ingestor: Ingestor, cfg: Config, chain_id: int, work: _Work) -> None:
    """A chain's tip job in its steady state: a cycle every interval plus up to the jitter,
    at a random phase, until cancelled."""
    settings = cfg.settings
    rng = random.Random(chain_id)
    await asyncio.sleep(rng.uniform(0, settings.ingest_interval_seconds))
    while True:
        await _tip(ingestor, chain_id, work)
        jitter = rng.uniform(0, settings.ingest_jitter_seconds)
        await asyncio.sleep(settings.ingest_interval_seconds + jitter)


async def _backfill(ingestor: Ingestor, cfg: Config, deadline: float, work: _Work) -> None:
    """The backfill job, for the whole run: newest gaps first, from every chain."""
    start = 0
    while time.monotonic() < deadline:
        try:
            totals = await warm.fill_gaps(
                ingestor, ingestor.pool, cfg, seconds=deadline - time.monotonic(), start=start
            )
        except TokenpulseError as exc:
            work.errors[f"backfill: {type(exc).__name__}"] += 1
            totals = warm.RunTotals()
        start += 1
        if not totals.calls:
            await asyncio.sleep(0.5)


async def _drive(ingestor: Ingestor, cfg: Config, seconds: float) -> tuple[_Work, float]:
    """The first tip cycle of every chain (as a new leader runs them; not measured), then
    ``seconds`` of steady work. Returns the work done and when (epoch) the measure began."""
    work = _Work()
    chains = [chain.id for chain in cfg.enabled_chains]
    await asyncio.gather(*(_tip(ingestor, chain_id, work) for chain_id in chains))
    deadline = time.monotonic() + SETTLE_SECONDS + seconds
    tasks = [asyncio.ensure_future(_tips(ingestor, cfg, chain_id, work)) for chain_id in chains]
    tasks.append(asyncio.ensure_future(_backfill(ingestor, cfg, deadline, work)))
    # The measure starts once the slots booked by the first cycles have passed.
    await asyncio.sleep(SETTLE_SECONDS)
    since = time.time()
    await asyncio.sleep(seconds)
    for task in tasks:  # a window cut short rolls back whole; the log keeps what was sent
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return work, since


def key_use(calls: Sequence[Mapping[str, Any]], since: float, until: float) -> list[KeyUse]:
    """Per key label, the calls the provider saw in [since, until)."""
    times: dict[str, list[float]] = {}
    for call in calls:
        if since <= call["ts"] < until:
            times.setdefault(str(call["label"]), []).append(float(call["ts"]))
    found = []
    for label, stamps in sorted(times.items()):
        stamps.sort()
        close = sum(1 for earlier, later in itertools.pairwise(stamps) if later - earlier < 1.0)
        found.append(KeyUse(label, len(stamps), calllog.max_in_window(stamps), close))
    return found


async def _migrated(dsn: str, env: Mapping[str, str]) -> None:
    cfg = config.load({**env, "TOKENPULSE_DATABASE_URL": dsn})
    conn = await store_pool.connect(cfg.settings, autocommit=True)
    async with conn:
        await migrate.migrate(conn, "portable")


async def run(
    dsn: str, env: Mapping[str, str], seconds: float, seed: int, log: Path, latency_ms: int = 0
) -> IngestResult:
    """Migrate ``dsn`` (empty), then ingest from a fresh simulator for ``seconds``."""
    env = {**env, "TOKENPULSE_ETHERSCAN_API_KEYS": ",".join(KEYS)}
    await _migrated(dsn, env)
    with simulator(seed, 1.0, log) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            await _wait_until_up(client)
            await _slow_down(client, latency_ms)
            cfg = etherscan_only(
                config.load(
                    {**env, "TOKENPULSE_DATABASE_URL": dsn, "TOKENPULSE_SIMULATOR_URL": url}
                )
            )
            pool = store_pool.create(cfg.settings)
            await pool.open(wait=True, timeout=10)
            try:
                ingestor = await Ingestor.open(cfg, pool)
                try:
                    work, since = await _drive(ingestor, cfg, seconds)
                    until = since + seconds
                finally:
                    await ingestor.close()
                async with store_pool.transaction(pool) as conn:
                    cur = await conn.execute("select count(*) as n from transfers")
                    row = await cur.fetchone()
            finally:
                await pool.close()
            answer = await client.get(
                "/_sim/calls", params={"service": "etherscan", "limit": 10**6}
            )
            calls = answer.json()["calls"]
    settings = cfg.settings
    return IngestResult(
        seconds=seconds,
        latency_ms=latency_ms,
        calls_per_second=settings.upstream_calls_per_second,
        margin_seconds=settings.upstream_pacing_margin_seconds,
        chains=len(cfg.enabled_chains),
        keys=key_use(calls, since, until),
        tip_cycles=work.tip_cycles,
        rows=int(row["n"]) if row else 0,
        errors=[f"{name} x{count}" for name, count in work.errors.items()],
    )
