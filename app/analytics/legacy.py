"""The legacy ``GET /api/analytics`` document (legacy-api.md §5), field by field, from
:class:`app.analytics.report.Analytics`.

Every legacy field keeps its name, type and rounding: volumes in tokens as numbers (4 dp),
changes and daily averages 2 dp, ``zScore`` a string, ``percentage`` a string ending in "%".
Additions never change a legacy field: exact raw-unit strings beside rounded volumes
(``volumeRaw``…), the forecast's dates, method and intervals (``predictions.dates``,
``predictions.details``), each anomaly's date, expected value, deviation and severity, the
window's days (``window``). Where the legacy crashed or divided by zero the value is documented
in docs/analytics.md (a change from 0 is null, an average of nothing is 0).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from app.analytics import anomalies, breakdowns, forecast, series
from app.analytics.inputs import AddressActivity, DayBucket, LargeTransfer
from app.analytics.metrics import Metrics
from app.analytics.report import Analytics, SeriesName

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SPIKES = {
    SeriesName.TRANSFERS: "transferSpikes",
    SeriesName.VOLUME: "volumeSpikes",
    SeriesName.ADDRESSES: "addressSpikes",
}

Document = dict[str, Any]


def document(
    result: Analytics,
    *,
    time_range: str,
    chain_id: str,
    now: datetime,
    compute_time_ms: float,
    cache_status: str = "persistent-cache",
) -> Document:
    """The legacy analytics document; ``chain_id`` is the normalised request string."""
    dec = result.decimals
    return {
        "success": True,
        "timeRange": time_range,
        "chainId": chain_id,
        "timestamp": _iso(now),
        "window": _window(result),
        "dailyData": [_day(d, dec) for d in result.days],
        "analyticsMetrics": _metrics(result.metrics, dec),
        "predictions": _predictions(result),
        "anomalies": _anomalies(result),
        "chainDistribution": [_chain(share, dec) for share in result.chains],
        "topAddresses": [_address(a, dec) for a in result.top_addresses],
        "topWhales": [_whale(t, dec) for t in result.whales],
        "performance": _performance(result, now, compute_time_ms, cache_status),
    }


def display_date(day: date) -> str:
    """en-US ``{month: "short", day: "numeric"}``: "Nov 4" (of the UTC day, not server time)."""
    return f"{_MONTHS[day.month - 1]} {day.day}"


def _window(result: Analytics) -> Document:
    first = result.days[0].day if result.days else None
    previous = result.window.previous
    return {
        "start": _date(first),
        "end": _date(result.window.end - timedelta(days=1)),  # the last day, inclusive
        "today": _date(result.window.today),
        "previousStart": _date(previous.start if previous else None),
        "previousEnd": _date(previous.end - timedelta(days=1) if previous else None),
    }


def _day(d: DayBucket, dec: int) -> Document:
    volume = series.tokens(d.volume, dec)
    median = None if d.median_value is None else series.tokens(Fraction(d.median_value), dec)
    return {
        "date": d.day.isoformat(),
        "displayDate": display_date(d.day),
        "count": d.transfers,
        "volume": _round(volume, 4),
        "uniqueAddresses": d.active_addresses,
        "avgTransferSize": _round(volume / d.transfers, 4) if d.transfers else 0.0,
        "medianTransferSize": median,
        "volumeRaw": str(d.volume),
        "uniqueSenders": d.senders,
        "uniqueReceivers": d.receivers,
        "largestTransfer": _round(series.tokens(d.largest, dec), 4),
    }


def _metrics(m: Metrics, dec: int) -> Document:
    volume = series.tokens(m.total_volume, dec)
    return {
        "totalTransfers": m.total_transfers,
        "totalVolume": _round(volume, 4),
        "avgTransferSize": _round(volume / m.total_transfers, 4) if m.total_transfers else 0.0,
        "activeAddresses": m.active_addresses,
        "transfersChange": _round_or_none(m.transfers_change, 2),
        "volumeChange": _round_or_none(m.volume_change, 2),
        "addressesChange": _round_or_none(m.addresses_change, 2),
        "dailyAvgTransfers": _round(m.daily_avg_transfers, 2),
        "dailyAvgVolume": _round(series.tokens(m.daily_avg_volume, dec), 4),
        "peakActivity": {
            "transfers": m.peak.transfers,
            "volume": _round(series.tokens(m.peak.volume, dec), 4),
            "date": _date(m.peak.day),
        },
        "volatility": _round(m.volatility, 2),
        "medianDailyTransfers": _round(m.median_daily_transfers, 2),
        "totalVolumeRaw": str(m.total_volume),
        "uniqueSenders": m.senders,
        "uniqueReceivers": m.receivers,
    }


def _predictions(result: Analytics) -> Document:
    transfers = result.forecasts[SeriesName.TRANSFERS]
    volume = result.forecasts[SeriesName.VOLUME]
    return {
        "transfers": [_round(p.value, 2) for p in transfers.points],
        "volume": [_round(p.value, 2) for p in volume.points],
        "dates": [p.day.isoformat() for p in transfers.points],
        "details": {
            "transfers": _forecast_detail(transfers, 2),
            "volume": _forecast_detail(volume, 4),
        },
    }


def _forecast_detail(f: forecast.Forecast, places: int) -> Document:
    return {
        "method": f.method.value,
        "level": f.level,
        "parameters": {k: _round(v, 6) for k, v in f.parameters.items()},
        "points": [
            {
                "date": p.day.isoformat(),
                "value": _round(p.value, places),
                "lower": _round_or_none(p.lower, places),
                "upper": _round_or_none(p.upper, places),
            }
            for p in f.points
        ],
    }


def _anomalies(result: Analytics) -> Document:
    doc: Document = {"method": "robust-z", "threshold": anomalies.THRESHOLD}
    for name, key in _SPIKES.items():
        places = 4 if name is SeriesName.VOLUME else 2
        doc[key] = [_spike(a, name, places) for a in result.anomalies[name]]
    return doc


def _spike(a: anomalies.Anomaly, name: SeriesName, places: int) -> Document:
    return {
        "index": a.index,
        "value": a.value if name is SeriesName.VOLUME else round(a.value),
        "zScore": f"{a.z:.2f}",
        "date": a.day.isoformat(),
        "expected": _round(a.expected, places),
        "deviation": _round(a.deviation, places),
        "severity": a.severity.value,
        "direction": a.direction,
    }


def _chain(share: breakdowns.ChainShare, dec: int) -> Document:
    c = share.chain
    return {
        "chain": c.name,
        "count": c.transfers,
        "volume": _round(series.tokens(c.volume, dec), 4),
        "uniqueAddresses": c.active_addresses,
        "percentage": f"{share.volume_share:.2f}%",
        "chainId": c.chain_id,
        "volumeRaw": str(c.volume),
    }


def _address(a: AddressActivity, dec: int) -> Document:
    return {
        "address": a.address,
        "totalTxs": a.sent + a.received,
        "sent": a.sent,
        "received": a.received,
        "volume": _round(series.tokens(a.sent_volume + a.received_volume, dec), 4),
        "sentVolumeRaw": str(a.sent_volume),
        "receivedVolumeRaw": str(a.received_volume),
    }


def _whale(t: LargeTransfer, dec: int) -> Document:
    return {
        "hash": t.tx_hash,
        "from": t.from_address,
        "to": t.to_address,
        "value": _round(series.tokens(t.value, dec), 4),
        "timeStamp": int(t.block_time.timestamp()),
        "chain": t.chain_name,
        "chainId": t.chain_id,
        "logIndex": t.log_index,
        "valueRaw": str(t.value),
    }


def _performance(
    result: Analytics, now: datetime, compute_time_ms: float, cache_status: str
) -> Document:
    newest = result.newest_transfer_at
    return {
        "computeTimeMs": _round(compute_time_ms, 2),
        "dataPoints": len(result.days),
        "totalTransfersAnalyzed": result.metrics.total_transfers,
        "cacheStatus": cache_status,
        "cacheAge": max(int((now - newest).total_seconds()), 0) if newest else None,
        "mode": "persistent",
    }


def _round(value: float, places: int) -> float:
    return round(value, places) + 0.0  # + 0.0: never "-0.0" in JSON


def _round_or_none(value: float | None, places: int) -> float | None:
    return None if value is None else _round(value, places)


def _date(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _iso(now: datetime) -> str:
    """JavaScript's toISOString: UTC, milliseconds, "Z"."""
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
