"""Forecasts (app.analytics.forecast): known values, intervals and degenerate histories."""

from __future__ import annotations

import itertools
import math
import random
from datetime import date, timedelta

import pytest

from app.analytics import forecast, smoothing
from app.analytics.forecast import Method

LAST = date(2026, 11, 28)
NEXT = LAST + timedelta(days=1)
WEEK = (5.0, 0.0, 3.0, 8.0, -2.0, -10.0, -4.0)


def values(f: forecast.Forecast) -> list[float]:
    return [p.value for p in f.points]


def test_theil_sen_known_line_and_outlier() -> None:
    assert forecast.theil_sen([1.0, 3.0, 5.0, 7.0]) == (2.0, 1.0)
    # One wild day moves neither the slope nor the intercept of the other points' line.
    slope, intercept = forecast.theil_sen([10.0, 12.0, 14.0, 500.0, 18.0, 20.0])
    assert (slope, intercept) == (2.0, 10.0)


@pytest.mark.parametrize("n", [2, 3, 13, 14, 90, 400])
def test_a_perfect_line_forecasts_the_line_with_no_width(n: int) -> None:
    y = [10.0 + 2.0 * t for t in range(n)]
    f = forecast.forecast(y, LAST, NEXT, 7)
    assert values(f) == pytest.approx([10.0 + 2.0 * t for t in range(n, n + 7)], abs=1e-6)
    assert f.method is (Method.THEIL_SEN if n < 14 else Method.HOLT)  # no weekday pattern
    for p in f.points:
        if n > 2:
            assert p.lower == pytest.approx(p.value, abs=1e-6)
            assert p.upper == pytest.approx(p.value, abs=1e-6)
        else:
            assert p.lower is None
            assert p.upper is None


@pytest.mark.parametrize("n", [14, 15, 20, 28, 90])
def test_a_weekly_pattern_on_a_trend_is_reproduced(n: int) -> None:
    y = [100.0 + WEEK[t % 7] + 0.5 * t for t in range(n)]
    f = forecast.forecast(y, LAST, NEXT, 7)
    assert f.method is Method.HOLT_WINTERS
    assert values(f) == pytest.approx([100 + WEEK[t % 7] + 0.5 * t for t in range(n, n + 7)])


def test_a_noisy_weekly_series_keeps_its_pattern_and_its_intervals_cover() -> None:
    inside = total = 0
    for seed in range(40):
        rnd = random.Random(seed)
        y = [200.0 + 5 * WEEK[t % 7] + rnd.gauss(0, 10) for t in range(97)]
        f = forecast.forecast(y[:90], LAST, NEXT, 7)
        expected = [200.0 + 5 * WEEK[t % 7] for t in range(90, 97)]
        assert values(f) == pytest.approx(expected, abs=20)  # the pattern's swing is 90
        for p, actual in zip(f.points, y[90:], strict=True):
            assert p.lower is not None
            assert p.upper is not None
            inside += p.lower <= actual <= p.upper
            total += 1
    assert 0.7 <= inside / total <= 0.92  # an 80 % interval


def test_the_interval_grows_as_ets_says() -> None:
    rnd = random.Random(7)
    y = [200.0 + 10 * WEEK[t % 7] + 0.3 * t + rnd.gauss(0, 5) for t in range(60)]
    f = forecast.forecast(y, LAST, NEXT, 8)
    assert f.method is Method.HOLT_WINTERS
    alpha, beta, gamma, sigma = (f.parameters[k] for k in ("alpha", "beta", "gamma", "sigma"))
    spread = 1.0
    for k, p in enumerate(f.points, start=1):
        assert p.upper is not None
        assert p.upper - p.value == pytest.approx(1.2816 * sigma * math.sqrt(spread))
        spread += (alpha + beta * k + (gamma if k % 7 == 0 else 0.0)) ** 2


@pytest.mark.parametrize(
    ("trend", "pattern", "method"),
    [
        (0.0, 0.0, Method.EXPONENTIAL_SMOOTHING),
        (1.0, 0.0, Method.HOLT),
        (0.0, 4.0, Method.SEASONAL),
        (1.0, 4.0, Method.HOLT_WINTERS),
    ],
)
def test_the_form_is_the_one_the_data_show(trend: float, pattern: float, method: Method) -> None:
    rnd = random.Random(11)
    y = [100 + trend * t + pattern * WEEK[t % 7] + rnd.gauss(0, 4) for t in range(90)]
    f = forecast.forecast(y, LAST, NEXT, 7)
    assert f.method is method
    expected = [100 + trend * t + pattern * WEEK[t % 7] for t in range(90, 97)]
    assert values(f) == pytest.approx(expected, abs=8)


def test_plain_noise_forecasts_a_flat_line() -> None:
    for seed in range(10):
        rnd = random.Random(seed)
        y = [100.0 + rnd.gauss(0, 10) for _ in range(29)]
        f = forecast.forecast(y, LAST, NEXT, 7)
        assert max(values(f)) - min(values(f)) < 5  # no invented trend or weekday pattern
        assert values(f) == pytest.approx([100.0] * 7, abs=10)


def test_each_form_is_fitted_by_least_squares_and_chosen_by_aicc() -> None:
    rnd = random.Random(3)
    y = [100.0 + 0.8 * t + rnd.gauss(0, 6) for t in range(45)]
    f = forecast.forecast(y, LAST, NEXT, 3)
    form = next(form for form in smoothing.FORMS if form.name == f.method.value)
    alpha, beta, gamma = (f.parameters[k] for k in ("alpha", "beta", "gamma"))
    chosen = smoothing.run(y, form, alpha, beta, gamma)
    assert all(smoothing.run(y, form, *params).sse >= chosen.sse for params in form.grid)
    assert f.parameters["sigma"] == pytest.approx(math.sqrt(chosen.sse / (45 - form.parameters)))
    best = [smoothing._best_in_form(y, other) for other in smoothing.FORMS]
    assert chosen.aicc(0.0) == min(fit.aicc(0.0) for fit in best)


def test_skipped_days_are_stepped_over_and_dated() -> None:
    y = [float(t) for t in range(10)]  # 0..9: slope 1
    f = forecast.forecast(y, LAST, LAST + timedelta(days=2), 3)  # today (partial) is skipped
    assert [p.day for p in f.points] == [LAST + timedelta(days=k) for k in (2, 3, 4)]
    assert values(f) == pytest.approx([11.0, 12.0, 13.0])


def test_a_forecast_starts_after_its_history() -> None:
    with pytest.raises(ValueError, match="after the history"):
        forecast.forecast([1.0, 2.0], LAST, LAST, 3)


@pytest.mark.parametrize(
    ("history", "method", "expected"),
    [
        ([], Method.NONE, [0.0, 0.0, 0.0]),
        ([0.0] * 20, Method.NONE, [0.0, 0.0, 0.0]),
        ([42.0], Method.NAIVE, [42.0, 42.0, 42.0]),
    ],
)
def test_no_or_one_day_of_history(
    history: list[float], method: Method, expected: list[float]
) -> None:
    f = forecast.forecast(history, LAST, NEXT, 3)
    assert f.method is method
    assert values(f) == expected
    assert all(p.lower is None and p.upper is None for p in f.points)


def test_a_falling_series_never_forecasts_below_zero() -> None:
    for y in (
        [50.0, 40.0, 30.0, 20.0, 10.0],
        [100.0 - 7 * t for t in range(15)],
        [0.0] * 13 + [5.0],
    ):
        f = forecast.forecast(y, LAST, NEXT, 7)
        for p in f.points:
            assert p.value >= 0.0
            assert p.lower is None or p.lower >= 0.0
            assert p.upper is None or p.upper >= p.value


def test_huge_values_stay_finite() -> None:
    y = [1e12 * (1 + (t % 7) / 10) for t in range(90)]  # 10^30 raw units a day, in tokens
    f = forecast.forecast(y, LAST, NEXT, 7)
    for p in f.points:
        assert math.isfinite(p.value)
        assert p.lower is not None
        assert p.upper is not None
        assert math.isfinite(p.lower)
        assert math.isfinite(p.upper)


def test_a_one_day_spike_in_the_history_hardly_moves_theil_sen() -> None:
    y = [100.0, 101.0, 102.0, 5000.0, 104.0, 105.0, 106.0, 107.0]
    f = forecast.forecast(y, LAST, NEXT, 3)
    assert values(f) == pytest.approx([108.0, 109.0, 110.0])


def _legacy(y: list[float], h: int) -> list[float]:
    """legacy-api.md §5: the mean step of the last five days, extended."""
    last = y[-max(2, min(len(y), 5)) :]
    step = sum(b - a for a, b in itertools.pairwise(last)) / (len(last) - 1)
    return [max(0.0, last[-1] + step * k) for k in range(1, h + 1)]


def test_better_than_the_legacy_formula_on_a_weekly_series() -> None:
    ours = legacy = 0.0
    for seed in range(30):
        rnd = random.Random(seed)
        level, drift, y = 100.0, rnd.uniform(-0.5, 0.5), []
        pattern = [rnd.uniform(-20, 20) for _ in range(7)]
        for t in range(97):
            level += drift + rnd.gauss(0, 2)
            y.append(max(0.0, level + pattern[t % 7] + rnd.gauss(0, 8)))
        f = forecast.forecast(y[:90], LAST, NEXT, 7)
        ours += sum((p.value - a) ** 2 for p, a in zip(f.points, y[90:], strict=True))
        legacy += sum((p - a) ** 2 for p, a in zip(_legacy(y[:90], 7), y[90:], strict=True))
    assert ours < 0.2 * legacy  # squared error; about 10 vs 36 in RMSE
