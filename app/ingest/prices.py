"""The ``prices`` job body and the breaker publisher (issue #8).

:class:`PriceState` lives as long as a leadership (in the job state): the price sources'
circuit breakers and their rate-limit rests. Each :func:`poll` asks every enabled source at
once (app.upstreams.prices) and appends one ``price_observations`` row per source, failures
included, in one transaction. Nothing is computed here: scores and the best price are
derived from the stored rows when the API is asked (app.prices).

:func:`publish_breakers` upserts the state of every breaker of the process (the ingestor's
explorer and RPC breakers, the price sources' breakers) into ``upstream_breakers`` and appends
their transitions, so API processes can show them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app import upstreams
from app.config import DEMO_KEY, Config
from app.ingest import wiring
from app.ingest.runtime import Ingestor
from app.store import breakers as breaker_store
from app.store import prices as price_store
from app.store.pool import Pool
from app.store.prices import PriceObservation
from app.upstreams import prices as price_clients
from app.upstreams._resilience import BreakerTransition

log = logging.getLogger(__name__)
TRANSITIONS_KEPT = timedelta(days=30)
OBSERVATIONS_KEPT = timedelta(days=90)  # SLA windows are 1 h and 24 h; the rest is history
PRUNE_EVERY_SECONDS = 3600.0
# Where the simulator serves each price API (app/simulator/app.py).
SIMULATOR_PATHS = {
    "coingecko": "/coingecko/api/v3",
    "coinmarketcap": "/cmc",
    "dexscreener": "/dexscreener",
    "coinpaprika": "/coinpaprika",
}


@dataclass
class PriceState:
    """What survives from one poll to the next: breakers and rate-limit rests."""

    breakers: upstreams.Breakers | None = None
    resting: dict[str, float] = field(default_factory=dict)
    pruned_at: float | None = None  # monotonic time of the last pruning of old observations

    def prune_due(self, now: float) -> bool:
        """True once per PRUNE_EVERY_SECONDS (and at the first poll), then records it."""
        if self.pruned_at is not None and now - self.pruned_at < PRUNE_EVERY_SECONDS:
            return False
        self.pruned_at = now
        return True

    def breakers_for(self, config: Config) -> upstreams.Breakers:
        if self.breakers is None:
            self.breakers = upstreams.Breakers(wiring.breaker_policy(config.settings))
        return self.breakers


def _url(config: Config, source: str) -> str:
    settings = config.settings
    if settings.simulator_url:
        return settings.simulator_url.rstrip("/") + SIMULATOR_PATHS[source]
    return {
        "coingecko": settings.price_coingecko_url,
        "coinmarketcap": settings.price_cmc_url,
        "dexscreener": settings.price_dexscreener_url,
        "coinpaprika": settings.price_coinpaprika_url,
    }[source]


def sources(config: Config) -> list[price_clients.PriceSource]:
    """The enabled sources, configured; CoinMarketCap is left out without a key."""
    settings, found = config.settings, []
    for name in settings.price_source_list:
        url = _url(config, name)
        if name == "coingecko":
            key = settings.price_coingecko_api_key
            secret = key.get_secret_value() if key else None
            found.append(price_clients.coingecko(url, settings.price_coingecko_id, secret))
        elif name == "coinmarketcap":
            cmc_key = _cmc_key(config)
            if cmc_key is None:
                log.warning("coinmarketcap skipped: TOKENPULSE_PRICE_CMC_API_KEY is not set")
                continue
            found.append(price_clients.coinmarketcap(url, settings.price_cmc_id, cmc_key))
        elif name == "dexscreener":
            tokens = {chain.token_address for chain in config.enabled_chains}
            found.append(price_clients.dexscreener(url, tokens | {config.token.address}))
        else:
            found.append(price_clients.coinpaprika(url, settings.price_coinpaprika_id))
    return found


def _cmc_key(config: Config) -> str | None:
    key = config.settings.price_cmc_api_key
    if key is not None:
        return key.get_secret_value()
    # The simulator accepts its demo key; no real deployment sets a simulator URL.
    return DEMO_KEY if config.settings.simulator_url else None


def observation(result: price_clients.PriceResult) -> PriceObservation:
    quote = result.quote
    return PriceObservation(
        observed_at=result.observed_at,
        source=result.source,
        ok=quote is not None,
        latency_ms=round(result.latency_ms, 3),
        price_usd=Decimal(quote.price_usd) if quote else None,
        outcome=result.outcome if quote else _failure(result.outcome),
        detail=result.detail,
        quoted_at=quote.quoted_at if quote else None,
        liquidity_usd=quote.liquidity_usd if quote else None,
    )


def _failure(outcome: str) -> str:
    return "error" if outcome == "ok" else outcome


async def poll(
    pool: Pool,
    config: Config,
    state: PriceState,
    transport: upstreams.Transport | None = None,
) -> list[PriceObservation]:
    """Poll every enabled source once and store one observation each (one transaction)."""
    found = sources(config)
    if not found:
        return []
    settings = config.settings
    http = upstreams.new_http_client(timeout=settings.price_timeout_seconds, transport=transport)
    async with http:
        client = price_clients.PriceClient(
            http,
            found,
            state.breakers_for(config),
            timeout_seconds=settings.price_timeout_seconds,
            max_attempts=settings.price_max_attempts,
            retry_base_seconds=min(1.0, settings.retry_base_seconds),
            secrets=config.secrets,
            resting=state.resting,
        )
        results = await client.poll()
    rows = [observation(result) for result in results]
    async with pool.connection() as conn, conn.transaction():
        await price_store.insert_observations(conn, rows)
        if state.prune_due(time.monotonic()):
            before = datetime.now(UTC) - OBSERVATIONS_KEPT
            await price_store.delete_observations_before(conn, before)
    failed = [row.source for row in rows if not row.ok]
    log.log(logging.WARNING if failed else logging.INFO, "prices polled",
            extra={"sources": len(rows), "failed": failed})  # fmt: skip
    return rows


def process_breakers(ingestor: Ingestor | None, state: PriceState) -> list[upstreams.Breakers]:
    """Every distinct Breakers of this worker: the ingestor's and the price sources'."""
    found: dict[int, upstreams.Breakers] = {}
    if ingestor is not None and ingestor.wiring is not None:
        for gateway in ingestor.wiring.gateways.values():
            found[id(gateway.breakers)] = gateway.breakers
    if state.breakers is not None:
        found[id(state.breakers)] = state.breakers
    return list(found.values())


async def publish_breakers(pool: Pool, sets: Iterable[upstreams.Breakers]) -> int:
    """Upsert every breaker's state and append the transitions since the last publish."""
    updates: list[breaker_store.BreakerUpdate] = []
    transitions: list[breaker_store.Transition] = []
    drained: list[tuple[upstreams.Breakers, list[BreakerTransition]]] = []
    for breakers in sets:
        moves = breakers.drain_transitions()
        drained.append((breakers, moves))
        transitions += [
            breaker_store.Transition(t.at, t.name, t.from_state, t.to_state) for t in moves
        ]
        counts = Counter(t.name for t in moves)
        updates += [_update(state, counts[state.name]) for state in breakers.states()]
    try:
        async with pool.connection() as conn, conn.transaction():
            await breaker_store.upsert_breakers(conn, updates, transitions)
            before = datetime.now(UTC) - TRANSITIONS_KEPT
            await breaker_store.delete_transitions_before(conn, before)
    except BaseException:
        # Not published (database down, job cancelled): count them at the next publish.
        for breakers, moves in drained:
            breakers.requeue(moves)
        raise
    return len(updates)


def _update(state: upstreams.BreakerState, new: int) -> breaker_store.BreakerUpdate:
    return breaker_store.BreakerUpdate(
        name=state.name,
        provider=state.provider,
        state=state.state,
        failures=state.failures,
        opened_at=state.opened_at,
        changed_at=state.changed_at or datetime.now(UTC),
        new_transitions=new,
    )
