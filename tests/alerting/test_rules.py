"""The alert rules on hand-made snapshots (pure: no database)."""

from __future__ import annotations

from app.alerting import rules
from app.alerting.rules import (
    Breaker,
    ChainState,
    KeyHits,
    Kind,
    Limits,
    PriceSource,
    Severity,
    Snapshot,
    WorkerBeat,
)

LIMITS = Limits(
    rate_limit_hits=5,
    rate_limit_window_seconds=300,
    worker_heartbeat_seconds=60,
    worker_stalled_seconds=900,
    breaker_open_seconds=120,
    price_window_seconds=600,
)
FRESH = ChainState(137, "Polygon", "fresh", "in sync", 10.0)
LEADER = WorkerBeat("w1", "leader", 3.0)
HEALTHY = Snapshot(workers=[LEADER], chains=[FRESH], breakers=[], prices=[])


def keys(firings: list[rules.Firing]) -> list[str]:
    return [f.dedupe_key for f in firings]


def test_a_healthy_snapshot_fires_nothing() -> None:
    assert rules.evaluate(HEALTHY, LIMITS) == []


def test_rate_limit_spike_per_key_at_the_threshold() -> None:
    snap = Snapshot(
        keys=[
            KeyHits("etherscan:aaaaaaaaaaaaaaaa", "etherscan", "key 1", 5, quota_exhausted=True),
            KeyHits("etherscan:bbbbbbbbbbbbbbbb", "etherscan", "key 2", 4, quota_exhausted=False),
            KeyHits("explorer:cccccccccccccccc", "explorer", "key 1", None, False),
        ],
        workers=[LEADER],
    )
    [firing] = rules.rate_limit_spikes(snap, LIMITS)
    assert firing.dedupe_key == "rate_limit_spike:etherscan:aaaaaaaaaaaaaaaa"
    assert firing.severity is Severity.WARNING
    assert firing.message == (
        "etherscan key key 1 was refused 5 times (429 or quota) in the last 5 min, "
        "daily quota used up"
    )


def test_worker_down_without_a_fresh_leader_heartbeat() -> None:
    assert rules.worker_down(HEALTHY, LIMITS) == []
    old = Snapshot(workers=[WorkerBeat("w1", "leader", 61.0), WorkerBeat("w2", "standby", 1.0)])
    [firing] = rules.worker_down(old, LIMITS)
    assert (firing.kind, firing.severity) == (Kind.WORKER_DOWN, Severity.CRITICAL)
    assert "newest leader heartbeat 61s old" in firing.message
    [none] = rules.worker_down(Snapshot(workers=[WorkerBeat("w2", "standby", 1.0)]), LIMITS)
    assert "none at all" in none.message


def test_worker_stalled_when_no_chain_succeeded_lately() -> None:
    stalled = Snapshot(
        workers=[LEADER],
        chains=[
            ChainState(137, "Polygon", "stale", "x", 1000.0),
            ChainState(1, "Ethereum", "stale", "x", 950.0),
        ],
    )
    [firing] = rules.worker_stalled(stalled, LIMITS)
    assert firing.dedupe_key == "worker_stalled"
    assert "for 950s" in firing.message
    one_moves = Snapshot(chains=[*stalled.chains, FRESH])
    assert rules.worker_stalled(one_moves, LIMITS) == []
    never = Snapshot(chains=[ChainState(137, "Polygon", "cold", "never synced", None)])
    assert rules.worker_stalled(never, LIMITS) == []  # chain_stale says "cold"


def test_worker_stalled_when_no_job_but_the_alert_jobs_succeeded() -> None:
    quiet = {"prune_heartbeats": 1000.0, "sync_chains": 950.0, "alerts_evaluate": 1.0}
    [firing] = rules.worker_stalled(Snapshot(chains=[], job_successes=quiet), LIMITS)
    assert firing.message == "no successful scheduler job run for 950s (limit 900s)"
    busy = quiet | {"prune_heartbeats": 30.0}
    assert rules.worker_stalled(Snapshot(job_successes=busy), LIMITS) == []
    assert rules.worker_stalled(Snapshot(job_successes={"alerts_deliver": 5000.0}), LIMITS) == []


def test_chain_stale_is_critical_and_cold_a_warning() -> None:
    snap = Snapshot(
        chains=[
            FRESH,
            ChainState(1, "Ethereum", "stale", "last successful sync 1000s ago", 1000.0),
            ChainState(25, "Cronos", "cold", "never synced", None),
            ChainState(56, "BNB", "lagging", "x", 200.0),
        ]
    )
    stale, cold = rules.chains_stale(snap, LIMITS)
    assert (stale.dedupe_key, stale.severity, stale.chain_id) == (
        "chain_stale:1", Severity.CRITICAL, 1,
    )  # fmt: skip
    assert stale.message == "Ethereum (1) is stale: last successful sync 1000s ago"
    assert (cold.dedupe_key, cold.severity) == ("chain_stale:25", Severity.WARNING)


def test_breaker_open_too_long() -> None:
    snap = Snapshot(
        breakers=[
            Breaker("etherscan tokentx", "etherscan", "open", 5, 120.0),
            Breaker("explorer logs", "explorer", "open", 5, 119.0),
            Breaker("rpc:25 eth_getLogs", "rpc", "half_open", 5, None),
        ]
    )
    assert keys(rules.breakers_open(snap, LIMITS)) == ["breaker_open:etherscan tokentx"]
    assert rules.breakers_open(Snapshot(breakers=None), LIMITS) == []  # no table: skipped


def test_prices_failing_only_when_every_source_failed() -> None:
    failing = [
        PriceSource("coingecko", 3, 0, "timeout"),
        PriceSource("dexscreener", 2, 0, "rate_limited"),
    ]
    [firing] = rules.prices_failing(Snapshot(prices=failing), LIMITS)
    assert firing.severity is Severity.CRITICAL
    assert "coingecko: timeout, dexscreener: rate_limited" in firing.message
    one_good = [*failing, PriceSource("coinpaprika", 1, 1, "ok")]
    assert rules.prices_failing(Snapshot(prices=one_good), LIMITS) == []
    assert rules.prices_failing(Snapshot(prices=[]), LIMITS) == []  # nobody asked
    assert rules.prices_failing(Snapshot(prices=None), LIMITS) == []  # no table


def test_the_window_of_a_running_count() -> None:
    samples = [(0.0, 10), (100.0, 12), (250.0, 20), (320.0, 31)]
    # base: the newest sample at least 300 s old (t=0, count 10)
    assert rules.window_delta(samples, 320.0, 300.0) == 21
    # a window the samples do not reach back to: the oldest sample is the base
    assert rules.window_delta(samples[2:], 320.0, 300.0) == 11
    assert rules.window_delta([], 320.0, 300.0) is None
    assert rules.window_delta([(0.0, 50), (10.0, 3)], 10.0, 300.0) == 0  # a reset row


def test_evaluated_kinds_exclude_those_raised_elsewhere() -> None:
    assert Kind.VALIDATION_VARIANCE not in rules.EVALUATED
    assert Kind.DATABASE_UNREACHABLE not in rules.EVALUATED
    assert rules.database_unreachable(42.4, "connection refused").message == (
        "the database has been unreachable for 42s: connection refused"
    )
