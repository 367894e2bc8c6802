"""DataLoaders, one set per GraphQL request: N lookups of one kind become one store read.

- ``chain``: a Transfer's or a balance's ``chain`` field. Every chain comes from the cached
  chain state (one read for the whole request, whatever the number of rows).
- ``transfer``: the ``transfer(chainId, txHash, logIndex)`` field, however many aliases a
  query holds: one ``find_transfers`` statement for the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from app.graphql.resolvers.chains import chain_from_row
from app.graphql.types.chain import Chain
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.store import pool as store_pool
from app.store import transfer_pages
from app.store.transfer_pages import Identity, StoredTransfer


@dataclass(frozen=True, slots=True)
class Loaders:
    chain: DataLoader[int, Chain | None]
    transfer: DataLoader[Identity, StoredTransfer | None]


def create(state: AppState) -> Loaders:
    async def load_chains(ids: list[int]) -> Sequence[Chain | None]:
        rows = (await service.chain_state(state)).rows
        return [chain_from_row(rows[chain_id]) if chain_id in rows else None for chain_id in ids]

    async def load_transfers(keys: list[Identity]) -> Sequence[StoredTransfer | None]:
        async with store_pool.transaction(state.pool) as conn:
            found = await transfer_pages.find_transfers(conn, keys)
        return [found.get(key) for key in keys]

    return Loaders(chain=DataLoader(load_chains), transfer=DataLoader(load_transfers))
