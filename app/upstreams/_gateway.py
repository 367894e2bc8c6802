"""One provider's calls: key rotation, pacing, breaker, classification and retries.

A call loops over attempts. Each attempt takes a key from the pool, waits for that key's slot
(:class:`~app.upstreams._limiter.Limiter`), sends one request through the endpoint's breaker,
records the outcome in the ledger, and then:

- ok / empty: returns;
- rate limited: backs the key off (ledger and pool), counts it, tries again (another key if
  one is free, else the pool waits for the soonest);
- quota exhausted: puts the key aside until the UTC midnight reset, tries another key;
- permanent: a bad key is put aside for a day and another key tried; anything else raises;
- range too large: raises RangeTooLarge at once; the pipeline splits the range;
- transient: sleeps with jittered exponential back-off (or Retry-After) and tries again.

Range and quota refusals are never retried blindly: the same request would fail the same way.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeAlias

import httpx

from app.upstreams._budget import ApiKey, BudgetLedger, Priority, seconds_to_midnight
from app.upstreams._classify import Classified, Outcome, classify_response
from app.upstreams._keys import BackoffReason, KeyPool
from app.upstreams._limiter import Limiter
from app.upstreams._redact import install_log_filter, redact
from app.upstreams._resilience import Breakers, RetryPolicy
from app.upstreams.errors import (
    QuotaExhausted,
    RangeTooLarge,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
    refused,
)

log = logging.getLogger(__name__)
BuildRequest = Callable[[ApiKey], httpx.Request]
Interpret = Callable[[object], Classified]
INVALID_KEY_BACKOFF = 24 * 3600.0  # what the legacy ingester did with refused keys
# What callers outside this package may pass to new_http_client (tests route to the simulator
# in-process with httpx.ASGITransport) without importing httpx themselves.
Transport: TypeAlias = httpx.AsyncBaseTransport


def new_http_client(
    *, timeout: float = 30.0, transport: Transport | None = None
) -> httpx.AsyncClient:
    """The shared HTTP client (open it in the lifespan); installs log redaction first."""
    install_log_filter()
    return httpx.AsyncClient(
        timeout=timeout,
        transport=transport,
        headers={"user-agent": "tokenpulse"},
        follow_redirects=False,  # a redirect would carry the key to another host
    )


@dataclass(slots=True)
class Gateway:
    """Every call to one provider (or one RPC endpoint) goes through here."""

    name: str  # "etherscan", "explorer", "rpc:25": names breakers and error messages
    http: httpx.AsyncClient
    keys: KeyPool
    limiter: Limiter
    breakers: Breakers = field(default_factory=Breakers)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rand: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time  # for the UTC midnight quota reset

    @property
    def ledger(self) -> BudgetLedger:
        return self.limiter.ledger

    async def call(
        self,
        endpoint: str,
        build: BuildRequest,
        interpret: Interpret,
        priority: Priority,
        *,
        scope: str | None = None,
    ) -> Classified:
        """The OK/EMPTY result of ``endpoint``, or an UpstreamError after classification.

        ``scope`` (a chain id) gives the call a breaker of its own within a gateway shared by
        several chains: one chain's broken backend must not stop the others.
        """
        last: Classified | None = None
        attempt = 0
        # Unusable reservations send no request, so they do not use up attempts; each one
        # backs a key off past max_wait, so the pool runs dry (and raises) after one per key.
        while attempt < self.policy.max_attempts:
            key = await self.keys.acquire()
            reservation = await self.limiter.acquire(key, priority)
            if not self.limiter.usable(reservation):
                reason = BackoffReason.QUOTA_EXHAUSTED
                if not reservation.quota_exhausted:
                    reason = BackoffReason.HELD
                self.keys.back_off(key, reservation.wait_seconds, reason)
                continue
            attempt += 1
            last = await self._attempt(endpoint, key, build, interpret, scope)
            if last.succeeded:
                self.keys.succeeded(key)
                return last
            await self._handle(endpoint, key, last, attempt)
        raise self._give_up(endpoint, last)

    async def _attempt(
        self,
        endpoint: str,
        key: ApiKey,
        build: BuildRequest,
        interpret: Interpret,
        scope: str | None = None,
    ) -> Classified:
        async def send() -> Classified:
            started = self.clock()
            result = await self._send(build(key), interpret, key)
            latency_ms = (self.clock() - started) * 1000
            await self.ledger.record(key, endpoint, result.outcome, latency_ms)
            return result

        def failed(result: Classified) -> bool:
            return result.outcome is Outcome.TRANSIENT

        where = f"{self.name}:{scope}" if scope else self.name
        return await self.breakers.run(f"{where} {endpoint}", send, failed)

    async def _send(self, request: httpx.Request, interpret: Interpret, key: ApiKey) -> Classified:
        try:
            response = await self.http.send(request)
        except httpx.HTTPError as exc:
            # The exception text may hold the URL, hence the key: keep only a redacted reason.
            text = redact(f"{type(exc).__name__}: {exc}", [key.secret])
            return Classified(Outcome.TRANSIENT, reason=text)
        return classify_response(response, interpret)

    async def _handle(self, endpoint: str, key: ApiKey, result: Classified, attempt: int) -> None:
        """Act on a failed attempt: raise, or back off so the loop may try again."""
        outcome = result.outcome
        if outcome is Outcome.RANGE_TOO_LARGE:
            raise RangeTooLarge(
                result.reason,
                provider=self.name,
                endpoint=endpoint,
                suggested=result.suggested_range,
                max_span=result.max_span,
            )
        if outcome is Outcome.PERMANENT:
            if not result.key_problem or len(self.keys.keys) == 1:
                raise refused(result.reason, provider=self.name, endpoint=endpoint)
            self._log(logging.ERROR, "upstream refused key", endpoint, key, result)
            self.keys.back_off(key, INVALID_KEY_BACKOFF, BackoffReason.INVALID)
        elif outcome is Outcome.QUOTA_EXHAUSTED:
            until_reset = seconds_to_midnight(self.wall_clock())
            self._log(logging.WARNING, "upstream daily quota used", endpoint, key, result)
            await self.ledger.rate_limited(key, until_reset)
            self.keys.back_off(key, until_reset, BackoffReason.QUOTA_EXHAUSTED)
        elif outcome is Outcome.RATE_LIMITED:
            await self._rate_limited(endpoint, key, result)
        elif attempt < self.policy.max_attempts:
            delay = self.policy.delay(attempt, result.retry_after, self.rand)
            self._log(logging.INFO, "upstream retry", endpoint, key, result, delay=round(delay, 3))
            await self.sleep(delay)

    async def _rate_limited(self, endpoint: str, key: ApiKey, result: Classified) -> None:
        hits = self.keys.consecutive_hits(key) + 1
        backoff = self.policy.key_backoff(hits, result.retry_after, self.rand)
        self._log(logging.WARNING, "upstream rate limited", endpoint, key, result, backoff=backoff)
        await self.ledger.rate_limited(key, backoff)
        self.keys.back_off(key, backoff, BackoffReason.RATE_LIMITED)

    def _log(
        self,
        level: int,
        event: str,
        endpoint: str,
        key: ApiKey,
        result: Classified,
        **extra: object,
    ) -> None:
        # Key label and fingerprint only; the reason was redacted when it was classified.
        fields = {"upstream": self.name, "endpoint": endpoint, "key": key.label}
        fields |= {"key_id": key.key_id, "outcome": result.outcome.value, "reason": result.reason}
        log.log(level, event, extra=fields | extra)

    def _give_up(self, endpoint: str, last: Classified | None) -> UpstreamError:
        reason = last.reason if last else "no attempt made"
        message = f"gave up after {self.policy.max_attempts} attempt(s): {reason}"
        kind: type[UpstreamError] = UpstreamUnavailable
        if last is not None and last.outcome is Outcome.RATE_LIMITED:
            kind = RateLimited
        elif last is not None and last.outcome is Outcome.QUOTA_EXHAUSTED:
            kind = QuotaExhausted
        elif last is not None and last.outcome is Outcome.PERMANENT:
            return refused(message, provider=self.name, endpoint=endpoint)
        return kind(message, provider=self.name, endpoint=endpoint)
