"""A health score per price source, from its recent observations.

score = 0.4 x success rate + 0.2 x latency factor + 0.2 x freshness + 0.2 x agreement, each
in [0, 1], so a score explains itself: a source that answers every time, quickly, with a
fresh price that agrees with the others scores 1; one that always fails scores at most 0.2.

- success rate: ok observations / all observations in the window;
- latency factor: 1 / (1 + median latency / 2 s): 0.5 at a 2 s median;
- freshness: 1 - age of its last good price / the staleness limit (0 once stale);
- agreement: 1 - deviation from the cross-source median / the deviation limit (0 beyond).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

LATENCY_HALF_MS = 2000.0
WEIGHTS = (0.4, 0.2, 0.2, 0.2)  # success, latency, freshness, agreement


class Observation(Protocol):
    """What scoring reads of a stored observation (app.store.prices.PriceObservation)."""

    @property
    def observed_at(self) -> datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def latency_ms(self) -> float: ...
    @property
    def price_usd(self) -> Decimal | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def detail(self) -> str | None: ...


def success_rate(window: Sequence[Observation]) -> float | None:
    return sum(o.ok for o in window) / len(window) if window else None


def median_latency(window: Sequence[Observation]) -> float | None:
    return statistics.median(o.latency_ms for o in window) if window else None


def latency_factor(latency_ms: float | None) -> float:
    return 0.0 if latency_ms is None else 1.0 / (1.0 + max(0.0, latency_ms) / LATENCY_HALF_MS)


def freshness(age_seconds: float | None, stale_seconds: float) -> float:
    if age_seconds is None:
        return 0.0
    return max(0.0, 1.0 - max(0.0, age_seconds) / stale_seconds)


def agreement(deviation: float | None, max_deviation: float) -> float:
    return 0.0 if deviation is None else max(0.0, 1.0 - deviation / max_deviation)


def deviation(price: Decimal, reference: Decimal) -> float:
    """Relative distance of ``price`` from ``reference`` (0.05: 5 % away)."""
    return float(abs(price - reference) / reference)


def cross_median(prices: Sequence[Decimal]) -> Decimal | None:
    return statistics.median(prices) if prices else None


def score(success: float | None, latency: float, fresh: float, agree: float) -> float:
    parts = (success or 0.0, latency, fresh, agree)
    return round(sum(w * p for w, p in zip(WEIGHTS, parts, strict=True)), 4)
