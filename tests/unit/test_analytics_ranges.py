"""Ranges, zero-filled series and headline metrics (app.analytics.ranges, series, metrics)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import errors
from app.analytics import breakdowns, metrics, ranges, series
from app.analytics.inputs import (
    AddressActivity,
    ChainActivity,
    DayBucket,
    LargeTransfer,
    WindowTotals,
)
from app.analytics.ranges import Period, RangeName

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
TODAY = date(2026, 11, 29)


def bucket(day: date, transfers: int, volume: int = 0) -> DayBucket:
    return DayBucket(day, transfers, volume, transfers, transfers, transfers, volume)


@pytest.mark.parametrize(("name", "days"), [("7d", 7), ("30d", 30), ("90d", 90)])
def test_fixed_ranges_end_with_today_and_compare_with_the_days_before(name: str, days: int) -> None:
    window = ranges.resolve(RangeName(name), NOW)
    assert window.period == Period(TODAY - timedelta(days=days - 1), TODAY + timedelta(days=1))
    assert window.previous == Period(
        window.period.start - timedelta(days=days), window.period.start
    )
    assert window.bounds() == (
        datetime.combine(window.period.start, datetime.min.time(), tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
    )


def test_all_has_no_start_and_no_previous_period() -> None:
    window = ranges.resolve(RangeName.ALL, NOW)
    assert (window.period, window.previous) == (None, None)
    assert window.bounds() == (None, datetime(2026, 11, 30, tzinfo=UTC))


def test_custom_range_is_inclusive_and_checked() -> None:
    window = ranges.resolve(RangeName.CUSTOM, NOW, date(2026, 11, 1), date(2026, 11, 10))
    assert window.period == Period(date(2026, 11, 1), date(2026, 11, 11))
    assert window.previous == Period(date(2026, 10, 22), date(2026, 11, 1))
    for first, last in [
        (None, TODAY),
        (TODAY, TODAY + timedelta(days=1)),
        (TODAY, TODAY - timedelta(days=1)),
    ]:
        with pytest.raises(errors.InvalidInput):
            ranges.resolve(RangeName.CUSTOM, NOW, first, last)
    with pytest.raises(errors.InvalidInput):
        ranges.resolve(RangeName.CUSTOM, NOW, TODAY - timedelta(days=ranges.MAX_CUSTOM_DAYS), TODAY)


@pytest.mark.parametrize(
    ("text", "name"),
    [("7d", "7d"), ("90d", "90d"), ("all", "all"), ("custom", "30d"), ("1y", "30d"), (None, "30d")],
)
def test_legacy_time_range_falls_back_to_30d(text: str | None, name: str) -> None:
    assert ranges.parse_legacy(text) == RangeName(name)


def test_fill_zero_fills_gaps_and_drops_days_outside() -> None:
    start = date(2026, 11, 1)
    given = [bucket(start + timedelta(days=2), 5), bucket(start - timedelta(days=1), 9)]
    filled = series.fill(given, start, start + timedelta(days=4))
    assert [(d.day.day, d.transfers) for d in filled] == [(1, 0), (2, 0), (3, 5), (4, 0)]
    assert series.fill([], None, TODAY) == []
    assert [d.day for d in series.fill(given, None, start + timedelta(days=1))] == [
        start - timedelta(days=1),
        start,
    ]


def test_history_skips_leading_empty_days_and_the_partial_day() -> None:
    start = TODAY - timedelta(days=5)
    days = series.fill(
        [bucket(start + timedelta(days=2), 3), bucket(TODAY, 9)], start, TODAY + timedelta(days=1)
    )
    assert series.history(days, TODAY) == range(2, 5)
    only_today = series.fill([bucket(TODAY, 9)], start, TODAY + timedelta(days=1))
    assert series.history(only_today, TODAY) == range(5, 6)
    assert series.history(series.fill([], start, TODAY), TODAY) == range(0)


def test_tokens_are_exact_until_the_float() -> None:
    assert series.tokens(10**30, 18) == 1e12
    assert series.tokens(1, 18) == 1e-18
    assert series.tokens(2**256 - 1, 18) == pytest.approx(1.157920892373162e59)


@given(st.integers(min_value=0, max_value=2**256 - 1), st.integers(min_value=0, max_value=36))
def test_integer_tokens_round_as_the_exact_fraction(raw: int, decimals: int) -> None:
    """The int fast path is the correctly rounded float of the exact quotient."""
    assert series.tokens(raw, decimals) == float(Fraction(raw, 10**decimals))
    assert series.tokens(Fraction(raw), decimals) == float(Fraction(raw, 10**decimals))


@pytest.mark.parametrize(
    ("current", "previous", "change"),
    [
        (150, 100, 50.0),
        (50, 100, -50.0),
        (0, 0, 0.0),
        (5, 0, None),
        (5, None, None),
        (0, 7, -100.0),
    ],
)
def test_percent_change_never_divides_by_zero(
    current: int, previous: int | None, change: float | None
) -> None:
    assert metrics.percent_change(current, previous) == change


def test_metrics_of_a_window() -> None:
    start = date(2026, 11, 1)
    days = series.fill(
        [
            bucket(start, 10, 5 * 10**18),
            bucket(start + timedelta(days=1), 30, 10**18),
            bucket(start + timedelta(days=3), 30, 9 * 10**18),
        ],
        start,
        start + timedelta(days=4),
    )
    m = metrics.compute(days, WindowTotals(70, 15 * 10**18, 40), WindowTotals(35, 0, 40))
    assert (m.total_transfers, m.active_addresses, m.days) == (70, 40, 4)
    assert (m.transfers_change, m.volume_change, m.addresses_change) == (100.0, None, 0.0)
    assert m.daily_avg_transfers == 17.5
    assert m.daily_avg_volume == Fraction(15 * 10**18, 4)
    assert m.peak == metrics.Peak(30, 9 * 10**18, start + timedelta(days=3))  # ties: more volume
    assert m.median_daily_transfers == 20.0
    assert m.volatility == pytest.approx(12.990381)  # population sd of 10, 30, 0, 30


def test_metrics_of_nothing() -> None:
    m = metrics.compute([], WindowTotals(0, 0, 0), None)
    assert (m.daily_avg_transfers, m.daily_avg_volume, m.volatility, m.median_daily_transfers) == (
        0.0,
        Fraction(0),
        0.0,
        0.0,
    )
    assert m.peak == metrics.Peak(0, 0, None)
    assert m.transfers_change is None


def test_breakdowns_are_ordered_totally() -> None:
    chains = [
        ChainActivity(1, "Ethereum", 5, 10, 3),
        ChainActivity(137, "Polygon", 9, 30, 4),
        ChainActivity(56, "BSC", 1, 0, 1),
    ]
    shares = breakdowns.chain_distribution(chains)
    assert [(s.chain.chain_id, s.volume_share) for s in shares] == [
        (137, 75.0),
        (1, 25.0),
        (56, 0.0),
    ]
    assert [
        s.volume_share for s in breakdowns.chain_distribution([ChainActivity(1, "E", 0, 0, 0)])
    ] == [0.0]
    rows = [AddressActivity(f"0x{i:02x}", i % 4, 1, i, 0) for i in range(20)]
    top = breakdowns.top_addresses(rows)
    assert len(top) == 15
    assert top[0].address == "0x13"
    at = datetime(2026, 11, 1, tzinfo=UTC)
    whales = [
        LargeTransfer(1, "Ethereum", f"0x{i}", 0, "0xa", "0xb", i * 10**24, at) for i in range(20)
    ]
    assert [w.tx_hash for w in breakdowns.top_whales(whales)][:2] == ["0x19", "0x18"]
    assert len(breakdowns.top_whales(whales)) == 15
