"""``transferAdded``: the transfers of each ingestion batch as it commits (graphql-ws).

Events come from the API's LISTEN/NOTIFY refresher through app.ops.transfer_feed; each
batch's rows are read from the store once and pushed to every subscriber concerned.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from app.errors import DatabaseUnavailable
from app.graphql.context import Info
from app.graphql.types.scalars import SafeInt
from app.graphql.types.transfer import TransferBatch, from_row
from app.ops import transfer_inputs as inputs
from app.ops.transfer_feed import FeedBatch, Subscription


async def transfer_added(
    info: Info, chain_id: SafeInt | None = None
) -> AsyncIterator[TransferBatch]:
    # A coroutine returning the stream, not an async generator: the checks run when the
    # subscription is created, so a bad chain is an "error" message, not a first "next".
    state = info.context.state
    if chain_id is not None:
        inputs.chain(state.config, chain_id)
    if state.feed is None:  # a wiring problem: the API process always has a feed
        raise DatabaseUnavailable("new transfers are not being followed")
    return _stream(state.feed.subscribe(chain_id))


async def _stream(subscription: Subscription) -> AsyncGenerator[TransferBatch, None]:
    try:
        async for batch in subscription:
            yield batch_from(batch)
    finally:
        subscription.close()


def batch_from(batch: FeedBatch) -> TransferBatch:
    return TransferBatch(
        chain_id=None if batch.chain_id is None else SafeInt(batch.chain_id),
        from_block=None if batch.from_block is None else SafeInt(batch.from_block),
        to_block=None if batch.to_block is None else SafeInt(batch.to_block),
        inserted=batch.inserted,
        transfers=[from_row(row) for row in batch.transfers],
        truncated=batch.truncated,
        gap=batch.gap,
    )
