"""The ``analytics`` answer (docs/analytics.md): daily series, metrics, forecasts, anomalies,
breakdowns. Amounts are exact raw units (BigInt) with a token figure (Float) beside them."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from app.analytics.anomalies import Severity
from app.analytics.forecast import Method
from app.analytics.ranges import RangeName
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer_scalars import BigInt

# Registered under their GraphQL names; annotations use the Python enums themselves.
strawberry.enum(
    RangeName,
    name="AnalyticsRange",
    description=(
        "D7, D30, D90: the last 7, 30 or 90 UTC calendar days, today (partial) included;"
        " ALL: from the first stored day; CUSTOM: the days from `from` to `to`, inclusive."
    ),
)
strawberry.enum(
    Severity,
    name="AnomalySeverity",
    description="By the robust z-score |z|: LOW from 3.5, MEDIUM from 5, HIGH from 8.",
)
strawberry.enum(
    Method,
    name="ForecastMethod",
    description=(
        "NONE: no activity; NAIVE: one day; THEIL_SEN: a robust line (2-13 days); otherwise"
        " the exponential-smoothing form AICc picked (docs/analytics.md)."
    ),
)


@strawberry.type(description="The UTC days an answer covers (inclusive).")
class AnalyticsWindow:
    start: date | None = strawberry.field(description="First day; null: nothing stored (ALL).")
    end: date
    today: date = strawberry.field(description="Today (UTC), partial when in the window.")
    previous_start: date | None = strawberry.field(description="Null for ALL.")
    previous_end: date | None


@strawberry.type(description="One UTC day (zero-filled: a day without transfers is all 0).")
class AnalyticsDay:
    date: date
    transfers: SafeInt
    volume: BigInt = strawberry.field(description="Sum of amounts, raw units.")
    volume_tokens: float
    active_addresses: SafeInt = strawberry.field(description="Distinct senders or receivers.")
    senders: SafeInt
    receivers: SafeInt
    largest: BigInt = strawberry.field(description="Largest single transfer, raw units.")
    median_tokens: float | None = strawberry.field(
        description="Median transfer amount, tokens; null on a day without transfers or when"
        " the store keeps no exact median."
    )


@strawberry.type(description="The busiest day: most transfers, then volume, then earliest.")
class AnalyticsPeak:
    date: date | None
    transfers: SafeInt
    volume: BigInt
    volume_tokens: float


@strawberry.type(description="Headline metrics, with changes against the previous period.")
class AnalyticsMetrics:
    total_transfers: SafeInt
    total_volume: BigInt
    total_volume_tokens: float
    avg_transfer_size_tokens: float = strawberry.field(description="0 with no transfers.")
    active_addresses: SafeInt = strawberry.field(description="Distinct over the whole window.")
    senders: SafeInt | None
    receivers: SafeInt | None
    transfers_change: float | None = strawberry.field(
        description="Percent against the previous period; null for ALL or growth from 0."
    )
    volume_change: float | None
    addresses_change: float | None
    days: int = strawberry.field(description="Days in the window, today included.")
    daily_avg_transfers: float
    daily_avg_volume_tokens: float
    peak: AnalyticsPeak
    volatility: float = strawberry.field(
        description="Population standard deviation of the daily counts."
    )
    median_daily_transfers: float


@strawberry.type(description="A forecast day with its 80 % prediction interval.")
class ForecastPoint:
    date: date
    value: float
    lower: float | None = strawberry.field(description="Null when the history is too short.")
    upper: float | None


@strawberry.type(description="A fitted parameter of a forecast (alpha, beta, gamma, sigma…).")
class ForecastParameter:
    name: str
    value: float


@strawberry.type(description="How a series was forecast, and the forecast.")
class Forecast:
    method: Method
    level: float = strawberry.field(description="Coverage of the intervals (0.8).")
    parameters: list[ForecastParameter]
    points: list[ForecastPoint]


@strawberry.type(description="Forecasts of the days after the window (volume in tokens).")
class AnalyticsPredictions:
    transfers: Forecast
    volume: Forecast


@strawberry.type(description="A day far from what the days around it lead one to expect.")
class Anomaly:
    date: date
    index: int = strawberry.field(description="Position of the day in `daily`.")
    value: float
    expected: float
    deviation: float = strawberry.field(description="value - expected.")
    z_score: float = strawberry.field(description="Robust z-score (negative for a dip).")
    severity: Severity
    direction: str = strawberry.field(description="spike or dip.")


@strawberry.type(description="Anomalous days per series (robust z-scores, |z| >= threshold).")
class AnalyticsAnomalies:
    method: str
    threshold: float
    transfers: list[Anomaly]
    volume: list[Anomaly] = strawberry.field(description="Values in tokens.")
    addresses: list[Anomaly] = strawberry.field(description="Active addresses per day.")


@strawberry.type(description="A chain's share of the window.")
class AnalyticsChainShare:
    chain_id: SafeInt
    chain_name: str
    transfers: SafeInt
    volume: BigInt
    volume_tokens: float
    active_addresses: SafeInt
    share: float = strawberry.field(description="Percent of the window's volume; 0 if none.")


@strawberry.type(description="One of the most active addresses of the window.")
class AnalyticsAddress:
    address: str
    transfers: SafeInt = strawberry.field(description="sent + received.")
    sent: SafeInt
    received: SafeInt
    sent_volume: BigInt
    received_volume: BigInt
    volume_tokens: float = strawberry.field(description="Sent plus received, tokens.")


@strawberry.type(description="One of the largest transfers of the window.")
class AnalyticsWhale:
    chain_id: SafeInt
    chain_name: str
    tx_hash: str
    log_index: SafeInt
    from_address: str
    to_address: str
    value: BigInt
    value_tokens: float
    block_time: datetime


@strawberry.type(description="How the answer was made.")
class AnalyticsPerformance:
    compute_time_ms: float = strawberry.field(description="Store reads and computation.")
    computed_at: datetime = strawberry.field(description="When the store was read.")
    data_points: int = strawberry.field(description="Days in `daily`.")
    total_transfers_analyzed: SafeInt
    data_age_seconds: SafeInt | None = strawberry.field(
        description="Seconds from the newest stored transfer to computedAt; null: none stored."
    )


@strawberry.type(description="Analytics of a window, from the store's daily aggregates.")
class Analytics:
    range: RangeName
    chain_id: SafeInt | None = strawberry.field(description="Null: every chain.")
    window: AnalyticsWindow
    daily: list[AnalyticsDay] = strawberry.field(description="Every day of the window.")
    metrics: AnalyticsMetrics
    predictions: AnalyticsPredictions
    anomalies: AnalyticsAnomalies
    chain_distribution: list[AnalyticsChainShare] = strawberry.field(
        description="By volume, then transfers, descending."
    )
    top_addresses: list[AnalyticsAddress] = strawberry.field(
        description="The 15 with the most transfers, then volume."
    )
    top_whales: list[AnalyticsWhale] = strawberry.field(
        description="The 15 largest transfers, largest then newest first."
    )
    performance: AnalyticsPerformance
