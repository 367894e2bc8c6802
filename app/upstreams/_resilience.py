"""Retry timing (exponential back-off with full jitter, Retry-After) and circuit breakers.

Back-off follows upstreams.md §6: base 1 s, factor 2, full jitter, capped at 60 s. "Full
jitter" (a uniform draw from [0, backoff]) spreads the retries of many workers that failed
together, which a fixed exponential schedule would send back in lock-step.

Breakers are per provider+endpoint (aiobreaker), so one broken endpoint does not stop the
others. Only transient failures count towards opening one: a rate limit or a range refusal is
the upstream working as designed.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiobreaker import CircuitBreaker, CircuitBreakerError, CircuitBreakerState

from app.upstreams.errors import CircuitOpen

T = TypeVar("T")


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

    name: str  # "<provider> <endpoint>"
    state: str  # closed | open | half_open
    failures: int


class _CountedFailure(Exception):
    """Carries a failed result through aiobreaker, which only counts raised exceptions."""

    def __init__(self, result: object) -> None:
        super().__init__("transient upstream failure")
        self.result = result


class Breakers:
    """One circuit breaker per provider+endpoint, created on first use."""

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or BreakerPolicy()
        self._breakers: dict[str, CircuitBreaker] = {}

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
        except CircuitBreakerError:
            raise CircuitOpen(f"circuit breaker open: {name}") from None

    def states(self) -> list[BreakerState]:
        """Every breaker's state, for health and metrics."""
        return [self._state(name, breaker) for name, breaker in sorted(self._breakers.items())]

    def state(self, name: str) -> str:
        breaker = self._breakers.get(name)
        return self._state(name, breaker).state if breaker else "closed"

    def _get(self, name: str) -> CircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = CircuitBreaker(
                fail_max=self.policy.fail_max,
                timeout_duration=timedelta(seconds=self.policy.reset_seconds),
                name=name,
            )
        return breaker

    def _state(self, name: str, breaker: Any) -> BreakerState:
        current = breaker.current_state
        state = {
            CircuitBreakerState.OPEN: "open",
            CircuitBreakerState.HALF_OPEN: "half_open",
        }.get(current, "closed")
        if state == "open" and self._reset_due(breaker):
            state = "half_open"  # aiobreaker moves there on the next call; report it already
        return BreakerState(name=name, state=state, failures=int(breaker.fail_counter))

    @staticmethod
    def _reset_due(breaker: Any) -> bool:
        opened_at = breaker._state_storage.opened_at  # aiobreaker keeps naive UTC here
        if opened_at is None:
            return False
        now = datetime.now(UTC).replace(tzinfo=None)
        return bool(now >= opened_at + breaker.timeout_duration)
