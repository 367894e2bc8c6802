"""Anomalies: days whose value is far from what the days around them lead one to expect.

For each day t of a history x (see app.analytics.series):

    level_t    = median(x[t-3 .. t+3] without x_t)    (a centred week, shifted at the ends)
    seasonal_t = median(x_s - level_s, s another day of t's weekday)   (only with >= 14 days)
    expected_t = level_t + seasonal_t
    r_t        = x_t - expected_t
    sigma      = 1.4826 * MAD(r)   (1.2533 * mean |r - median r| when the MAD is 0)
    scale_t    = max(sigma, 5 % of median |expected|, sqrt(max(expected_t, 1)) for counts)
    z_t        = r_t / scale_t

A day is an anomaly when |z| >= 3.5 (Iglewicz and Hoaglin's cut-off for the modified z-score):
low below 5, medium below 8, high from 8. Medians make the expectation ignore the spikes it is
looking for; the floors keep a perfectly regular series (sigma near 0) from flagging rounding noise,
and a sparse count series from flagging a day with three transfers (Poisson noise of a count
is sqrt(mean)). Fewer than 5 days: no anomalies.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.analytics import stats

MIN_DAYS = 5
HALF_WINDOW = 3  # the centred window is one week
SEASONAL_MIN_DAYS = 14  # two of each weekday before a weekday effect is estimated
RELATIVE_FLOOR = 0.05
THRESHOLD = 3.5


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


_SEVERITIES = ((8.0, Severity.HIGH), (5.0, Severity.MEDIUM), (THRESHOLD, Severity.LOW))


@dataclass(frozen=True, slots=True)
class Baseline:
    expected: tuple[float, ...]
    scale: tuple[float, ...]  # per day; 0 where nothing can be judged


@dataclass(frozen=True, slots=True)
class Anomaly:
    index: int  # position in the series given to detect()
    day: date
    value: float
    expected: float
    deviation: float  # value - expected
    z: float  # robust z-score, deviation / scale
    severity: Severity

    @property
    def direction(self) -> str:
        return "spike" if self.deviation > 0 else "dip"


def baseline(values: Sequence[float], days: Sequence[date], *, count: bool) -> Baseline:
    """What each day was expected to be and the scale of its deviation (see module doc).
    Two passes: the weekday effects are estimated again without the days the first pass found
    anomalous, so two spikes on one weekday cannot make that weekday's other days look low."""
    level = _local_level(values)
    first = _scaled(values, level, _seasonal(values, level, days, set()), count)
    outliers = {
        t
        for t, (v, e, s) in enumerate(zip(values, first.expected, first.scale, strict=True))
        if s > 0 and abs(v - e) >= THRESHOLD * s
    }
    if not outliers or len(values) < SEASONAL_MIN_DAYS:
        return first
    return _scaled(values, level, _seasonal(values, level, days, outliers), count)


def _scaled(
    values: Sequence[float], level: Sequence[float], seasonal: Sequence[float], count: bool
) -> Baseline:
    expected = [lv + s for lv, s in zip(level, seasonal, strict=True)]
    residuals = [v - e for v, e in zip(values, expected, strict=True)]
    sigma = max(
        stats.robust_sigma(residuals), RELATIVE_FLOOR * stats.median([abs(e) for e in expected])
    )
    scale = [max(sigma, math.sqrt(max(e, 1.0))) if count else sigma for e in expected]
    return Baseline(tuple(expected), tuple(scale))


def detect(
    values: Sequence[float], days: Sequence[date], *, count: bool, base: Baseline | None = None
) -> list[Anomaly]:
    """The anomalous days of ``values`` (one per day of ``days``), in day order; ``base`` is
    the series' :func:`baseline` when the caller has it already."""
    if len(values) < MIN_DAYS:
        return []
    base = base or baseline(values, days, count=count)
    found = []
    rows = zip(values, base.expected, base.scale, strict=True)
    for i, (value, expected, scale) in enumerate(rows):
        z = (value - expected) / scale if scale > 0 else 0.0
        severity = _severity(z)
        if severity is not None:
            found.append(Anomaly(i, days[i], value, expected, value - expected, z, severity))
    return found


def winsorize(
    values: Sequence[float], days: Sequence[date], *, count: bool, base: Baseline | None = None
) -> list[float]:
    """``values`` with anomalous days pulled back to the edge of normal (expected +- 3.5 scale),
    so one whale day does not bend a forecast's trend."""
    if len(values) < MIN_DAYS:
        return list(values)
    base = base or baseline(values, days, count=count)
    return [
        min(max(v, e - THRESHOLD * s), e + THRESHOLD * s) if s > 0 else v
        for v, e, s in zip(values, base.expected, base.scale, strict=True)
    ]


def _severity(z: float) -> Severity | None:
    return next((sev for cut, sev in _SEVERITIES if abs(z) >= cut), None)


def _local_level(values: Sequence[float]) -> list[float]:
    """Median of each day's week around it *without the day itself*: a day cannot pull its own
    expectation towards it (with itself in, residuals shrink and z-scores inflate)."""
    n, width = len(values), 2 * HALF_WINDOW + 1
    levels = []
    for t in range(n):
        start = max(0, min(t - HALF_WINDOW, n - width))  # a full week, shifted at the ends
        neighbours = [values[i] for i in range(start, min(start + width, n)) if i != t]
        levels.append(stats.median(neighbours))
    return levels


def _seasonal(
    values: Sequence[float], level: Sequence[float], days: Sequence[date], skip: set[int]
) -> list[float]:
    """Each day's weekday effect: the median deviation from the level of the *other* days of
    its weekday (leave-one-out, as for the level), leaving out the days in ``skip``."""
    if len(values) < SEASONAL_MIN_DAYS:
        return [0.0] * len(values)
    groups: dict[int, list[tuple[float, int]]] = {}
    for t, (v, lv, day) in enumerate(zip(values, level, days, strict=True)):
        if t not in skip:
            groups.setdefault(day.weekday(), []).append((v - lv, t))
    ranks: dict[int, int] = {}
    ordered: dict[int, list[float]] = {}
    for weekday, group in groups.items():
        group.sort()
        ranks.update((t, r) for r, (_, t) in enumerate(group))
        ordered[weekday] = [d for d, _ in group]
    return [
        stats.sorted_median(ordered.get(day.weekday(), []), without=ranks.get(t))
        for t, day in enumerate(days)
    ]
