"""Price source clients: CoinGecko, CoinMarketCap, DexScreener and CoinPaprika.

:class:`PriceClient` polls each configured :class:`PriceSource` and returns one
:class:`PriceResult` per source, success or not, for the ``prices`` job to store. Each call:

- goes through the source's circuit breaker (``price:<source> <endpoint>`` in the process's
  :class:`~app.upstreams._resilience.Breakers`): timeouts, connection errors, 5xx and
  malformed answers count towards opening it; an open breaker answers ``breaker_open``
  without a request;
- has its own timeout, and is retried (a short jittered back-off) after a timeout, a
  connection error or a 5xx, at most ``max_attempts`` requests per poll;
- after a 429 rests the source until its ``Retry-After`` (capped) instead of retrying:
  polls meanwhile answer ``rate_limited`` without a request. Prices are polled about once a
  minute, far below every source's limit (upstreams.md §6), so the per-key budget machinery
  of the explorers (ledger, key pools) would add nothing here.

Outcomes: ``ok``, ``http_error``, ``timeout``, ``rate_limited``, ``invalid`` (garbage:
see app.upstreams.price_parse), ``breaker_open``. Failure details are redacted.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import httpx

from app.upstreams import price_parse
from app.upstreams._redact import redact
from app.upstreams._resilience import Breakers, parse_retry_after
from app.upstreams.errors import CircuitOpen
from app.upstreams.price_parse import InvalidQuote, Quote

RETRY_AFTER_CAP_SECONDS = 600.0
_FAILURES = frozenset({"timeout", "http_error", "invalid"})  # what a breaker counts


@dataclass(frozen=True, slots=True)
class PriceSource:
    """One source: where to ask (``url``, ``params``, ``headers``) and how to read it."""

    name: str  # coingecko, coinmarketcap, dexscreener, coinpaprika
    endpoint: str  # names the breaker, e.g. simple/price
    url: str
    parse: Callable[[object], Quote]
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold a key


@dataclass(frozen=True, slots=True)
class PriceResult:
    """One source's answer to one poll."""

    source: str
    observed_at: datetime
    latency_ms: float
    outcome: str
    quote: Quote | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.quote is not None


@dataclass(frozen=True, slots=True)
class _Attempt:
    outcome: str
    quote: Quote | None = None
    detail: str | None = None
    retry_after: float | None = None
    retryable: bool = False


def coingecko(base_url: str, coin_id: str, api_key: str | None = None) -> PriceSource:
    headers = {}
    if api_key:
        pro = "pro-api." in base_url
        headers["x-cg-pro-api-key" if pro else "x-cg-demo-api-key"] = api_key
    params = {"ids": coin_id, "vs_currencies": "usd", "include_last_updated_at": "true"}
    return PriceSource(
        "coingecko",
        "simple/price",
        f"{base_url.rstrip('/')}/simple/price",
        partial(price_parse.coingecko, coin_id=coin_id),
        params,
        headers,
    )


def coinmarketcap(base_url: str, cmc_id: int, api_key: str) -> PriceSource:
    return PriceSource(
        "coinmarketcap",
        "v2/cryptocurrency/quotes/latest",
        f"{base_url.rstrip('/')}/v2/cryptocurrency/quotes/latest",
        partial(price_parse.coinmarketcap, cmc_id=cmc_id),
        {"id": str(cmc_id), "convert": "USD"},
        {"X-CMC_PRO_API_KEY": api_key, "accept": "application/json"},
    )


def dexscreener(base_url: str, tokens: Collection[str]) -> PriceSource:
    wanted = sorted({token.lower() for token in tokens})[:30]  # the endpoint takes 30
    return PriceSource(
        "dexscreener",
        "latest/dex/tokens",
        f"{base_url.rstrip('/')}/latest/dex/tokens/{','.join(wanted)}",
        partial(price_parse.dexscreener, tokens=frozenset(wanted)),
    )


def coinpaprika(base_url: str, coin_id: str) -> PriceSource:
    return PriceSource(
        "coinpaprika",
        "v1/tickers",
        f"{base_url.rstrip('/')}/v1/tickers/{coin_id}",
        partial(price_parse.coinpaprika, coin_id=coin_id),
    )


def breaker_name(source: PriceSource) -> str:
    """``price:coingecko simple/price``: the source's breaker in the process's Breakers."""
    return f"price:{source.name} {source.endpoint}"


@dataclass
class PriceClient:
    """Polls every source concurrently; one result per source, never an exception."""

    http: httpx.AsyncClient
    sources: Sequence[PriceSource]
    breakers: Breakers
    timeout_seconds: float = 10.0
    max_attempts: int = 2
    retry_base_seconds: float = 0.5
    secrets: Sequence[str] = field(default=(), repr=False)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    rand: Callable[[], float] = random.random
    # source -> clock time until which it rests after a 429; share it between clients.
    resting: dict[str, float] = field(default_factory=dict)

    async def poll(self) -> list[PriceResult]:
        return list(await asyncio.gather(*(self.fetch(source) for source in self.sources)))

    async def fetch(self, source: PriceSource) -> PriceResult:
        observed_at, started = self.now(), self.clock()
        found = await self._attempts(source)
        latency = (self.clock() - started) * 1000
        return PriceResult(
            source.name, observed_at, max(0.0, latency), found.outcome, found.quote, found.detail
        )

    async def _attempts(self, source: PriceSource) -> _Attempt:
        resting = self.resting.get(source.name, 0.0) - self.clock()
        if resting > 0:
            return _Attempt("rate_limited", detail=f"resting {resting:.0f} s after a 429")
        found = _Attempt("error", detail="no attempt made")
        for attempt in range(1, self.max_attempts + 1):
            found = await self._guarded(source)
            if found.outcome == "rate_limited":
                wait = min(found.retry_after or 60.0, RETRY_AFTER_CAP_SECONDS)
                self.resting[source.name] = self.clock() + wait
            opened = self.breakers.state(breaker_name(source)) == "open"
            if not found.retryable or attempt == self.max_attempts or opened:
                return found
            await self.sleep(self.rand() * self.retry_base_seconds * 2 ** (attempt - 1))
        return found

    async def _guarded(self, source: PriceSource) -> _Attempt:
        try:
            return await self.breakers.run(
                breaker_name(source), partial(self._once, source), lambda a: a.outcome in _FAILURES
            )
        except CircuitOpen as exc:
            if isinstance(exc.result, _Attempt):  # this very failure opened it
                return exc.result
            return _Attempt("breaker_open", detail="circuit breaker open")

    async def _once(self, source: PriceSource) -> _Attempt:
        request = self.http.build_request(
            "GET", source.url, params=dict(source.params), headers=dict(source.headers),
            timeout=self.timeout_seconds,
        )  # fmt: skip
        try:
            response = await self.http.send(request)
        except httpx.TimeoutException as exc:
            return _Attempt("timeout", detail=self._text(exc), retryable=True)
        except httpx.HTTPError as exc:
            return _Attempt("http_error", detail=self._text(exc), retryable=True)
        return self._read(source, response)

    def _read(self, source: PriceSource, response: httpx.Response) -> _Attempt:
        status = response.status_code
        if status == 429:
            wait = parse_retry_after(response.headers.get("retry-after"))
            return _Attempt("rate_limited", detail="HTTP 429", retry_after=wait)
        if status >= 500:
            return _Attempt("http_error", detail=f"HTTP {status}", retryable=True)
        if status >= 400:
            return _Attempt("http_error", detail=f"HTTP {status}: {self._body(response)}")
        try:
            return _Attempt("ok", quote=source.parse(json.loads(response.content)))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _Attempt("invalid", detail="malformed JSON")
        except InvalidQuote as exc:
            return _Attempt("invalid", detail=self._text(exc))

    def _body(self, response: httpx.Response) -> str:
        return self._text(response.text[:200])

    def _text(self, what: object) -> str:
        text = what if isinstance(what, str) else f"{type(what).__name__}: {what}"
        return redact(text, self.secrets)
