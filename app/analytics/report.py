"""One analytics answer, typed: :func:`analyze` turns a window's inputs into :class:`Analytics`.

A request goes: ``window = ranges.resolve(name, now, first, last)``; the store reads the
window's inputs between ``window.bounds()`` (and the totals of ``window.previous``); then
``analyze(inputs, window)``. The GraphQL resolver maps :class:`Analytics` onto its types and
app.analytics.legacy renders it in the legacy REST shape, so both show the same numbers.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.analytics import anomalies, breakdowns, forecast, metrics, ranges, series
from app.analytics.inputs import AddressActivity, AnalyticsInputs, DayBucket, LargeTransfer

MIN_HORIZON, MAX_HORIZON = 3, 7


class SeriesName(enum.StrEnum):
    TRANSFERS = "transfers"
    VOLUME = "volume"  # in tokens
    ADDRESSES = "addresses"  # active addresses per day


FORECAST_SERIES = (SeriesName.TRANSFERS, SeriesName.VOLUME)
_COUNTS = (SeriesName.TRANSFERS, SeriesName.ADDRESSES)


@dataclass(frozen=True, slots=True)
class Analytics:
    window: ranges.Window
    days: tuple[DayBucket, ...]  # zero-filled, oldest first (legacy dailyData)
    metrics: metrics.Metrics
    forecasts: Mapping[SeriesName, forecast.Forecast]  # transfers and volume
    anomalies: Mapping[SeriesName, tuple[anomalies.Anomaly, ...]]  # index: into ``days``
    chains: tuple[breakdowns.ChainShare, ...]
    top_addresses: tuple[AddressActivity, ...]
    whales: tuple[LargeTransfer, ...]
    newest_transfer_at: datetime | None
    decimals: int


def horizon(days: int) -> int:
    """Days forecast: ceil(days / 4) clamped to 3..7 (legacy: 7d → 3, 30d and 90d → 7)."""
    return min(max(math.ceil(days / 4), MIN_HORIZON), MAX_HORIZON)


@dataclass(frozen=True, slots=True)
class SeriesWork:
    """What the daily transfers and volumes alone decide: the forecasts and those two series'
    anomalies, the bulk of an answer's CPU. The store's first round trip gives the daily sums,
    so this runs while the database works on the rest (app.ops.analytics_service)."""

    days: tuple[DayBucket, ...]  # zero-filled window
    forecasts: Mapping[SeriesName, forecast.Forecast]
    anomalies: Mapping[SeriesName, tuple[anomalies.Anomaly, ...]]


def analyze(inputs: AnalyticsInputs, window: ranges.Window) -> Analytics:
    """Everything the answer shows, from the window's inputs (docs/analytics.md)."""
    return finish(inputs, window, analyze_sums(inputs.days, window, inputs.decimals))


def analyze_sums(days: Sequence[DayBucket], window: ranges.Window, decimals: int) -> SeriesWork:
    """The part of :func:`analyze` that reads only each day's transfers and volume."""
    start = window.period.start if window.period else None
    filled = series.fill(days, start, window.end)
    span = series.history(filled, window.today)
    day_dates = [d.day for d in filled]
    histories = {
        name: _History.of(_values(filled, name, decimals), day_dates, span, name in _COUNTS)
        for name in FORECAST_SERIES
    }
    steps = horizon(len(filled))
    return SeriesWork(
        days=tuple(filled),
        forecasts={name: histories[name].forecast(window.end, steps) for name in FORECAST_SERIES},
        anomalies={name: history.anomalies() for name, history in histories.items()},
    )


def finish(inputs: AnalyticsInputs, window: ranges.Window, sums: SeriesWork) -> Analytics:
    """The answer from the inputs and their :func:`analyze_sums` (of the same days' transfers
    and volume: the daily distinct counts may have been completed since)."""
    start = window.period.start if window.period else None
    days = series.fill(inputs.days, start, window.end)
    if [(d.day, d.transfers, d.volume) for d in days] != [
        (d.day, d.transfers, d.volume) for d in sums.days
    ]:
        raise ValueError("the series work is of other days than the inputs")
    span = series.history(days, window.today)
    name = SeriesName.ADDRESSES
    addresses = _History.of(
        _values(days, name, inputs.decimals), [d.day for d in days], span, name in _COUNTS
    )
    return Analytics(
        window=window,
        days=tuple(days),
        metrics=metrics.compute(days, inputs.totals, inputs.previous),
        forecasts=sums.forecasts,
        anomalies={**sums.anomalies, name: addresses.anomalies()},
        chains=tuple(breakdowns.chain_distribution(inputs.chains)),
        top_addresses=tuple(breakdowns.top_addresses(inputs.top_addresses)),
        whales=tuple(breakdowns.top_whales(inputs.largest_transfers)),
        newest_transfer_at=inputs.newest_transfer_at,
        decimals=inputs.decimals,
    )


def _values(days: list[DayBucket], name: SeriesName, decimals: int) -> list[float]:
    if name is SeriesName.TRANSFERS:
        return [float(d.transfers) for d in days]
    if name is SeriesName.ADDRESSES:
        return [float(d.active_addresses) for d in days]
    return [series.tokens(d.volume, decimals) for d in days]


@dataclass(frozen=True, slots=True)
class _History:
    """One series' history (see app.analytics.series) with its anomaly baseline, computed once
    for both the anomalies and the forecast's cleaning."""

    values: list[float]
    days: list[date]
    offset: int  # index of the history's first day in the window's days
    count: bool
    base: anomalies.Baseline | None  # None below anomalies.MIN_DAYS

    @classmethod
    def of(cls, values: list[float], days: list[date], span: range, count: bool) -> _History:
        h_values, h_days = values[span.start : span.stop], days[span.start : span.stop]
        enough = len(h_values) >= anomalies.MIN_DAYS
        base = anomalies.baseline(h_values, h_days, count=count) if enough else None
        return cls(h_values, h_days, span.start, count, base)

    def anomalies(self) -> tuple[anomalies.Anomaly, ...]:
        found = anomalies.detect(self.values, self.days, count=self.count, base=self.base)
        # Positions in the history -> positions in the window's days.
        return tuple(dataclasses.replace(a, index=a.index + self.offset) for a in found)

    def forecast(self, first: date, steps: int) -> forecast.Forecast:
        if not self.values:  # nothing to learn from: method "none", zeros
            return forecast.forecast([], first - timedelta(days=1), first, steps)
        cleaned = anomalies.winsorize(self.values, self.days, count=self.count, base=self.base)
        return forecast.forecast(cleaned, self.days[-1], first, steps)
