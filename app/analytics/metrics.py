"""The window's headline metrics (legacy ``analyticsMetrics``) and their change on the previous
period. Amounts stay raw units here; app.analytics.legacy turns them into tokens.

A change is ``(current - previous) / previous * 100``. When the previous period had nothing
(previous = 0) the change is 0.0 if the current period has nothing either, and None otherwise:
growth from zero has no percentage (the legacy said 100, which reads as "doubled"). Without a
previous period (the ``all`` range) every change is None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from app.analytics import stats
from app.analytics.inputs import DayBucket, WindowTotals


@dataclass(frozen=True, slots=True)
class Peak:
    """The busiest day: most transfers, then most volume, then the earliest."""

    transfers: int
    volume: int  # raw units
    day: date | None  # None when no day had a transfer


@dataclass(frozen=True, slots=True)
class Metrics:
    total_transfers: int
    total_volume: int  # raw units
    active_addresses: int  # distinct over the window
    senders: int | None
    receivers: int | None
    transfers_change: float | None  # percent; see the module doc for None
    volume_change: float | None
    addresses_change: float | None
    days: int  # days in the window (today included, partial or not)
    daily_avg_transfers: float
    daily_avg_volume: Fraction  # raw units per day
    peak: Peak
    volatility: float  # population standard deviation of daily transfer counts
    median_daily_transfers: float


def percent_change(current: int, previous: int | None) -> float | None:
    """Percent change from ``previous`` to ``current``; never divides by zero (module doc)."""
    if previous is None:
        return None
    if previous == 0:
        return 0.0 if current == 0 else None
    return float(Fraction(current - previous, previous) * 100)


def compute(days: Sequence[DayBucket], totals: WindowTotals, prev: WindowTotals | None) -> Metrics:
    """The metrics of a zero-filled window ``days`` with its exact ``totals``."""
    counts = [float(d.transfers) for d in days]
    span = len(days)
    return Metrics(
        total_transfers=totals.transfers,
        total_volume=totals.volume,
        active_addresses=totals.active_addresses,
        senders=totals.senders,
        receivers=totals.receivers,
        transfers_change=percent_change(totals.transfers, prev.transfers if prev else None),
        volume_change=percent_change(totals.volume, prev.volume if prev else None),
        addresses_change=percent_change(
            totals.active_addresses, prev.active_addresses if prev else None
        ),
        days=span,
        daily_avg_transfers=totals.transfers / span if span else 0.0,
        daily_avg_volume=Fraction(totals.volume, span) if span else Fraction(0),
        peak=peak(days),
        volatility=stats.pstdev(counts),
        median_daily_transfers=stats.median(counts),
    )


def peak(days: Sequence[DayBucket]) -> Peak:
    """The busiest day (the legacy let a day win on count *or* volume, so the peak depended on
    the order of days; here the ranking is count, volume, earliest)."""
    active = [d for d in days if d.transfers > 0]
    if not active:
        return Peak(0, 0, None)
    best = max(active, key=lambda d: (d.transfers, d.volume, -d.day.toordinal()))
    return Peak(best.transfers, best.volume, best.day)
