"""Finality per chain (app.ops.finality): latest vs safe/finalized block, lags, advance."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.types.scalars import SafeInt


@strawberry.type(description="A chain's finality, from the worker's newest probes.")
class ChainFinality:
    chain_id: SafeInt
    chain_name: str
    finality: str = strawberry.field(description="The chain's configured finality rule.")
    source: str | None = strawberry.field(description="rpc, etherscan or explorer.")
    latest_block: SafeInt | None
    safe_block: SafeInt | None = strawberry.field(description="Null: not asked or unknown.")
    finalized_block: SafeInt | None
    finality_block: SafeInt | None = strawberry.field(
        description="The finality point: the finalized block, else the safe one."
    )
    latest_time: datetime | None
    finalized_time: datetime | None
    lag_blocks: SafeInt | None = strawberry.field(description="latestBlock - finalityBlock.")
    lag_seconds: float | None = strawberry.field(
        description="latestTime - finalizedTime, or lagBlocks x block time when estimated."
    )
    lag_estimated: bool
    advanced_at: datetime | None = strawberry.field(
        description="When the finality point reached its current value."
    )
    since_advanced_seconds: float | None
    observed_at: datetime | None = strawberry.field(description="The newest good probe.")
    age_seconds: float | None
    latency_ms: float | None
    last_probe_at: datetime | None
    last_probe_ok: bool | None
    last_outcome: str | None = strawberry.field(description="ok, or the upstream error code.")
    last_error: str | None
