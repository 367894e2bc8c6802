"""``finality``: every enabled chain's (or one chain's) finality, from the store."""

from __future__ import annotations

from app.graphql.context import Info
from app.graphql.types.finality import ChainFinality
from app.graphql.types.scalars import SafeInt
from app.ops import finality as ops_finality
from app.ops import transfer_inputs
from app.ops.finality import FinalityView


async def finality(info: Info, chain_id: SafeInt | None = None) -> list[ChainFinality]:
    state = info.context.state
    if chain_id is not None and chain_id not in {c.id for c in state.config.enabled_chains}:
        raise transfer_inputs.InvalidChain(
            f"chainId: {chain_id} is not an enabled chain", field="chainId"
        )
    return [from_view(view) for view in await ops_finality.collect(state, chain_id)]


def from_view(view: FinalityView) -> ChainFinality:
    row = view.stored
    return ChainFinality(
        chain_id=SafeInt(view.chain.id),
        chain_name=view.chain.name,
        finality=str(view.chain.finality),
        source=row.source if row else None,
        latest_block=_safe(row.latest_block if row else None),
        safe_block=_safe(row.safe_block if row else None),
        finalized_block=_safe(row.finalized_block if row else None),
        finality_block=_safe(view.point),
        latest_time=row.latest_time if row else None,
        finalized_time=row.finalized_time if row else None,
        lag_blocks=_safe(view.lag_blocks),
        lag_seconds=view.lag_seconds,
        lag_estimated=view.lag_estimated,
        advanced_at=row.advanced_at if row else None,
        since_advanced_seconds=view.since_advanced_seconds,
        observed_at=row.observed_at if row else None,
        age_seconds=view.age_seconds,
        latency_ms=row.latency_ms if row else None,
        last_probe_at=row.last_observed_at if row else None,
        last_probe_ok=row.last_ok if row else None,
        last_outcome=row.last_outcome if row else None,
        last_error=None if row is None or row.last_ok else row.last_detail,
    )


def _safe(value: int | None) -> SafeInt | None:
    return None if value is None else SafeInt(value)
