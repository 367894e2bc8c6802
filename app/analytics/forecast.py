"""Daily forecasts with 80 % prediction intervals; the method depends on the history's length.

docs/analytics.md gives the equations; in short:

Exponential smoothing (>= 14 days, app.analytics.smoothing): level, trend and weekday effects
updated by each day's one-step error, in one of four forms (``exponential-smoothing``,
``holt``, ``seasonal``, ``holt-winters``) chosen by AICc, the parameters by least squares on a
grid. The k-step variance is that of ETS with additive errors (Hyndman et al. 2008, class 1):
sigma^2 * (1 + sum_{j<k} (alpha + beta*j + gamma*[j mod 7 = 0])^2); the interval is the forecast
+- 1.2816 sigma_k. At most the last :data:`MAX_HISTORY` days are used.

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

from app.analytics import smoothing, stats

SEASONAL_MIN_DAYS = 2 * smoothing.SEASON  # two weeks to initialise the weekday effects
MAX_HISTORY = 26 * smoothing.SEASON  # with alpha >= 0.05 a half-year-old day weighs under 1e-4
LEVEL = 0.8


class Method(enum.StrEnum):
    NONE = "none"
    NAIVE = "naive"
    THEIL_SEN = "theil-sen"
    # Exponential smoothing (app.analytics.smoothing), by the form AICc picked:
    EXPONENTIAL_SMOOTHING = "exponential-smoothing"
    HOLT = "holt"
    SEASONAL = "seasonal"
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
    if first <= last_day:
        raise ValueError(f"the forecast starts ({first}) after the history ends ({last_day})")
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
    return _smoothing_model(y, steps)


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


def _smoothing_model(y: list[float], steps: int) -> _Model:
    best = smoothing.fit(y)
    ks = range(1, steps + 1)
    half = tuple(stats.Z_80 * best.sigma * math.sqrt(best.spread(k)) for k in ks)
    params = {"alpha": best.alpha, "beta": best.beta, "gamma": best.gamma, "sigma": best.sigma}
    return _Model(Method(best.form.name), params, tuple(best.mean(k) for k in ks), half)
