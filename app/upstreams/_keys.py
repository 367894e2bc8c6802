"""Rotation over a provider's keys, skipping keys that are backed off.

Round-robin spreads calls across keys; a key that was rate-limited, ran out of quota or was
refused as invalid is skipped until its back-off ends. When every key is backed off the pool
waits for the one that frees up soonest, unless that is longer than ``max_wait``: then the
caller gets the error matching why that key is out (quota, refused, rate limited), so a
pipeline does not sleep for hours holding a worker.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from app.upstreams._budget import ApiKey
from app.upstreams.errors import QuotaExhausted, RateLimited, UpstreamError, UpstreamRefused


class BackoffReason(enum.StrEnum):
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    INVALID = "invalid"  # the provider refused the key itself
    HELD = "held"  # the shared ledger holds it back (another process saw it limited)


_ERRORS: dict[BackoffReason, type[UpstreamError]] = {
    BackoffReason.RATE_LIMITED: RateLimited,
    BackoffReason.QUOTA_EXHAUSTED: QuotaExhausted,
    BackoffReason.INVALID: UpstreamRefused,
    BackoffReason.HELD: RateLimited,
}


@dataclass(slots=True)
class _State:
    until: float = 0.0
    reason: BackoffReason | None = None
    consecutive_hits: int = 0  # rate limits since the last success: drives the back-off
    rate_limit_hits: int = 0


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """What health and metrics show about a key (never the key itself)."""

    label: str
    key_id: str
    backed_off_seconds: float
    reason: str | None
    rate_limit_hits: int


class KeyPool:
    def __init__(
        self,
        keys: Sequence[ApiKey],
        *,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not keys:
            raise ValueError("a KeyPool needs at least one key")
        self.keys = tuple(keys)
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._states = {key.key_id: _State() for key in self.keys}
        self._cursor = 0

    def __repr__(self) -> str:
        return f"KeyPool({', '.join(key.label for key in self.keys)})"

    async def acquire(self) -> ApiKey:
        """The next usable key in rotation; may wait up to ``max_wait`` for one."""
        now = self._clock()
        for step in range(len(self.keys)):
            index = (self._cursor + step) % len(self.keys)
            if self._states[self.keys[index].key_id].until <= now:
                return self._take(index)
        index = min(range(len(self.keys)), key=lambda i: self._states[self.keys[i].key_id].until)
        state = self._states[self.keys[index].key_id]
        wait = state.until - now
        if wait > self.max_wait:
            raise self._exhausted_error(state, wait)
        await self._sleep(wait)
        return self._take(index)

    def back_off(self, key: ApiKey, seconds: float, reason: BackoffReason) -> None:
        state = self._states[key.key_id]
        state.until = max(state.until, self._clock() + seconds)
        state.reason = reason
        if reason is BackoffReason.RATE_LIMITED:
            state.consecutive_hits += 1
            state.rate_limit_hits += 1

    def succeeded(self, key: ApiKey) -> None:
        self._states[key.key_id].consecutive_hits = 0

    def consecutive_hits(self, key: ApiKey) -> int:
        return self._states[key.key_id].consecutive_hits

    def usable(self) -> int:
        """How many keys are usable right now."""
        now = self._clock()
        return sum(1 for state in self._states.values() if state.until <= now)

    def status(self) -> list[KeyStatus]:
        now = self._clock()
        return [
            KeyStatus(
                label=key.label,
                key_id=key.key_id,
                backed_off_seconds=max(0.0, state.until - now),
                reason=state.reason.value if state.reason and state.until > now else None,
                rate_limit_hits=state.rate_limit_hits,
            )
            for key in self.keys
            for state in (self._states[key.key_id],)
        ]

    def _take(self, index: int) -> ApiKey:
        self._cursor = (index + 1) % len(self.keys)
        return self.keys[index]

    def _exhausted_error(self, state: _State, wait: float) -> UpstreamError:
        reason = state.reason or BackoffReason.RATE_LIMITED
        return _ERRORS[reason](
            f"all {len(self.keys)} key(s) backed off ({reason.value}); next free in {wait:.0f}s",
            provider=self.keys[0].provider,
        )
