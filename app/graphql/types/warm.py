"""Warm status: is each chain's stored data keeping up with the chain (app.warm)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.types.scalars import SafeInt
from app.warm import WarmStatus

strawberry.enum(
    WarmStatus,
    description=(
        "FRESH: synced recently and up to the head; LAGGING: past the fresh threshold;"
        " STALE: past the stale threshold; COLD: never synced or nothing covered."
    ),
)


@strawberry.type(description="One chain's warm status, judged from its ingestion record.")
class ChainWarmStatus:
    chain_id: SafeInt
    chain_name: str
    enabled: bool = strawberry.field(description="Disabled chains never degrade health.")
    status: WarmStatus
    reason: str = strawberry.field(description="Why, in a few words.")
    last_success_at: datetime | None = strawberry.field(
        description="End of the last successful tip cycle."
    )
    since_success_seconds: float | None
    head: SafeInt | None = strawberry.field(description="The head that cycle saw.")
    safe_head: SafeInt | None = strawberry.field(description="The finality point it used.")
    last_covered_block: SafeInt | None
    head_lag: SafeInt | None = strawberry.field(
        description="Blocks between that head and the top of the coverage ledger."
    )
    lag_seconds: float | None = strawberry.field(description="head_lag x the block time.")
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    backoff_until: datetime | None
