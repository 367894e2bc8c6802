"""Alert rules, pure: a :class:`Snapshot` of facts in, the conditions firing now out.

Each rule is a small function ``(Snapshot, Limits) -> list[Firing]``; a firing carries its
kind, severity, dedupe key (one open alert per key) and a message for people. The evaluator
(app.alerting.evaluator) gathers the snapshot from the store, applies a pending period, then
raises, refreshes and resolves alerts; no I/O here (an import-linter contract checks).

Two kinds are not in :data:`RULES`: ``validation_variance`` is raised and resolved by the
validation run itself (app.ops.validation_runner, variance above TOKENPULSE_VALIDATE_THRESHOLD)
and only delivered from here; ``database_unreachable`` cannot be stored in the database it is
about, so the database watch (app.alerting.dbwatch) keeps it in memory and sends it directly.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class Kind(enum.StrEnum):
    RATE_LIMIT_SPIKE = "rate_limit_spike"
    WORKER_DOWN = "worker_down"
    WORKER_STALLED = "worker_stalled"
    CHAIN_STALE = "chain_stale"
    BREAKER_OPEN = "breaker_open"
    PRICES_FAILING = "prices_failing"
    VALIDATION_VARIANCE = "validation_variance"  # raised by app.ops.validation_runner
    DATABASE_UNREACHABLE = "database_unreachable"  # held in memory by app.alerting.dbwatch


class Severity(enum.StrEnum):  # the values of alerts.severity
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Firing:
    kind: Kind
    severity: Severity
    dedupe_key: str
    message: str
    chain_id: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Limits:
    rate_limit_hits: int = 20
    rate_limit_window_seconds: float = 300.0
    worker_heartbeat_seconds: float = 60.0
    worker_stalled_seconds: float = 900.0
    breaker_open_seconds: float = 300.0
    price_window_seconds: float = 600.0


@dataclass(frozen=True, slots=True)
class KeyHits:
    """One API key: 429s and quota refusals within the window (None: window not yet known)."""

    key_id: str  # a fingerprint, never the key
    provider: str
    label: str
    hits_in_window: int | None
    quota_exhausted: bool


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    worker_id: str
    role: str  # leader or standby
    age_seconds: float


@dataclass(frozen=True, slots=True)
class ChainState:
    chain_id: int
    name: str
    warm: str  # app.warm.WarmStatus value: fresh, lagging, stale or cold
    reason: str
    last_success_age: float | None  # seconds since the chain's last successful tip cycle


@dataclass(frozen=True, slots=True)
class Breaker:
    name: str
    provider: str
    state: str  # closed, open or half_open
    failures: int
    open_seconds: float | None  # how long it has been open (None: not open)


@dataclass(frozen=True, slots=True)
class PriceSource:
    source: str
    attempts: int  # observations within the window
    ok: int
    last_outcome: str | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    keys: Sequence[KeyHits] = ()
    workers: Sequence[WorkerBeat] = ()
    chains: Sequence[ChainState] = ()  # enabled chains only
    breakers: Sequence[Breaker] | None = None  # None: no upstream_breakers table here
    prices: Sequence[PriceSource] | None = None  # None: no price_observations table here
    # Seconds since each scheduler job's last success (job_runs; jobs never successful absent).
    job_successes: Mapping[str, float] | None = None


Rule = Callable[[Snapshot, Limits], list[Firing]]


def rate_limit_spikes(snap: Snapshot, limits: Limits) -> list[Firing]:
    """A key refused (429 or quota) at least rate_limit_hits times within the window."""
    minutes = limits.rate_limit_window_seconds / 60
    return [
        Firing(
            Kind.RATE_LIMIT_SPIKE,
            Severity.WARNING,
            f"{Kind.RATE_LIMIT_SPIKE}:{key.key_id}",
            f"{key.provider} key {key.label} was refused {key.hits_in_window} times "
            f"(429 or quota) in the last {minutes:g} min"
            + (", daily quota used up" if key.quota_exhausted else ""),
            details={"keyId": key.key_id, "provider": key.provider, "hits": key.hits_in_window},
        )
        for key in snap.keys
        if key.hits_in_window is not None and key.hits_in_window >= limits.rate_limit_hits
    ]


def worker_down(snap: Snapshot, limits: Limits) -> list[Firing]:
    """No leader heartbeat fresher than worker_heartbeat_seconds."""
    leaders = [w.age_seconds for w in snap.workers if w.role == "leader"]
    if leaders and min(leaders) <= limits.worker_heartbeat_seconds:
        return []
    newest = f"newest leader heartbeat {min(leaders):.0f}s old" if leaders else "none at all"
    return [
        Firing(
            Kind.WORKER_DOWN,
            Severity.CRITICAL,
            str(Kind.WORKER_DOWN),
            f"no worker leader heartbeat within {limits.worker_heartbeat_seconds:g}s ({newest})",
            details={"workers": len(snap.workers)},
        )
    ]


def worker_stalled(snap: Snapshot, limits: Limits) -> list[Firing]:
    """A leader runs (it evaluates this) but for worker_stalled_seconds no chain's tip cycle
    succeeded, or no scheduler job but the alert jobs themselves did (job_runs)."""
    ages = [c.last_success_age for c in snap.chains if c.last_success_age is not None]
    jobs = [age for name, age in (snap.job_successes or {}).items() if not _own(name)]
    what = ""
    if ages and min(ages) > limits.worker_stalled_seconds:
        what, newest = "ingestion cycle on any chain", min(ages)
    elif jobs and min(jobs) > limits.worker_stalled_seconds:
        what, newest = "scheduler job run", min(jobs)
    if not what:
        return []  # never synced at all: chain_stale reports the chains as cold
    return [
        Firing(
            Kind.WORKER_STALLED,
            Severity.CRITICAL,
            str(Kind.WORKER_STALLED),
            f"no successful {what} for {newest:.0f}s (limit {limits.worker_stalled_seconds:g}s)",
            details={"newestSuccessAgeSeconds": newest},
        )
    ]


def _own(job: str) -> bool:
    # The alert jobs succeed while they report a stall: they prove nothing about the rest.
    return job.startswith("alerts_")


def chains_stale(snap: Snapshot, limits: Limits) -> list[Firing]:
    """An enabled chain whose warm status is stale (critical) or cold (warning)."""
    return [
        Firing(
            Kind.CHAIN_STALE,
            Severity.CRITICAL if c.warm == "stale" else Severity.WARNING,
            f"{Kind.CHAIN_STALE}:{c.chain_id}",
            f"{c.name} ({c.chain_id}) is {c.warm}: {c.reason}",
            chain_id=c.chain_id,
            details={"warm": c.warm, "lastSuccessAgeSeconds": c.last_success_age},
        )
        for c in snap.chains
        if c.warm in ("stale", "cold")
    ]


def breakers_open(snap: Snapshot, limits: Limits) -> list[Firing]:
    """A circuit breaker open for at least breaker_open_seconds."""
    return [
        Firing(
            Kind.BREAKER_OPEN,
            Severity.WARNING,
            f"{Kind.BREAKER_OPEN}:{b.name}",
            f"circuit breaker {b.name} ({b.provider}) open for {b.open_seconds:.0f}s "
            f"after {b.failures} failures",
            details={"breaker": b.name, "provider": b.provider, "failures": b.failures},
        )
        for b in snap.breakers or ()
        if b.state == "open"
        and b.open_seconds is not None
        and b.open_seconds >= limits.breaker_open_seconds
    ]


def prices_failing(snap: Snapshot, limits: Limits) -> list[Firing]:
    """Price sources were asked within the window and not one answer was good."""
    seen = [p for p in snap.prices or () if p.attempts > 0]
    if not seen or any(p.ok > 0 for p in seen):
        return []
    outcomes = ", ".join(f"{p.source}: {p.last_outcome or 'failed'}" for p in seen)
    minutes = limits.price_window_seconds / 60
    return [
        Firing(
            Kind.PRICES_FAILING,
            Severity.CRITICAL,
            str(Kind.PRICES_FAILING),
            f"every price source failed in the last {minutes:g} min ({outcomes})",
            details={"sources": {p.source: p.last_outcome for p in seen}},
        )
    ]


RULES: tuple[Rule, ...] = (
    rate_limit_spikes,
    worker_down,
    worker_stalled,
    chains_stale,
    breakers_open,
    prices_failing,
)
# The kinds the evaluator raises, and so may resolve (others are raised elsewhere).
EVALUATED = frozenset(
    {Kind.RATE_LIMIT_SPIKE, Kind.WORKER_DOWN, Kind.WORKER_STALLED, Kind.CHAIN_STALE}
    | {Kind.BREAKER_OPEN, Kind.PRICES_FAILING}
)


def evaluate(snap: Snapshot, limits: Limits) -> list[Firing]:
    """Every condition firing in ``snap``."""
    return [firing for rule in RULES for firing in rule(snap, limits)]


def database_unreachable(seconds: float, error: str) -> Firing:
    """The database watch's alert (never stored: the database is what is missing)."""
    return Firing(
        Kind.DATABASE_UNREACHABLE,
        Severity.CRITICAL,
        str(Kind.DATABASE_UNREACHABLE),
        f"the database has been unreachable for {seconds:.0f}s: {error}",
    )


def window_delta(samples: Sequence[tuple[float, int]], now: float, window: float) -> int | None:
    """Growth of a running count over the last ``window`` seconds from ``(time, count)``
    samples, oldest first. When the samples do not reach back that far (a new leader) the
    oldest one is the base: a partial window undercounts, it never invents hits."""
    if not samples:
        return None
    old_enough = [count for at, count in samples if now - at >= window]
    base = old_enough[-1] if old_enough else samples[0][1]
    return max(0, samples[-1][1] - base)
