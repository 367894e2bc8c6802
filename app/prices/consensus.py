"""The best price: a robust consensus of the healthy sources.

Candidates are the sources with a fresh good price (newer than the staleness limit) whose
breaker is not open. Around each candidate's price, its *cluster* is every candidate within
the deviation limit of it; the cluster with the largest total score wins (ties: more
members, then the better score), and the best price is the score-weighted median of that
cluster. Everything outside it is excluded as ``deviation``: with four sources one wildly
wrong source is outvoted, and with two that disagree the healthier one is believed, not
their midpoint. DexScreener's own price is already the liquidity-weighted median of the
token's pairs (app.upstreams.price_parse).

When no source has a fresh price, the same consensus over every source's *last* good price
is the last-known-good, marked stale with its age; only when no source ever answered is
there no price at all.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.prices import scoring
from app.prices.scoring import Observation

MIN_WEIGHT = 0.01  # so that a candidate with a zero score still counts as a vote


@dataclass(frozen=True, slots=True)
class PricePolicy:
    stale_seconds: float = 600.0  # a last good price older than this is not fresh
    max_deviation: float = 0.05  # relative distance that makes a price an outlier


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: str
    price_usd: Decimal | None  # its last good price
    observed_at: datetime | None  # when that price was observed
    age_seconds: float | None
    fresh: bool
    success_rate: float | None  # over the window
    latency_ms: float | None  # median over the window
    deviation: float | None  # from the cross-source median of fresh prices
    score: float
    last_outcome: str | None
    last_detail: str | None
    last_at: datetime | None
    breaker: str | None  # closed, open, half_open; None when unknown
    used: bool  # part of the best price
    excluded: str | None  # why not: no_price, stale, breaker_open, deviation


@dataclass(frozen=True, slots=True)
class BestPrice:
    price_usd: Decimal
    sources: tuple[str, ...]
    observed_at: datetime  # the newest observation it is made of
    age_seconds: float
    stale: bool  # no fresh price: this is the last-known-good


@dataclass(frozen=True, slots=True)
class PriceView:
    best: BestPrice | None
    sources: tuple[SourceHealth, ...]


@dataclass(frozen=True, slots=True)
class _Candidate:
    source: str
    price: Decimal
    weight: float
    observed_at: datetime


def assess(
    window: Sequence[Observation],
    last_good: Sequence[Observation],
    breakers: Mapping[str, str],
    now: datetime,
    policy: PricePolicy,
    expected: Sequence[str] = (),
) -> PriceView:
    """Scores, exclusions and the best price from a window of observations (newest first
    or not) and each source's last good observation."""
    by_source: dict[str, list[Observation]] = defaultdict(list)
    for obs in window:
        by_source[obs.source].append(obs)
    good = {obs.source: obs for obs in last_good if obs.ok and obs.price_usd is not None}
    names = sorted(set(expected) | set(by_source) | set(good))
    ages = {name: (now - obs.observed_at).total_seconds() for name, obs in good.items()}
    fresh = {name for name, age in ages.items() if age <= policy.stale_seconds}
    median = scoring.cross_median([_price(good[name]) for name in sorted(fresh)])
    partial = {
        name: _partial(name, by_source[name], good.get(name), ages.get(name), median, policy)
        for name in names
    }
    candidates = [
        _Candidate(name, _price(good[name]), max(partial[name].score, MIN_WEIGHT),
                   good[name].observed_at)
        for name in names
        if name in fresh and breakers.get(name) != "open"
    ]  # fmt: skip
    stale = not candidates
    if stale:  # last-known-good: every source's last good price, whatever its age
        candidates = [
            _Candidate(name, _price(obs), max(partial[name].score, MIN_WEIGHT), obs.observed_at)
            for name, obs in sorted(good.items())
        ]
    chosen = _cluster(candidates, policy.max_deviation)
    best = _best(chosen, now, stale) if chosen else None
    used = {c.source for c in chosen}
    sources = tuple(
        _final(partial[name], name in fresh, breakers.get(name), used, stale) for name in names
    )
    return PriceView(best, sources)


def _price(obs: Observation) -> Decimal:
    assert obs.price_usd is not None  # only good observations get here
    return obs.price_usd


def _partial(
    name: str,
    window: list[Observation],
    good: Observation | None,
    age: float | None,
    median: Decimal | None,
    policy: PricePolicy,
) -> SourceHealth:
    newest = max(window, key=lambda o: o.observed_at) if window else None
    deviation = None
    # Deviation is measured for fresh prices only: an old price may differ for good reason.
    if good is not None and median is not None and age is not None and age <= policy.stale_seconds:
        deviation = scoring.deviation(_price(good), median)
    success, latency = scoring.success_rate(window), scoring.median_latency(window)
    score = scoring.score(
        success,
        scoring.latency_factor(latency),
        scoring.freshness(age, policy.stale_seconds),
        scoring.agreement(deviation, policy.max_deviation),
    )
    return SourceHealth(
        source=name,
        price_usd=good.price_usd if good else None,
        observed_at=good.observed_at if good else None,
        age_seconds=age,
        fresh=False,
        success_rate=success,
        latency_ms=latency,
        deviation=deviation,
        score=score,
        last_outcome=newest.outcome if newest else None,
        last_detail=newest.detail if newest else None,
        last_at=newest.observed_at if newest else None,
        breaker=None,
        used=False,
        excluded=None,
    )


def _final(
    health: SourceHealth, fresh: bool, breaker: str | None, used: set[str], stale: bool
) -> SourceHealth:
    excluded = None
    if health.source not in used:
        if health.price_usd is None:
            excluded = "no_price"
        elif not fresh and not stale:
            excluded = "stale"
        elif breaker == "open" and not stale:
            excluded = "breaker_open"
        else:
            excluded = "deviation"
    return dataclasses.replace(
        health, fresh=fresh, breaker=breaker, used=health.source in used, excluded=excluded
    )


def _cluster(candidates: list[_Candidate], max_deviation: float) -> list[_Candidate]:
    """The candidates around the price with the most weight within ``max_deviation``."""
    best: list[_Candidate] = []
    best_key: tuple[float, int, float] = (-1.0, 0, -1.0)
    for centre in candidates:
        members = [
            c for c in candidates if scoring.deviation(c.price, centre.price) <= max_deviation
        ]
        key = (round(sum(c.weight for c in members), 9), len(members), centre.weight)
        if key > best_key:
            best, best_key = members, key
    return best


def _best(chosen: list[_Candidate], now: datetime, stale: bool) -> BestPrice:
    ordered = sorted(chosen, key=lambda c: c.price)
    half = sum(c.weight for c in ordered) / 2
    running, price = 0.0, ordered[-1].price
    for candidate in ordered:
        running += candidate.weight
        if running >= half:
            price = candidate.price
            break
    newest = max(c.observed_at for c in chosen)
    return BestPrice(
        price_usd=price,
        sources=tuple(sorted(c.source for c in chosen)),
        observed_at=newest,
        age_seconds=max(0.0, (now - newest).total_seconds()),
        stale=stale,
    )
