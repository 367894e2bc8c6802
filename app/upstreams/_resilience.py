"""Retry timing (exponential back-off with full jitter, Retry-After) and circuit breakers.

Back-off follows upstreams.md §6: base 1 s, factor 2, full jitter, capped at 60 s. "Full
jitter" (a uniform draw from [0, backoff]) spreads the retries of many workers that failed
together, which a fixed exponential schedule would send back in lock-step.

Breakers are per provider+endpoint (aiobreaker), so one broken endpoint does not stop the
others. Only transient failures count towards opening one: a rate limit or a range refusal is
the upstream working as designed. Names read ``<provider>[:<chain or source>] <endpoint>``
(``etherscan:137 logs/getLogs``, ``rpc:25 rpc/eth_getLogs``, ``price:coingecko quote``).

Every state change is logged, counted and queued (:meth:`Breakers.drain_transitions`) so the
worker can publish states and transitions to the database for the API processes, which have
no breakers of their own (app.store.breakers).
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiobreaker import (
    CircuitBreaker,
    CircuitBreakerError,
    CircuitBreakerListener,
    CircuitBreakerState,
)

from app.upstreams.errors import CircuitOpen

T = TypeVar("T")
log = logging.getLogger(__name__)
MAX_PENDING_TRANSITIONS = 1000  # kept for the next publish; older ones are only counted


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5  # HTTP requests per call, the first included
    base_seconds: float = 1.0
    factor: float = 2.0
    cap_seconds: float = 60.0
    retry_after_cap_seconds: float = 120.0  # a server's Retry-After is honoured up to this

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")

    def ceiling(self, attempt: int) -> float:
        """The back-off bound after failed attempt number ``attempt`` (1-based)."""
        exponent = max(0, attempt - 1)
        # factor ** exponent overflows for absurd attempt numbers; the cap is long reached.
        if exponent > 64:
            return self.cap_seconds
        return min(self.cap_seconds, self.base_seconds * self.factor**exponent)

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to sleep after failed attempt ``attempt``: the server's word, else jitter."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.retry_after_cap_seconds)
        return rand() * self.ceiling(attempt)

    def key_backoff(
        self,
        hits: int,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """How long to rest a key after its ``hits``-th consecutive rate limit.

        1 s after the first hit, then exponential with "equal jitter" (half fixed, half
        random): unlike a retry delay it must never be near zero, or the key is hit again.
        """
        if retry_after is not None:
            return min(max(0.0, retry_after), self.retry_after_cap_seconds)
        ceiling = self.ceiling(hits)
        return ceiling if hits <= 1 else ceiling * (0.5 + 0.5 * rand())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP-date; None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient with zone-less ones
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    fail_max: int = 5  # consecutive transient failures that open the breaker
    reset_seconds: float = 30.0  # how long it stays open before one trial call


@dataclass(frozen=True, slots=True)
class BreakerState:
    """A breaker as health and metrics show it."""

    name: str  # "<provider>[:<scope>] <endpoint>"
    state: str  # closed | open | half_open
    failures: int
    provider: str = ""
    opened_at: datetime | None = None  # when it last opened (UTC), if it is not closed
    changed_at: datetime | None = None  # its last transition, else when first used
    transitions: int = 0  # state changes in this process


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    at: datetime
    name: str
    from_state: str
    to_state: str


def provider_of(name: str) -> str:
    """``etherscan`` from ``etherscan:137 logs/getLogs``."""
    return name.split(" ", 1)[0].split(":", 1)[0]


def _label(state: CircuitBreakerState) -> str:
    return {CircuitBreakerState.OPEN: "open", CircuitBreakerState.HALF_OPEN: "half_open"}.get(
        state, "closed"
    )


class _Recorder(CircuitBreakerListener):  # type: ignore[misc]
    """Hears every breaker's state changes: logs, counts and queues them."""

    def __init__(self, owner: Breakers) -> None:
        self.owner = owner

    def state_change(self, breaker: Any, old: Any, new: Any) -> None:
        if old is None or old.state == new.state:
            return
        self.owner._record(breaker.name, _label(old.state), _label(new.state))


class _CountedFailure(Exception):
    """Carries a failed result through aiobreaker, which only counts raised exceptions."""

    def __init__(self, result: object) -> None:
        super().__init__("transient upstream failure")
        self.result = result


class Breakers:
    """One circuit breaker per provider+endpoint, created on first use."""

    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._now = now
        self._recorder = _Recorder(self)
        self._changed: dict[str, datetime] = {}
        self._counts: dict[str, int] = {}
        self._pending: deque[BreakerTransition] = deque(maxlen=MAX_PENDING_TRANSITIONS)

    async def run(
        self, name: str, attempt: Callable[[], Awaitable[T]], failed: Callable[[T], bool]
    ) -> T:
        """Run ``attempt`` through the breaker ``name``; ``failed(result)`` counts a failure.

        Raises CircuitOpen when the breaker is open, or when this very failure opened it.
        """
        breaker = self._get(name)

        async def guarded() -> T:
            result = await attempt()
            if failed(result):
                raise _CountedFailure(result)
            return result

        try:
            return await breaker.call_async(guarded)  # type: ignore[no-any-return]
        except _CountedFailure as exc:
            return exc.result  # type: ignore[return-value]
        except CircuitBreakerError as exc:
            error = CircuitOpen(f"circuit breaker open: {name}")
            # The failure that opened it, if a call was made (None: refused without a call).
            cause = exc.__cause__
            error.result = cause.result if isinstance(cause, _CountedFailure) else None
            raise error from None

    def states(self) -> list[BreakerState]:
        """Every breaker's state, for health and metrics."""
        return [self._state(name, breaker) for name, breaker in sorted(self._breakers.items())]

    def state(self, name: str) -> str:
        breaker = self._breakers.get(name)
        return self._state(name, breaker).state if breaker else "closed"

    def transitions(self, name: str) -> int:
        """State changes of breaker ``name`` in this process."""
        return self._counts.get(name, 0)

    def drain_transitions(self) -> list[BreakerTransition]:
        """The transitions since the last drain, oldest first (for the worker to publish)."""
        found = list(self._pending)
        self._pending.clear()
        return found

    def requeue(self, transitions: list[BreakerTransition]) -> None:
        """Put drained transitions back (their publication failed), ahead of newer ones."""
        newer = list(self._pending)
        self._pending.clear()
        self._pending.extend([*transitions, *newer])

    def _record(self, name: str, old: str, new: str) -> None:
        at = self._now()
        self._changed[name] = at
        self._counts[name] = self._counts.get(name, 0) + 1
        self._pending.append(BreakerTransition(at, name, old, new))
        level = logging.WARNING if new == "open" else logging.INFO
        log.log(level, "circuit breaker " + new.replace("_", "-"),
                extra={"breaker": name, "from_state": old, "to_state": new})  # fmt: skip

    def _get(self, name: str) -> CircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = CircuitBreaker(
                fail_max=self.policy.fail_max,
                timeout_duration=timedelta(seconds=self.policy.reset_seconds),
                listeners=[self._recorder],
                name=name,
            )
            self._changed[name] = self._now()
        return breaker

    def _state(self, name: str, breaker: Any) -> BreakerState:
        state = _label(breaker.current_state)
        if state == "open" and self._reset_due(breaker):
            state = "half_open"  # aiobreaker moves there on the next call; report it already
        opened = breaker._state_storage.opened_at  # naive UTC (aiobreaker)
        return BreakerState(
            name=name,
            state=state,
            failures=int(breaker.fail_counter),
            provider=provider_of(name),
            opened_at=opened.replace(tzinfo=UTC) if opened and state != "closed" else None,
            changed_at=self._changed.get(name),
            transitions=self._counts.get(name, 0),
        )

    @staticmethod
    def _reset_due(breaker: Any) -> bool:
        opened_at = breaker._state_storage.opened_at  # aiobreaker keeps naive UTC here
        if opened_at is None:
            return False
        now = datetime.now(UTC).replace(tzinfo=None)
        return bool(now >= opened_at + breaker.timeout_duration)
