"""Anomalies (app.analytics.anomalies): injected spikes and dips are found, noise stays quiet."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from app.analytics import anomalies, stats
from app.analytics.anomalies import Severity

START = date(2026, 9, 1)  # a Tuesday


def days(n: int) -> list[date]:
    return [START + timedelta(days=i) for i in range(n)]


def noise(n: int, seed: int, level: float = 1000.0, sigma: float = 100.0) -> list[float]:
    rnd = random.Random(seed)
    return [level + rnd.gauss(0, sigma) for _ in range(n)]


@pytest.mark.parametrize("n", [13, 30, 90])
def test_an_injected_spike_is_found_with_its_expectation(n: int) -> None:
    values = noise(n, seed=n)
    values[n // 2] += 3000  # 30 sigma
    found = anomalies.detect(values, days(n), count=False)
    # The spike is the one high anomaly; a short noisy series may also show a low one.
    assert [a.index for a in found if a.severity is not Severity.LOW] == [n // 2]
    spike = next(a for a in found if a.index == n // 2)
    assert spike.day == START + timedelta(days=n // 2)
    assert spike.severity is Severity.HIGH
    assert spike.direction == "spike"
    assert spike.expected == pytest.approx(1000, abs=150)
    assert spike.deviation == pytest.approx(spike.value - spike.expected)
    assert spike.z > 8


def test_severity_follows_the_robust_z() -> None:
    values = [100.0] * 30
    for i, bump in ((5, 4.0), (12, 6.0), (20, 10.0)):  # scale: sqrt(100) = 10 for counts
        values[i] += bump * 10
    found = {a.index: a.severity for a in anomalies.detect(values, days(30), count=True)}
    assert found == {5: Severity.LOW, 12: Severity.MEDIUM, 20: Severity.HIGH}


def test_a_gap_in_a_busy_series_is_a_dip() -> None:
    values = noise(30, seed=1)
    values[17] = 0.0  # a day without transfers (zero-filled)
    found = anomalies.detect(values, days(30), count=False)
    assert [(a.index, a.direction) for a in found] == [(17, "dip")]
    assert found[0].z < 0


def test_noise_stays_quiet() -> None:
    flagged = sum(
        len(anomalies.detect(noise(90, seed), days(90), count=False)) for seed in range(50)
    )
    assert flagged <= 15  # 50 series x 90 days: at most one false alarm in 300 days


def test_a_weekly_pattern_is_not_an_anomaly_once_two_weeks_are_known() -> None:
    # Weekends run at a third of weekdays: without the weekday effect every weekend is a dip.
    rnd = random.Random(5)
    dates = days(60)
    values = [(300.0 if d.weekday() >= 5 else 900.0) + rnd.gauss(0, 30) for d in dates]
    assert anomalies.detect(values, dates, count=False) == []
    values[30] += 600
    assert [a.index for a in anomalies.detect(values, dates, count=False)] == [30]


def test_a_trend_is_not_an_anomaly() -> None:
    values = [100.0 + 10.0 * t for t in range(90)]
    assert anomalies.detect(values, days(90), count=False) == []


def test_a_sparse_count_series_is_quiet() -> None:
    rnd = random.Random(11)
    values = [float(rnd.choice([0, 0, 0, 1, 1, 2, 3])) for _ in range(60)]
    assert anomalies.detect(values, days(60), count=True) == []


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_too_few_days_find_nothing(n: int) -> None:
    assert anomalies.detect([1.0, 1000.0, 5.0, 7.0][:n], days(n), count=True) == []


@pytest.mark.parametrize("n", [5, 14, 90])
def test_constant_and_all_zero_series_find_nothing(n: int) -> None:
    assert anomalies.detect([0.0] * n, days(n), count=True) == []
    assert anomalies.detect([0.0] * n, days(n), count=False) == []
    assert anomalies.detect([7.0] * n, days(n), count=False) == []


def test_one_spike_in_a_constant_series_is_found() -> None:
    values = [10.0] * 6
    values[4] = 100.0
    assert [a.index for a in anomalies.detect(values, days(6), count=False)] == [4]


def test_huge_values() -> None:
    values = [1e12 + 1e10 * (t % 3) for t in range(30)]
    values[9] = 5e13
    found = anomalies.detect(values, days(30), count=False)
    assert [a.index for a in found] == [9]


def test_winsorize_pulls_only_the_outlier_back() -> None:
    values = noise(30, seed=2)
    values[10] = 50_000.0
    cleaned = anomalies.winsorize(values, days(30), count=False)
    assert cleaned[10] < 2000
    assert [c for i, c in enumerate(cleaned) if i != 10] == [
        v for i, v in enumerate(values) if i != 10
    ]


@pytest.mark.parametrize(
    ("values", "without", "median"),
    [([], None, 0.0), ([5.0], 0, 0.0), ([1.0, 2.0, 3.0], None, 2.0), ([1.0, 2.0, 3.0], 1, 2.0),
     ([1.0, 2.0, 3.0], 0, 2.5), ([1.0, 2.0, 3.0, 10.0], 3, 2.0), ([1.0, 2.0, 3.0, 10.0], 0, 3.0)],
)  # fmt: skip
def test_sorted_median_leaves_one_out(
    values: list[float], without: int | None, median: float
) -> None:
    assert stats.sorted_median(values, without) == median


def test_robust_sigma_known_values() -> None:
    assert stats.robust_sigma([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx(1.4826)
    assert stats.robust_sigma([10.0] * 5 + [100.0]) == pytest.approx(1.2533 * 15)  # MAD 0
    assert stats.robust_sigma([3.0, 3.0]) == 0.0
    assert stats.robust_sigma([]) == 0.0
    assert stats.pstdev([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) == 2.0
