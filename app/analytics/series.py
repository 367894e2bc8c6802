"""Daily series: zero-filled windows and the stretch of days the models learn from.

A day without a bucket had no stored transfer, so it is a day of zero activity: windows are
filled with zero days, never interpolated (a gap in ingestion shows up as zeros and, in a busy
series, as a dip in the anomalies). The models (forecast, anomalies) learn from the *history*:
the days from the first day with a transfer up to the last complete day. Leading empty days are
left out because they only say the token (or our coverage) had not started; today is left out
because it is still partial and would read as a drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from fractions import Fraction

from app.analytics.inputs import DayBucket


def empty(day: date) -> DayBucket:
    return DayBucket(day, 0, 0, 0, 0, 0, 0, None)


def fill(buckets: Sequence[DayBucket], start: date | None, end: date) -> list[DayBucket]:
    """One bucket per day of [start, end), zero where none was given; buckets outside the
    period are dropped. ``start`` None starts at the earliest bucket (the ``all`` range).
    Two buckets for one day: the later one in ``buckets`` wins."""
    by_day = {b.day: b for b in buckets if b.day < end and (start is None or b.day >= start)}
    if start is None:
        if not by_day:
            return []
        start = min(by_day)
    return [by_day.get(day) or empty(day) for day in _days(start, end)]


def history(days: Sequence[DayBucket], today: date) -> range:
    """Indices of ``days`` the models learn from: first active day .. last complete day.
    When only the partial day has activity it is the history (a one-day naive model)."""
    active = [i for i, d in enumerate(days) if d.transfers > 0]
    if not active:
        return range(0)
    complete_end = next((i for i, d in enumerate(days) if d.day >= today), len(days))
    if active[0] >= complete_end:
        return range(active[0], active[0] + 1)
    return range(active[0], complete_end)


def tokens(raw: int | Fraction, decimals: int) -> float:
    """Raw units as tokens, exact until the final float (a uint256 overflows a Decimal
    context and loses digits as a float before the division). int / int is Python's
    correctly rounded true division: the Fraction's float, without building a Fraction
    (the hot path: every day of every answer)."""
    if isinstance(raw, int):
        return float(raw / 10**decimals)
    return float(Fraction(raw) / 10**decimals)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
