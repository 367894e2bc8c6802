"""``warmStatus``: every configured chain's warm status (as in GET /api/health)."""

from __future__ import annotations

from app.graphql.context import Info
from app.graphql.types.scalars import SafeInt
from app.graphql.types.warm import ChainWarmStatus
from app.ops import warm as ops_warm


async def warm_status(info: Info) -> list[ChainWarmStatus]:
    return [from_item(item) for item in await ops_warm.collect(info.context.state)]


def from_item(item: ops_warm.ChainWarm) -> ChainWarmStatus:
    reading, status = item.reading, item.status
    return ChainWarmStatus(
        chain_id=SafeInt(item.chain.id),
        chain_name=item.chain.name,
        enabled=item.chain.enabled,
        status=reading.status,
        reason=reading.reason,
        last_success_at=status.last_success_at if status else None,
        since_success_seconds=reading.since_success_seconds,
        head=_safe(status.head if status else None),
        safe_head=_safe(status.safe_head if status else None),
        last_covered_block=_safe(item.last_covered_block),
        head_lag=_safe(reading.head_lag_blocks),
        lag_seconds=reading.lag_seconds,
        consecutive_failures=status.consecutive_failures if status else 0,
        last_error=status.last_error if status else None,
        last_error_at=status.last_error_at if status else None,
        backoff_until=status.backoff_until if status else None,
    )


def _safe(value: int | None) -> SafeInt | None:
    return None if value is None else SafeInt(value)
