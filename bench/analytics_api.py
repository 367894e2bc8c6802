"""The analytics API over HTTP: GraphQL ``analytics`` and ``GET /api/analytics`` for 7d, 30d,
90d and all (every chain), uncached and cached, beside the legacy approach
(bench.analytics_legacy: every figure from the raw transfers on every request).

Each serving is its own uvicorn process on loopback (bench.transfers_api.serving), on the
database bench.analytics built and refreshed: **uncached** with
TOKENPULSE_CACHE_TTL_ANALYTICS_SECONDS=0 (no answer is kept: every request reads the
aggregates and computes the answer), **cached** with the default TTL (the first request of
each range fills the cache, the timed ones are hits), and **legacy**. Requests run one at a
time (concurrency 1), after a warm-up request of each call and after the load average has
fallen (bench.transfers_api.wait_for_quiet).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench import load, transfers_api

RANGES = ("7d", "30d", "90d", "all")
UNCACHED = {"TOKENPULSE_CACHE_TTL_ANALYTICS_SECONDS": "0"}
GRAPHQL = (
    "query($r: AnalyticsRange!) { analytics(range: $r) {"
    " daily { date transfers volume activeAddresses }"
    " metrics { totalTransfers totalVolume activeAddresses }"
    " predictions { transfers { method } volume { method } }"
    " chainDistribution { chainId transfers volume activeAddresses }"
    " topAddresses { address transfers sent received }"
    " topWhales { txHash value chainId } performance { computeTimeMs } } }"
)


@dataclass(frozen=True)
class Timing:
    samples: int = 100  # requests per call (fewer when seconds run out)
    seconds: float = 20.0  # longest run of one call
    legacy_samples: int = 20
    legacy_seconds: float = 40.0
    quiet_timeout: float = 60.0  # longest wait for the load average to fall (then timed anyway)


@dataclass
class Latency:
    api: str  # REST, GraphQL or legacy
    cache: str  # uncached, cached, or "" for legacy
    range: str
    latencies_ms: list[float]
    errors: int
    problem: str | None


@dataclass
class ApiTimings:
    latencies: list[Latency] = field(default_factory=list)
    quiet: dict[str, transfers_api.Quiet] = field(default_factory=dict)


def calls(api: str, time_range: str) -> load.Call:
    if api == "REST":
        return load.Call("GET", f"/api/analytics?timeRange={time_range}")
    if api == "GraphQL":
        variables = {"r": "ALL" if time_range == "all" else f"D{time_range[:-1]}"}
        return load.Call("POST", "/graphql", {"query": GRAPHQL, "variables": variables})
    return load.Call("GET", f"/legacy/analytics?timeRange={time_range}")


async def measure(
    env: Mapping[str, str],
    log: Path,
    say: Callable[[str], None],
    timing: Timing = Timing(),
) -> ApiTimings:
    found = ApiTimings()
    servings = (
        ("uncached", "bench.api_app:create", {**env, **UNCACHED}, ("REST", "GraphQL")),
        ("cached", "bench.api_app:create", dict(env), ("REST", "GraphQL")),
        ("legacy", "bench.analytics_legacy:create", dict(env), ("legacy",)),
    )
    for cache, factory, serving_env, apis in servings:
        with transfers_api.serving(serving_env, log, factory) as (url, _pid):
            target = load.Target(url)
            await transfers_api.wait_up(target, "/healthz" if cache != "legacy" else "/")
            quiet = transfers_api.Timing(quiet_timeout=timing.quiet_timeout)
            found.quiet[cache] = await transfers_api.wait_for_quiet(quiet, say)
            for api in apis:
                for time_range in RANGES:
                    found.latencies.append(await _one(target, api, cache, time_range, timing))
        say(f"analytics API {cache} done")
    return found


async def _one(
    target: load.Target, api: str, cache: str, time_range: str, timing: Timing
) -> Latency:
    call = calls(api, time_range)
    legacy = api == "legacy"
    label = "" if legacy else cache
    if legacy:  # one warm-up request: each takes seconds
        conn = target.connect()
        try:
            problem = await load.call(conn, call, call.payload)
        finally:
            await conn.close()
    else:
        problem = await load.warm(target, [call])
    if problem is not None:
        return Latency(api, label, time_range, [], 1, problem)
    samples = timing.legacy_samples if legacy else timing.samples
    seconds = timing.legacy_seconds if legacy else timing.seconds
    sample = await load.sequential(target, [call], samples, seconds)
    return Latency(api, label, time_range, sample.latencies_ms, sample.errors, sample.problem)
