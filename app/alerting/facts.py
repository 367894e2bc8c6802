"""The rules' snapshot, read from the store in one transaction (app.alerting.rules is pure).

Rate-limit hits are a running count per key (rate_budget.rate_limit_hits, bumped by every 429
and quota refusal); the evaluator keeps ``(time, count)`` samples of it in memory, so a
window of minutes needs no finer history than the hourly upstream_calls buckets.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app.alerting import rules
from app.config import Config
from app.ops import warm
from app.store import alert_facts, budget, ingest_status, job_runs, workers
from app.store import chains as store_chains
from app.store.pool import Connection

Samples = dict[str, deque[tuple[float, int]]]


def limits(config: Config) -> rules.Limits:
    s = config.settings
    return rules.Limits(
        rate_limit_hits=s.alert_rate_limit_hits,
        rate_limit_window_seconds=s.alert_rate_limit_window_seconds,
        worker_heartbeat_seconds=s.alert_worker_heartbeat_seconds,
        worker_stalled_seconds=s.alert_worker_stalled_seconds,
        breaker_open_seconds=s.alert_breaker_open_seconds,
        price_window_seconds=s.alert_price_window_seconds,
    )


async def gather(conn: Connection, config: Config, samples: Samples, now: float) -> rules.Snapshot:
    """Everything the rules look at; ``samples`` (rate-limit counts) is updated in place."""
    window = config.settings.alert_rate_limit_window_seconds
    keys = [_key_hits(b, samples, now, window) for b in await budget.list_budgets(conn)]
    beats = [
        rules.WorkerBeat(row["worker_id"], row["role"], float(row["age_seconds"]))
        for row in await workers.list_workers(conn)
    ]
    optional = await alert_facts.optional_tables(conn)
    return rules.Snapshot(
        keys=keys,
        workers=beats,
        chains=await _chains(conn, config),
        breakers=await _breakers(conn) if optional["breakers"] else None,
        prices=await _prices(conn, config) if optional["prices"] else None,
        job_successes=await _job_successes(conn),
    )


def _key_hits(b: budget.Budget, samples: Samples, now: float, window: float) -> rules.KeyHits:
    seen = samples.setdefault(b.key_id, deque())
    seen.append((now, b.rate_limit_hits))
    # Keep one sample older than the window: it is the base of the window's count.
    while len(seen) > 1 and now - seen[1][0] >= window:
        seen.popleft()
    hits = rules.window_delta(seen, now, window)
    return rules.KeyHits(b.key_id, b.provider, b.label, hits, b.quota_exhausted)


async def _chains(conn: Connection, config: Config) -> list[rules.ChainState]:
    rows = await store_chains.list_chains(conn)
    statuses = await ingest_status.list_all(conn)
    limits = warm.thresholds(config.settings)
    readings = warm.assess(config.enabled_chains, rows, statuses, datetime.now(UTC), limits)
    return [_chain_state(item) for item in readings]


def _chain_state(item: warm.ChainWarm) -> rules.ChainState:
    reading = item.reading
    return rules.ChainState(
        item.chain.id, item.chain.name, reading.status.value, reading.reason,
        reading.since_success_seconds,
    )  # fmt: skip


async def _breakers(conn: Connection) -> list[rules.Breaker]:
    rows: Sequence[dict[str, Any]] = await alert_facts.open_breakers(conn)
    return [
        rules.Breaker(r["name"], r["provider"], r["state"], int(r["failures"] or 0),
                      None if r["open_seconds"] is None else float(r["open_seconds"]))
        for r in rows
    ]  # fmt: skip


async def _prices(conn: Connection, config: Config) -> list[rules.PriceSource]:
    window = config.settings.alert_price_window_seconds
    rows = await alert_facts.price_sources(conn, window)
    return [rules.PriceSource(r["source"], r["attempts"], r["ok"], r["last_outcome"]) for r in rows]


async def _job_successes(conn: Connection) -> dict[str, float]:
    now = datetime.now(UTC)
    return {
        run.job: (now - run.last_success_at).total_seconds()
        for run in await job_runs.list_runs(conn)
        if run.last_success_at is not None
    }
