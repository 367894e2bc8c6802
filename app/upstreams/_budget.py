"""The rate budget: API keys, their fingerprints, and the ledger that spaces calls per key.

The ledger is the cross-process part: ``reserve`` hands out the next call slot of a key and
says how long to wait for it. In production it is backed by PostgreSQL (app.store.budget,
wired by app.ingest, because this package may not import the store); tests and single-process
tools use :class:`InMemoryLedger`, which follows the same rules.
"""

from __future__ import annotations

import enum
import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from app.upstreams import _redact
from app.upstreams._classify import Outcome

_PROVIDER = re.compile(r"^[a-z0-9_-]+$")


class Priority(enum.IntEnum):
    """Who gets a key's next slot first: lower values win."""

    TIP = 0  # following the chain head: users see this lag
    RECONCILIATION = 1
    BACKFILL = 2
    HOLDERS = 3  # holder sweeps can always wait


def fingerprint(provider: str, secret: str) -> str:
    """A stable, non-reversible id for a key: ``provider:`` + 16 hex of its sha256."""
    if not _PROVIDER.match(provider):
        raise ValueError(f"provider must match {_PROVIDER.pattern}, got {provider!r}")
    return f"{provider}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One credential and its budget. The secret never shows in repr or str."""

    provider: str
    label: str  # e.g. "etherscan#1": for humans, logs and health
    secret: str = field(repr=False)
    interval_seconds: float = 1.0  # minimum spacing between two calls with this key
    daily_quota: int | None = None  # calls per UTC day; None = unlimited
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if self.interval_seconds < 0:
            raise ValueError("interval_seconds must be >= 0")
        if self.daily_quota is not None and self.daily_quota < 1:
            raise ValueError("daily_quota must be >= 1 or None")
        object.__setattr__(self, "key_id", fingerprint(self.provider, self.secret))
        _redact.register([self.secret])

    def __str__(self) -> str:
        return f"{self.label} ({self.key_id})"


@dataclass(frozen=True, slots=True)
class KeyRate:
    interval_seconds: float = 1.0
    daily_quota: int | None = None


@dataclass(frozen=True, slots=True)
class RateConfig:
    """Per-provider defaults (1 call/s per key) with per-key overrides by label."""

    default: KeyRate = KeyRate()
    per_key: Mapping[str, KeyRate] = field(default_factory=dict)

    def for_label(self, label: str) -> KeyRate:
        return self.per_key.get(label, self.default)


def make_keys(provider: str, secrets: Sequence[str], rate: RateConfig) -> tuple[ApiKey, ...]:
    """ApiKeys labelled ``provider#1``, ``provider#2``… in configuration order."""
    keys = []
    for number, secret in enumerate(secrets, start=1):
        label = f"{provider}#{number}"
        limits = rate.for_label(label)
        keys.append(ApiKey(provider, label, secret, limits.interval_seconds, limits.daily_quota))
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class Reservation:
    """A granted slot (start after ``wait_seconds``) or a refusal for today's quota.

    When ``quota_exhausted`` is true no slot was taken and ``wait_seconds`` is the time until
    the quota resets (the next UTC midnight).
    """

    wait_seconds: float
    quota_exhausted: bool = False


class BudgetLedger(Protocol):
    """Where call slots and outcomes are recorded; shared by every process in production."""

    async def reserve(self, key: ApiKey) -> Reservation: ...

    async def rate_limited(self, key: ApiKey, backoff_seconds: float) -> None: ...

    async def record(
        self, key: ApiKey, endpoint: str, outcome: Outcome, latency_ms: float
    ) -> None: ...


@dataclass(slots=True)
class _Slot:
    next_allowed: float
    day: date
    calls_today: int = 0
    backoff_until: float = 0.0
    rate_limit_hits: int = 0


def seconds_to_midnight(now: float) -> float:
    """Seconds from ``now`` (epoch) to the next UTC midnight, when daily quotas reset."""
    today = datetime.fromtimestamp(now, UTC).date()
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    return midnight.timestamp() - now


class InMemoryLedger:
    """The PostgreSQL ledger's rules for one process: tests, tools, the demo."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # epoch seconds: the UTC day matters for quotas
        self.slots: dict[str, _Slot] = {}
        self.calls: Counter[tuple[str, str, Outcome]] = Counter()

    async def reserve(self, key: ApiKey) -> Reservation:
        now = self._clock()
        today = datetime.fromtimestamp(now, UTC).date()
        slot = self.slots.setdefault(key.key_id, _Slot(next_allowed=now, day=today))
        if slot.day != today:
            slot.day, slot.calls_today = today, 0
        if key.daily_quota is not None and slot.calls_today >= key.daily_quota:
            return Reservation(seconds_to_midnight(now), quota_exhausted=True)
        start = max(slot.next_allowed, now, slot.backoff_until)
        slot.next_allowed = start + key.interval_seconds
        slot.calls_today += 1
        return Reservation(start - now)

    async def rate_limited(self, key: ApiKey, backoff_seconds: float) -> None:
        now = self._clock()
        today = datetime.fromtimestamp(now, UTC).date()
        slot = self.slots.setdefault(key.key_id, _Slot(next_allowed=now, day=today))
        slot.rate_limit_hits += 1
        slot.backoff_until = max(slot.backoff_until, now + backoff_seconds)

    async def record(self, key: ApiKey, endpoint: str, outcome: Outcome, latency_ms: float) -> None:
        self.calls[(key.key_id, endpoint, outcome)] += 1
