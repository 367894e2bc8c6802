"""``analytics(range, chainId, from, to)``: app.ops.analytics_service's answer, typed.

Bad input is a GraphQL error with ``extensions.code``: ``invalid_chain`` (an unknown chain),
``invalid_range`` (``from``/``to`` missing for CUSTOM, given for another range, ``from``
after ``to``, ``to`` after today, more than 731 days); a malformed date is refused by the
``Date`` scalar before the resolver runs (``invalid_input``)."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Annotated

import strawberry

from app.analytics import anomalies, forecast, series
from app.analytics.inputs import DayBucket
from app.analytics.ranges import RangeName
from app.analytics.report import Analytics, SeriesName
from app.graphql.context import Info
from app.graphql.types import analytics as types
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer_scalars import BigInt
from app.ops import analytics_service as service


async def analytics(
    info: Info,
    range_: Annotated[
        RangeName, strawberry.argument(name="range", description="Default D30.")
    ] = RangeName.D30,
    chain_id: Annotated[
        SafeInt | None, strawberry.argument(description="One chain; omitted: every chain.")
    ] = None,
    from_: Annotated[
        date | None, strawberry.argument(name="from", description="CUSTOM: the first day.")
    ] = None,
    to: Annotated[
        date | None,
        strawberry.argument(description="CUSTOM: the last day (inclusive, not after today)."),
    ] = None,
) -> types.Analytics:
    state = info.context.state
    query = service.query(state.config, range_, chain_id, from_, to)
    return of(await service.analytics(state, query))


def of(answer: service.Answer) -> types.Analytics:
    """The typed answer."""
    result, dec = answer.result, answer.result.decimals
    window = result.window
    newest = result.newest_transfer_at
    age = None if newest is None else max(int((answer.computed_at - newest).total_seconds()), 0)
    return types.Analytics(
        range=answer.query.range,
        chain_id=None if answer.query.chain_id is None else SafeInt(answer.query.chain_id),
        window=types.AnalyticsWindow(
            start=result.days[0].day if result.days else None,
            end=window.end - timedelta(days=1),
            today=window.today,
            previous_start=window.previous.start if window.previous else None,
            previous_end=window.previous.end - timedelta(days=1) if window.previous else None,
        ),
        daily=[_day(d, dec) for d in result.days],
        metrics=_metrics(result, dec),
        predictions=types.AnalyticsPredictions(
            transfers=_forecast(result.forecasts[SeriesName.TRANSFERS]),
            volume=_forecast(result.forecasts[SeriesName.VOLUME]),
        ),
        anomalies=types.AnalyticsAnomalies(
            method="robust-z",
            threshold=anomalies.THRESHOLD,
            transfers=_anomalies(result.anomalies[SeriesName.TRANSFERS]),
            volume=_anomalies(result.anomalies[SeriesName.VOLUME]),
            addresses=_anomalies(result.anomalies[SeriesName.ADDRESSES]),
        ),
        chain_distribution=[
            types.AnalyticsChainShare(
                chain_id=SafeInt(s.chain.chain_id),
                chain_name=s.chain.name,
                transfers=SafeInt(s.chain.transfers),
                volume=BigInt(s.chain.volume),
                volume_tokens=series.tokens(s.chain.volume, dec),
                active_addresses=SafeInt(s.chain.active_addresses),
                share=s.volume_share,
            )
            for s in result.chains
        ],
        top_addresses=[
            types.AnalyticsAddress(
                address=a.address,
                transfers=SafeInt(a.sent + a.received),
                sent=SafeInt(a.sent),
                received=SafeInt(a.received),
                sent_volume=BigInt(a.sent_volume),
                received_volume=BigInt(a.received_volume),
                volume_tokens=series.tokens(a.sent_volume + a.received_volume, dec),
            )
            for a in result.top_addresses
        ],
        top_whales=[
            types.AnalyticsWhale(
                chain_id=SafeInt(t.chain_id),
                chain_name=t.chain_name,
                tx_hash=t.tx_hash,
                log_index=SafeInt(t.log_index),
                from_address=t.from_address,
                to_address=t.to_address,
                value=BigInt(t.value),
                value_tokens=series.tokens(t.value, dec),
                block_time=t.block_time,
            )
            for t in result.whales
        ],
        performance=types.AnalyticsPerformance(
            compute_time_ms=round(answer.compute_time_ms, 2),
            computed_at=answer.computed_at,
            data_points=len(result.days),
            total_transfers_analyzed=SafeInt(result.metrics.total_transfers),
            data_age_seconds=None if age is None else SafeInt(age),
        ),
    )


def _day(d: DayBucket, dec: int) -> types.AnalyticsDay:
    median = d.median_value
    return types.AnalyticsDay(
        date=d.day,
        transfers=SafeInt(d.transfers),
        volume=BigInt(d.volume),
        volume_tokens=series.tokens(d.volume, dec),
        active_addresses=SafeInt(d.active_addresses),
        senders=SafeInt(d.senders),
        receivers=SafeInt(d.receivers),
        largest=BigInt(d.largest),
        median_tokens=None if median is None else series.tokens(Fraction(median), dec),
    )


def _metrics(result: Analytics, dec: int) -> types.AnalyticsMetrics:
    m = result.metrics
    total = m.total_transfers
    return types.AnalyticsMetrics(
        total_transfers=SafeInt(total),
        total_volume=BigInt(m.total_volume),
        total_volume_tokens=series.tokens(m.total_volume, dec),
        avg_transfer_size_tokens=series.tokens(m.total_volume, dec) / total if total else 0.0,
        active_addresses=SafeInt(m.active_addresses),
        senders=None if m.senders is None else SafeInt(m.senders),
        receivers=None if m.receivers is None else SafeInt(m.receivers),
        transfers_change=m.transfers_change,
        volume_change=m.volume_change,
        addresses_change=m.addresses_change,
        days=m.days,
        daily_avg_transfers=m.daily_avg_transfers,
        daily_avg_volume_tokens=series.tokens(m.daily_avg_volume, dec),
        peak=types.AnalyticsPeak(
            date=m.peak.day,
            transfers=SafeInt(m.peak.transfers),
            volume=BigInt(m.peak.volume),
            volume_tokens=series.tokens(m.peak.volume, dec),
        ),
        volatility=m.volatility,
        median_daily_transfers=m.median_daily_transfers,
    )


def _forecast(f: forecast.Forecast) -> types.Forecast:
    return types.Forecast(
        method=f.method,
        level=f.level,
        parameters=[types.ForecastParameter(name=k, value=v) for k, v in f.parameters.items()],
        points=[
            types.ForecastPoint(date=p.day, value=p.value, lower=p.lower, upper=p.upper)
            for p in f.points
        ],
    )


def _anomalies(found: tuple[anomalies.Anomaly, ...]) -> list[types.Anomaly]:
    return [
        types.Anomaly(
            date=a.day,
            index=a.index,
            value=a.value,
            expected=a.expected,
            deviation=a.deviation,
            z_score=a.z,
            severity=a.severity,
            direction=a.direction,
        )
        for a in found
    ]
