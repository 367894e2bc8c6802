"""Daily forecasts with 80 % prediction intervals; the method depends on the history's length.

docs/analytics.md gives the equations; in short:

``holt-winters`` (>= 14 days): additive Holt-Winters, ETS(A,A,A) with a weekly season (m = 7)
in error-correction form: forecast = level + trend + season[t mod 7]; after each day's error e
the level moves by alpha * e, the trend by beta * e, that weekday's season by gamma * e.
Initial states come from the first two weeks. alpha, beta, gamma are picked on :data:`GRID` by
the least sum of squared one-step errors (SSE). The k-step variance is that of ETS(A,A,A)
(Hyndman et al. 2008, class 1): sigma^2 * (1 + sum_{j<k} (alpha + beta*j + gamma*[j mod 7 = 0])^2)
with sigma^2 = SSE / (n - 3); the interval is the forecast +- 1.2816 sigma_k. At most the last
:data:`MAX_HISTORY` days are used.

``theil-sen`` (2..13 days): the line through the median of all pairwise slopes and the median
intercept, robust to a few outlying days. Interval: the least-squares prediction interval,
+- t(0.9, n-2) * sigma * sqrt(1 + 1/n + (x - mean x)^2 / Sxx), with sigma estimated robustly
(1.4826 * MAD of the residuals); none with 2 days.

``naive`` (1 day): that day's value, no interval. ``none`` (no activity): 0, no interval.

Forecasts and bounds are floored at 0 (counts and volumes are never negative).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.analytics import stats

SEASON = 7
SEASONAL_MIN_DAYS = 2 * SEASON
MAX_HISTORY = 26 * SEASON  # with alpha >= 0.05 a half-year-old day weighs under 1e-4
LEVEL = 0.8
# A coarse grid keeps a 90-day fit near 1 ms of CPython (30 runs of the recursion); a fine
# one forecast no better on simulated series (docs/analytics.md).
ALPHAS = (0.05, 0.15, 0.3, 0.5, 0.75)
BETAS = (0.0, 0.01, 0.05)
GAMMAS = (0.05, 0.2)
# Smoothest first: on a tie (a perfectly regular series) the least reactive parameters win.
GRID = tuple((a, b, g) for a in ALPHAS for b in BETAS for g in GAMMAS if b <= a and g <= 1 - a)


class Method(enum.StrEnum):
    NONE = "none"
    NAIVE = "naive"
    THEIL_SEN = "theil-sen"
    HOLT_WINTERS = "holt-winters"


@dataclass(frozen=True, slots=True)
class Point:
    day: date
    value: float
    lower: float | None  # None when the history cannot support an interval (< 3 days)
    upper: float | None


@dataclass(frozen=True, slots=True)
class Forecast:
    method: Method
    points: tuple[Point, ...]
    level: float = LEVEL
    parameters: Mapping[str, float] = field(default_factory=dict)  # fitted values, e.g. alpha


@dataclass(frozen=True, slots=True)
class _Model:
    """k (steps after the last history day) -> (mean, half-width of the interval or None)."""

    method: Method
    parameters: dict[str, float]
    mean: tuple[float, ...]  # k = 1..len
    half: tuple[float | None, ...]


def forecast(history: Sequence[float], last_day: date, first: date, horizon: int) -> Forecast:
    """Forecast the ``horizon`` days from ``first`` on, from ``history`` (one value per day,
    consecutive, ending with ``last_day``; ``first`` is after ``last_day``)."""
    skip = (first - last_day).days - 1
    model = _fit(list(history)[-MAX_HISTORY:], skip + horizon)
    points = []
    for k in range(skip + 1, skip + horizon + 1):
        mean, half = max(model.mean[k - 1], 0.0), model.half[k - 1]
        lower = None if half is None else max(model.mean[k - 1] - half, 0.0)
        upper = None if half is None else max(model.mean[k - 1] + half, 0.0)
        points.append(Point(last_day + timedelta(days=k), mean, lower, upper))
    return Forecast(model.method, tuple(points), LEVEL, model.parameters)


def _fit(y: list[float], steps: int) -> _Model:
    if not any(y):
        return _Model(Method.NONE, {}, (0.0,) * steps, (None,) * steps)
    if len(y) == 1:
        return _Model(Method.NAIVE, {}, (y[0],) * steps, (None,) * steps)
    if len(y) < SEASONAL_MIN_DAYS:
        return _theil_sen_model(y, steps)
    return _holt_winters_model(y, steps)


def theil_sen(y: Sequence[float]) -> tuple[float, float]:
    """(slope, intercept) of the Theil-Sen line through (i, y_i), i = 0..n-1 (n ≥ 2)."""
    n = len(y)
    slope = stats.median([(y[j] - y[i]) / (j - i) for i in range(n) for j in range(i + 1, n)])
    return slope, stats.median([y[i] - slope * i for i in range(n)])


def _theil_sen_model(y: list[float], steps: int) -> _Model:
    n = len(y)
    slope, intercept = theil_sen(y)
    sigma = stats.robust_sigma([y[i] - intercept - slope * i for i in range(n)])
    x_mean = (n - 1) / 2
    sxx = sum((i - x_mean) ** 2 for i in range(n))
    xs = [n - 1 + k for k in range(1, steps + 1)]
    factor = stats.t_80(n - 2) * sigma if n > 2 else None  # 2 points: no residual to learn from
    half = [
        None if factor is None else factor * math.sqrt(1 + 1 / n + (x - x_mean) ** 2 / sxx)
        for x in xs
    ]
    params = {"slope": slope, "intercept": intercept, "sigma": sigma}
    return _Model(Method.THEIL_SEN, params, tuple(intercept + slope * x for x in xs), tuple(half))


@dataclass(frozen=True, slots=True)
class _HoltState:
    sse: float
    level: float
    trend: float
    seasonal: tuple[float, ...]  # indexed by t mod 7


def holt_winters(
    y: Sequence[float], alpha: float, beta: float, gamma: float, bound: float = math.inf
) -> _HoltState:
    """Run the additive Holt-Winters recursion over ``y`` (≥ 14 values); stop early, with a
    partial SSE, as soon as the SSE exceeds ``bound`` (the grid search's best so far)."""
    week1, week2 = sum(y[:SEASON]) / SEASON, sum(y[SEASON : 2 * SEASON]) / SEASON
    trend = (week2 - week1) / SEASON
    level = week1 - trend * (SEASON + 1) / 2  # the level just before day 0
    centre = (SEASON - 1) / 2
    seasonal = [y[i] - week1 - trend * (i - centre) for i in range(SEASON)]
    sse, i = 0.0, 0
    for value in y:  # the hot loop of a request: plain locals, i = t mod 7 without a modulo
        s = seasonal[i]
        error = value - level - trend - s
        sse += error * error
        if sse > bound:
            break
        level += trend + alpha * error
        trend += beta * error
        seasonal[i] = s + gamma * error
        i = 0 if i == SEASON - 1 else i + 1
    return _HoltState(sse, level, trend, tuple(seasonal))


def _grid_search(y: Sequence[float]) -> tuple[_HoltState, tuple[float, float, float]]:
    best: tuple[_HoltState, tuple[float, float, float]] | None = None
    for params in GRID:
        state = holt_winters(y, *params, bound=best[0].sse if best else math.inf)
        if best is None or state.sse < best[0].sse:
            best = (state, params)
    assert best is not None  # GRID is not empty
    return best


def _holt_winters_model(y: list[float], steps: int) -> _Model:
    state, (alpha, beta, gamma) = _grid_search(y)
    n = len(y)
    sigma = math.sqrt(state.sse / (n - 3))
    mean = tuple(
        state.level + k * state.trend + state.seasonal[(n - 1 + k) % SEASON]
        for k in range(1, steps + 1)
    )
    half: list[float | None] = []
    spread = 1.0
    for k in range(1, steps + 1):
        half.append(stats.Z_80 * sigma * math.sqrt(spread))
        c = alpha + beta * k + (gamma if k % SEASON == 0 else 0.0)
        spread += c * c
    params = {"alpha": alpha, "beta": beta, "gamma": gamma, "sigma": sigma}
    return _Model(Method.HOLT_WINTERS, params, mean, tuple(half))
