"""Pure price logic: health scores, outliers excluded by deviation, stale last-known-good."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.prices import PricePolicy, PriceView, assess, scoring

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
POLICY = PricePolicy(stale_seconds=600, max_deviation=0.05)


@dataclass(frozen=True)
class Obs:
    source: str
    observed_at: datetime
    ok: bool
    latency_ms: float
    price_usd: Decimal | None
    outcome: str
    detail: str | None = None


def good(source: str, price: str, ago: float = 30, latency: float = 100) -> Obs:
    return Obs(source, NOW - timedelta(seconds=ago), True, latency, Decimal(price), "ok")


def bad(source: str, ago: float = 10, outcome: str = "timeout") -> Obs:
    return Obs(source, NOW - timedelta(seconds=ago), False, 10_000, None, outcome, "x")


def run(
    window: list[Obs], breakers: dict[str, str] | None = None, expected: list[str] | None = None
) -> PriceView:
    last: dict[str, Obs] = {}
    for obs in sorted(window, key=lambda o: o.observed_at):
        if obs.ok:
            last[obs.source] = obs
    return assess(window, list(last.values()), breakers or {}, NOW, POLICY, expected or ())


FOUR = ["coingecko", "coinmarketcap", "dexscreener", "coinpaprika"]


def test_all_healthy_sources_agree() -> None:
    view = run([good("coingecko", "0.1230"), good("coinmarketcap", "0.1232"),
                good("dexscreener", "0.1229"), good("coinpaprika", "0.1231", ago=300)])  # fmt: skip
    assert view.best is not None
    assert view.best.sources == tuple(sorted(FOUR))
    assert Decimal("0.1229") <= view.best.price_usd <= Decimal("0.1232")
    assert not view.best.stale
    assert view.best.age_seconds == pytest.approx(30)
    assert all(s.used and s.excluded is None and s.fresh for s in view.sources)
    paprika = next(s for s in view.sources if s.source == "coinpaprika")
    gecko = next(s for s in view.sources if s.source == "coingecko")
    assert paprika.score < gecko.score  # older price, lower freshness


def test_wildly_wrong_source_is_excluded_by_deviation() -> None:
    view = run([good("coingecko", "0.123"), good("coinmarketcap", "123.0"),
                good("dexscreener", "0.1231"), good("coinpaprika", "0.1229")])  # fmt: skip
    assert view.best is not None
    assert "coinmarketcap" not in view.best.sources
    assert Decimal("0.1229") <= view.best.price_usd <= Decimal("0.1231")
    cmc = next(s for s in view.sources if s.source == "coinmarketcap")
    assert (cmc.used, cmc.excluded) == (False, "deviation")
    assert cmc.deviation is not None
    assert cmc.deviation > 100
    assert cmc.score < min(s.score for s in view.sources if s.used)


def test_one_source_down_does_not_stop_the_others() -> None:
    window = [bad("coingecko", ago=5), bad("coingecko", ago=65), bad("coingecko", ago=125),
              good("dexscreener", "0.2"), good("coinpaprika", "0.201")]  # fmt: skip
    view = run(window, expected=FOUR)
    assert view.best is not None
    assert view.best.sources == ("coinpaprika", "dexscreener")
    by = {s.source: s for s in view.sources}
    assert by["coingecko"].excluded == "no_price"
    assert by["coingecko"].success_rate == 0
    assert by["coingecko"].last_outcome == "timeout"
    assert by["coinmarketcap"].last_outcome is None  # expected, never polled
    assert by["coinmarketcap"].score == 0


def test_open_breaker_excludes_a_fresh_price() -> None:
    view = run([good("coingecko", "0.2"), good("dexscreener", "0.2")], {"coingecko": "open"})
    assert view.best is not None
    assert view.best.sources == ("dexscreener",)
    by = {s.source: s for s in view.sources}
    assert (by["coingecko"].excluded, by["coingecko"].breaker) == ("breaker_open", "open")


def test_stale_source_is_not_used_while_a_fresh_one_exists() -> None:
    view = run([good("coingecko", "0.2", ago=5000), good("dexscreener", "0.3")])
    assert view.best is not None
    assert view.best.sources == ("dexscreener",)
    assert {s.source: s.excluded for s in view.sources}["coingecko"] == "stale"


def test_all_down_serves_last_known_good_marked_stale() -> None:
    window = [good("coingecko", "0.2", ago=4000), good("dexscreener", "0.201", ago=3000),
              bad("coingecko"), bad("dexscreener", outcome="breaker_open")]  # fmt: skip
    view = run(window, {"dexscreener": "open"})
    assert view.best is not None
    assert view.best.stale
    assert view.best.sources == ("coingecko", "dexscreener")
    assert view.best.age_seconds == pytest.approx(3000)
    assert view.best.price_usd in (Decimal("0.2"), Decimal("0.201"))


def test_no_price_ever_means_no_best() -> None:
    view = run([bad("coingecko"), bad("dexscreener")], expected=FOUR)
    assert view.best is None
    assert [s.source for s in view.sources] == sorted(FOUR)
    assert all(s.excluded == "no_price" for s in view.sources)


def test_two_disagreeing_sources_believe_the_healthier_not_the_midpoint() -> None:
    window = [good("coingecko", "0.2", latency=50), good("coingecko", "0.2", ago=90),
              good("dexscreener", "2.0", latency=50), bad("dexscreener", ago=90),
              bad("dexscreener", ago=150)]  # fmt: skip
    view = run(window)
    assert view.best is not None
    assert view.best.price_usd == Decimal("0.2")
    assert view.best.sources == ("coingecko",)


def test_weighted_median_leans_on_the_better_scores() -> None:
    # Three close prices: the best price is one of them, never an average.
    view = run([good("a", "1.00"), good("b", "1.02"), good("c", "1.04", latency=30_000)])
    assert view.best is not None
    assert view.best.price_usd in (Decimal("1.00"), Decimal("1.02"))


def test_score_parts() -> None:
    assert scoring.score(1.0, 1.0, 1.0, 1.0) == 1.0
    assert scoring.score(None, 0, 0, 0) == 0
    assert scoring.latency_factor(2000) == pytest.approx(0.5)
    assert scoring.latency_factor(None) == 0
    assert scoring.freshness(300, 600) == pytest.approx(0.5)
    assert scoring.freshness(900, 600) == 0
    assert scoring.agreement(0.025, 0.05) == pytest.approx(0.5)
    assert scoring.agreement(1.0, 0.05) == 0
    assert scoring.deviation(Decimal("110"), Decimal("100")) == pytest.approx(0.1)
    assert scoring.cross_median([]) is None
