"""Seeded price walks for the token and two majors, as each price source would report them.

The "true" price of an asset is a mean-reverting random walk with hourly steps from
``PRICE_EPOCH`` (linear between hours), a pure function of the seed. A source sees it ``lag``
seconds late (its cache or update period) and with its own small multiplicative noise per
minute, so sources disagree slightly, as the real ones do.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from app.simulator.clock import Clock

PRICE_EPOCH = 1_754_006_400  # 2025-08-01T00:00:00Z
WALK_BLOCK = 1024  # hours


@dataclass(frozen=True, slots=True)
class Asset:
    key: str
    name: str
    symbol: str
    coingecko_id: str
    cmc_id: int
    paprika_id: str
    base_price: float
    hourly_sigma: float
    circulating: float
    total_supply: float
    max_supply: float | None
    daily_volume: float  # USD, typical
    cmc_rank: int


ASSETS: tuple[Asset, ...] = (
    Asset("bazaars", "Bazaars", "BZR", "bazaars", 29_452, "bzr-bazaars", 0.1234, 0.012,
          56_105_556.748519213, 555_555_555.5555556, 555_555_555.5555556, 180_000, 1_472),
    Asset("bitcoin", "Bitcoin", "BTC", "bitcoin", 1, "btc-bitcoin", 104_000.0, 0.004,
          19_950_000, 19_950_000, 21_000_000, 38_000_000_000, 1),
    Asset("ethereum", "Ethereum", "ETH", "ethereum", 1027, "eth-ethereum", 3_900.0, 0.006,
          120_700_000, 120_700_000, None, 21_000_000_000, 2),
)  # fmt: skip
BY_KEY = {asset.key: asset for asset in ASSETS}


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    lag: float  # seconds behind the true price
    noise: float  # relative sigma of its per-minute noise


SOURCES = {
    source.name: source
    for source in (
        Source("coingecko", 60, 0.002),
        Source("coinmarketcap", 60, 0.002),
        Source("dexscreener", 0, 0.006),
        Source("coinpaprika", 300, 0.003),
    )
}


class PriceBook:
    def __init__(self, seed: int, clock: Clock) -> None:
        self._seed = seed
        self._clock = clock
        self._walks: dict[str, list[float]] = {asset.key: [] for asset in ASSETS}

    def true_price(self, asset: Asset, ts: float) -> float:
        hours = max(0.0, (ts - PRICE_EPOCH) / 3600)
        h = int(hours)
        walk = self._walk(asset, h + 1)
        x = walk[h] + (walk[h + 1] - walk[h]) * (hours - h)
        return asset.base_price * math.exp(x)

    def quote(self, source: str, asset: Asset, ts: float | None = None) -> float:
        """What ``source`` reports for ``asset`` at simulated time ``ts`` (default now)."""
        spec = SOURCES[source]
        seen = (self._clock.now() if ts is None else ts) - spec.lag
        minute = int(seen // 60)
        rng = random.Random(f"{self._seed}:{source}:{asset.key}:{minute}")
        return self.true_price(asset, seen) * (1 + rng.gauss(0.0, spec.noise))

    def change_24h(self, source: str, asset: Asset) -> float:
        """Percent change over 24 h as the source reports it."""
        now = self._clock.now()
        before = self.quote(source, asset, now - 86_400)
        return (self.quote(source, asset, now) / before - 1) * 100

    def volume_24h(self, asset: Asset) -> float:
        day = int(self._clock.now() // 86_400)
        rng = random.Random(f"{self._seed}:volume:{asset.key}:{day}")
        return asset.daily_volume * rng.lognormvariate(0.0, 0.3)

    def _walk(self, asset: Asset, hour: int) -> list[float]:
        walk = self._walks[asset.key]
        if len(walk) > hour:
            return walk
        if not walk:
            walk.append(0.0)
        while len(walk) <= hour:
            # Whole blocks, each from its own RNG, so the walk never depends on query order.
            block = (len(walk) - 1) // WALK_BLOCK
            rng = random.Random(f"{self._seed}:walk:{asset.key}:{block}")
            for _ in range(WALK_BLOCK):
                x = walk[-1]
                # Mean reversion keeps years of walk in a plausible band around the base price.
                walk.append(x + rng.gauss(0.0, asset.hourly_sigma) - 0.002 * x)
        return walk
