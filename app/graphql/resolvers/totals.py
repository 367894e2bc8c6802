"""``totals(chainId)``: transfer count, volume, holders and supply with their accuracy."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.context import Info
from app.graphql.types.scalars import SafeInt
from app.graphql.types.totals import ChainTotals, Figure, Totals, TotalsCoverage, UpstreamFigure
from app.graphql.types.transfer_scalars import BigInt
from app.ops import totals_service
from app.ops import transfer_inputs as inputs
from app.totals import ChainTotals as ChainFigures
from app.totals import Figure as FigureValue
from app.totals import FigureName


async def totals(
    info: Info,
    chain_id: Annotated[
        SafeInt | None, strawberry.argument(description="One chain; omitted: every enabled chain.")
    ] = None,
) -> Totals:
    state = info.context.state
    if chain_id is not None:
        inputs.chain(state.config, chain_id)  # invalid_chain for an unknown id
    answer = await totals_service.totals(state, chain_id)
    sums = answer.figures
    return Totals(
        transfers=figure(sums[FigureName.TRANSFERS]),
        volume=figure(sums[FigureName.VOLUME]),
        holders=figure(sums[FigureName.HOLDERS]),
        supply=figure(sums[FigureName.SUPPLY]),
        chains=[chain_totals(chain.name, item) for chain, item in answer.chains],
    )


def chain_totals(name: str, item: ChainFigures) -> ChainTotals:
    cover = item.coverage
    return ChainTotals(
        chain_id=SafeInt(item.chain_id),
        chain_name=name,
        coverage=TotalsCoverage(
            first_block=None if cover.first_block is None else SafeInt(cover.first_block),
            last_block=None if cover.last_block is None else SafeInt(cover.last_block),
            gaps=cover.gaps,
            complete=cover.complete,
        ),
        transfers=figure(item.figures[FigureName.TRANSFERS]),
        volume=figure(item.figures[FigureName.VOLUME]),
        holders=figure(item.figures[FigureName.HOLDERS]),
        supply=figure(item.figures[FigureName.SUPPLY]),
    )


def figure(value: FigureValue) -> Figure:
    return Figure(
        value=None if value.value is None else BigInt(value.value),
        accuracy=value.accuracy,
        source=value.source,
        source_timestamp=value.source_timestamp,
        age_seconds=value.age_seconds,
        stale=value.stale,
        upstream=[
            UpstreamFigure(
                source=item.source,
                value=None if item.value is None else BigInt(item.value),
                fetched_at=item.fetched_at,
                age_seconds=item.age_seconds,
                stale=item.stale,
                variance=item.variance,
            )
            for item in value.upstream
        ],
    )
