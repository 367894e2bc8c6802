"""``sla``: latency percentiles and success rates per price and finality source."""

from __future__ import annotations

from app.errors import InvalidInput
from app.graphql.context import Info
from app.graphql.types.sla import SourceSla
from app.ops import sla as ops_sla
from app.store.sla import SourceStats


async def sla(info: Info, window: str | None = None, kind: str | None = None) -> list[SourceSla]:
    if window is not None and window not in ops_sla.WINDOWS:
        raise InvalidInput(f"window: {window[:20]!r} is not one of 1h, 24h", field="window")
    if kind is not None and kind not in ("price", "finality"):
        raise InvalidInput(f"kind: {kind[:20]!r} is not price or finality", field="kind")
    stats = await ops_sla.cached(info.context.state)
    return [
        from_stats(item)
        for item in stats
        if window in (None, item.window_name) and kind in (None, item.kind)
    ]


def from_stats(item: SourceStats) -> SourceSla:
    return SourceSla(
        window=item.window_name,
        kind=item.kind,
        source=item.source,
        calls=item.calls,
        successes=item.successes,
        success_rate=item.success_rate,
        latency_p50_ms=item.p50_ms,
        latency_p95_ms=item.p95_ms,
        latency_p99_ms=item.p99_ms,
        last_call_at=item.last_call_at,
    )
