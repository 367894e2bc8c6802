"""The legacy /api/analytics document (app.analytics.report + legacy): every legacy field with
its type, on empty, sparse, single-day, gappy, all-zero and huge data."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.analytics import legacy, ranges, report
from app.analytics.inputs import (
    AddressActivity,
    AnalyticsInputs,
    ChainActivity,
    DayBucket,
    LargeTransfer,
    WindowTotals,
)
from app.analytics.ranges import RangeName

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
TOKEN = 10**18
NUMBER = (int, float)

# legacy-api.md §5: field -> type(s). Numbers may be int or float in JSON.
DAY_FIELDS: dict[str, Any] = {
    "date": str,
    "displayDate": str,
    "count": int,
    "volume": float,
    "uniqueAddresses": int,
    "avgTransferSize": float,
    "medianTransferSize": (float, type(None)),
}
METRIC_FIELDS: dict[str, Any] = {
    "totalTransfers": int,
    "totalVolume": float,
    "avgTransferSize": float,
    "activeAddresses": int,
    "transfersChange": (float, type(None)),
    "volumeChange": (float, type(None)),
    "addressesChange": (float, type(None)),
    "dailyAvgTransfers": float,
    "dailyAvgVolume": float,
    "peakActivity": dict,
    "volatility": float,
    "medianDailyTransfers": float,
}
CHAIN_FIELDS = {
    "chain": str,
    "count": int,
    "volume": float,
    "uniqueAddresses": int,
    "percentage": str,
}
ADDRESS_FIELDS = {"address": str, "totalTxs": int, "sent": int, "received": int, "volume": float}
WHALE_FIELDS = {"hash": str, "from": str, "to": str, "value": float, "timeStamp": int, "chain": str}
SPIKE_FIELDS = {"index": int, "value": NUMBER, "zScore": str}
PERFORMANCE_FIELDS: dict[str, Any] = {
    "computeTimeMs": float,
    "dataPoints": int,
    "totalTransfersAnalyzed": int,
    "cacheStatus": str,
    "cacheAge": (int, type(None)),
    "mode": str,
}


def day_row(day: date, n: int, scale: int = TOKEN) -> DayBucket:
    return DayBucket(
        day,
        n,
        n * 3 * scale,
        n,
        n,
        n + 1 if n else 0,
        2 * scale if n else 0,
        Decimal(scale) if n else None,
    )


def inputs(days: list[DayBucket], window: ranges.Window) -> AnalyticsInputs:
    """What the store would give for ``window``: totals over the window's days only."""
    start = window.period.start if window.period else date.min
    inside = [d for d in days if start <= d.day < window.end]
    transfers = sum(d.transfers for d in inside)
    volume = sum(d.volume for d in inside)
    at = NOW - timedelta(hours=1)
    return AnalyticsInputs(
        days=tuple(days),
        totals=WindowTotals(transfers, volume, transfers // 2, transfers // 3, transfers // 3),
        previous=WindowTotals(transfers // 2, 0, 0) if window.previous else None,
        chains=(ChainActivity(1, "Ethereum", transfers, volume, transfers // 2),),
        top_addresses=tuple(
            AddressActivity(f"0x{i:040x}", i, 2, i * TOKEN, TOKEN) for i in range(20)
        ),
        largest_transfers=tuple(
            LargeTransfer(1, "Ethereum", f"0x{i:064x}", i, "0xa", "0xb", i * TOKEN, at)
            for i in range(20)
        ),
        newest_transfer_at=at if transfers else None,
    )


def build(days: list[DayBucket], name: RangeName = RangeName.D90, **custom: Any) -> dict[str, Any]:
    window = ranges.resolve(name, NOW, **custom)
    result = report.analyze(inputs(days, window), window)
    doc = legacy.document(
        result, time_range=name.value, chain_id="all", now=NOW, compute_time_ms=1.5
    )
    json.dumps(doc, allow_nan=False)  # no NaN or infinity anywhere
    return doc


def check(obj: dict[str, Any], fields: dict[str, Any]) -> None:
    for name, kind in fields.items():
        assert name in obj, name
        assert isinstance(obj[name], kind), (name, obj[name])


def check_document(doc: dict[str, Any]) -> None:
    assert doc["success"] is True
    assert isinstance(doc["timestamp"], str)
    assert doc["timestamp"].endswith("Z")
    for day in doc["dailyData"]:
        check(day, DAY_FIELDS)
    check(doc["analyticsMetrics"], METRIC_FIELDS)
    check(
        doc["analyticsMetrics"]["peakActivity"],
        {"transfers": int, "volume": float, "date": (str, type(None))},
    )
    for chain in doc["chainDistribution"]:
        check(chain, CHAIN_FIELDS)
        assert chain["percentage"].endswith("%")
    for address in doc["topAddresses"]:
        check(address, ADDRESS_FIELDS)
    for whale in doc["topWhales"]:
        check(whale, WHALE_FIELDS)
    predictions = doc["predictions"]
    assert 3 <= len(predictions["transfers"]) == len(predictions["volume"]) <= 7
    assert all(
        isinstance(v, float) and v >= 0 for v in predictions["transfers"] + predictions["volume"]
    )
    for key in ("transferSpikes", "volumeSpikes"):
        for spike in doc["anomalies"][key]:
            check(spike, SPIKE_FIELDS)
            float(spike["zScore"])
    check(doc["performance"], PERFORMANCE_FIELDS)


def series(n: int, seed: int = 1, end: date = TODAY) -> list[DayBucket]:
    rnd = random.Random(seed)
    return [day_row(end - timedelta(days=i), max(0, int(rnd.gauss(100, 10)))) for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 2, 13, 14, 90])
@pytest.mark.parametrize("name", [RangeName.D7, RangeName.D30, RangeName.D90, RangeName.ALL])
def test_every_legacy_field_for_any_number_of_days(n: int, name: RangeName) -> None:
    doc = build(series(n), name)
    check_document(doc)
    expected_days = {RangeName.D7: 7, RangeName.D30: 30, RangeName.D90: 90}.get(name, n)
    assert len(doc["dailyData"]) == doc["performance"]["dataPoints"] == expected_days
    assert len(doc["predictions"]["transfers"]) == report.horizon(expected_days)


def test_the_90d_document_in_detail() -> None:
    days = series(120)
    doc = build(days)
    daily = doc["dailyData"]
    assert daily[-1]["date"] == TODAY.isoformat()
    assert daily[0]["date"] == "2026-09-01"
    assert daily[0]["displayDate"] == "Sep 1"
    first = next(d for d in days if d.day == date(2026, 9, 1))
    assert daily[0]["count"] == first.transfers
    assert daily[0]["volume"] == pytest.approx(3.0 * first.transfers)
    assert daily[0]["avgTransferSize"] == 3.0
    assert daily[0]["medianTransferSize"] == 1.0
    assert daily[0]["volumeRaw"] == str(first.volume)
    in_window = [d for d in days if d.day >= date(2026, 9, 1)]
    m = doc["analyticsMetrics"]
    assert m["totalTransfers"] == sum(d.transfers for d in in_window)
    assert m["transfersChange"] == 100.0
    assert m["volumeChange"] is None
    assert m["dailyAvgTransfers"] == round(m["totalTransfers"] / 90, 2)
    assert doc["predictions"]["dates"][0] == "2026-11-30"  # tomorrow: today is still partial
    assert doc["predictions"]["details"]["transfers"]["method"] == "exponential-smoothing"  # noise
    assert doc["chainDistribution"][0]["percentage"] == "100.00%"
    assert len(doc["topAddresses"]) == len(doc["topWhales"]) == 15
    assert doc["topWhales"][0]["value"] == 19.0
    assert doc["performance"]["cacheAge"] == 3600
    assert doc["window"] == {
        "start": "2026-09-01",
        "end": "2026-11-29",
        "today": "2026-11-29",
        "previousStart": "2026-06-03",
        "previousEnd": "2026-08-31",
    }


def test_all_zero_days() -> None:
    days = [day_row(TODAY - timedelta(days=i), 0) for i in range(30)]
    doc = build(days, RangeName.D30)
    check_document(doc)
    m = doc["analyticsMetrics"]
    assert (m["totalTransfers"], m["avgTransferSize"], m["transfersChange"]) == (0, 0.0, 0.0)
    assert m["peakActivity"] == {"transfers": 0, "volume": 0.0, "date": None}
    assert doc["predictions"]["transfers"] == [0.0] * 7
    assert doc["predictions"]["details"]["transfers"]["method"] == "none"
    assert doc["anomalies"]["transferSpikes"] == []
    assert doc["performance"]["cacheAge"] is None


def test_gaps_are_zero_days_and_a_spike_is_reported() -> None:
    days = [d for d in series(60) if d.day.day % 10 != 3]  # every 3rd, 13th, 23rd missing
    days = [day_row(d.day, 1000) if d.day == date(2026, 11, 15) else d for d in days]
    doc = build(days, RangeName.D30)
    daily = {d["date"]: d for d in doc["dailyData"]}
    assert daily["2026-11-13"]["count"] == 0
    assert daily["2026-11-13"]["avgTransferSize"] == 0.0
    spikes = {s["date"]: s for s in doc["anomalies"]["transferSpikes"]}
    assert spikes["2026-11-15"]["severity"] == "high"
    assert spikes["2026-11-15"]["direction"] == "spike"
    assert doc["dailyData"][spikes["2026-11-15"]["index"]]["date"] == "2026-11-15"
    assert {"2026-11-13", "2026-11-23"} <= {s["date"] for s in doc["anomalies"]["transferSpikes"]}


def test_huge_raw_values() -> None:
    days = [day_row(TODAY - timedelta(days=i), 50 + i % 7, scale=10**30) for i in range(40)]
    doc = build(days, RangeName.D30)
    check_document(doc)
    assert doc["dailyData"][0]["volumeRaw"] == str(days[29].volume)
    assert doc["analyticsMetrics"]["totalVolumeRaw"] == str(sum(d.volume for d in days[:30]))
    assert doc["predictions"]["volume"][0] > 1e13


def test_only_today_has_transfers() -> None:
    doc = build([day_row(TODAY, 12)], RangeName.D7)
    check_document(doc)
    assert doc["predictions"]["transfers"] == [12.0, 12.0, 12.0]  # naive on the one day
    assert doc["predictions"]["details"]["transfers"]["method"] == "naive"
    assert doc["analyticsMetrics"]["peakActivity"]["date"] == TODAY.isoformat()


def test_all_range_fills_from_the_first_day_and_has_no_changes() -> None:
    days = [day_row(TODAY - timedelta(days=40), 5), day_row(TODAY - timedelta(days=2), 7)]
    doc = build(days, RangeName.ALL)
    assert len(doc["dailyData"]) == 41
    assert doc["dailyData"][0]["count"] == 5
    m = doc["analyticsMetrics"]
    assert (m["transfersChange"], m["volumeChange"], m["addressesChange"]) == (None, None, None)
    assert doc["window"]["previousStart"] is None


def test_a_custom_window_in_the_past_forecasts_the_days_after_it() -> None:
    last = TODAY - timedelta(days=10)
    doc = build(series(60), RangeName.CUSTOM, first=last - timedelta(days=20), last=last)
    assert len(doc["dailyData"]) == 21
    assert doc["predictions"]["dates"][0] == (last + timedelta(days=1)).isoformat()
    assert doc["window"]["end"] == last.isoformat()


def test_display_date() -> None:
    assert legacy.display_date(date(2026, 11, 4)) == "Nov 4"
    assert legacy.display_date(date(2027, 1, 31)) == "Jan 31"


def test_anomaly_indexes_point_into_daily_data_after_leading_empty_days() -> None:
    days = series(30)  # the 90-day window's first 60 days are empty
    spike_day = TODAY - timedelta(days=10)
    days = [day_row(d.day, 900) if d.day == spike_day else d for d in days]
    doc = build(days, RangeName.D90)
    spikes = doc["anomalies"]["transferSpikes"]
    assert [s["date"] for s in spikes if s["severity"] == "high"] == [spike_day.isoformat()]
    assert all(doc["dailyData"][s["index"]]["date"] == s["date"] for s in spikes)
    # The empty days before the first transfer are not dips, and do not drag the forecast.
    assert all(s["date"] >= days[-1].day.isoformat() for s in spikes)
    assert all(80 <= v <= 120 for v in doc["predictions"]["transfers"])


def test_the_daily_sums_worked_early_give_the_same_answer() -> None:
    """analyze_sums on the first round trip's days (distinct counts of a day not refreshed
    yet still 0) and finish on the complete inputs equal analyze on the complete inputs."""
    window = ranges.resolve(RangeName.D90, NOW)
    rnd = random.Random(7)
    days = [day_row(window.end - timedelta(days=i), rnd.randint(0, 40)) for i in range(1, 95)]
    days[3] = day_row(days[3].day, 400)  # a spike: anomalies in every series
    early = [replace(d, senders=0, receivers=0, active_addresses=0) for d in days]
    complete = inputs(days, window)
    sums = report.analyze_sums(early, window, complete.decimals)
    assert report.finish(complete, window, sums) == report.analyze(complete, window)
    assert report.analyze(complete, window).anomalies[report.SeriesName.ADDRESSES]


def test_finish_refuses_the_sums_of_other_days() -> None:
    window = ranges.resolve(RangeName.D30, NOW)
    days = [day_row(window.end - timedelta(days=i), 10 + i) for i in range(1, 31)]
    other = [replace(d, transfers=d.transfers + 1) for d in days]
    sums = report.analyze_sums(other, window, 18)
    with pytest.raises(ValueError, match="other days"):
        report.finish(inputs(days, window), window, sums)
