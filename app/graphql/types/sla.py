"""SLA statistics of upstream calls (app.ops.sla)."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.type(description="One source's calls over one window.")
class SourceSla:
    window: str = strawberry.field(description="1h or 24h, ending now.")
    kind: str = strawberry.field(description="price or finality.")
    source: str = strawberry.field(description="coingecko, ..., or rpc / etherscan / explorer.")
    calls: int
    successes: int
    success_rate: float = strawberry.field(description="successes / calls, 0 to 1.")
    latency_p50_ms: float = strawberry.field(
        description="Median latency of every call, failures included (continuous percentile)."
    )
    latency_p95_ms: float
    latency_p99_ms: float
    last_call_at: datetime
