"""One address, one search: the reads behind ``/api/address``, ``/api/search`` and the GraphQL
``address`` and ``search`` fields, cached (sections ``address`` and ``search``, dropped on
every announced batch).

Balances: what the stored transfers add up to on the chain (received minus sent), read from
the ``balances`` table the write path keeps in step with the rows (app.store.addresses). It
is ``exact`` where the chain's coverage is complete
(app.ops.transfer_service.ChainState.complete) and ``partial`` otherwise, and may then even
be negative (a spend stored, the receipt not yet).

Search kinds (legacy-api.md §1.7): ``0x`` + 40 hex digits is an address, ``0x`` + 64 a
transaction hash, digits a block number. ENS names are refused (400 ``invalid_query``): the
API never calls an upstream, and resolving a name needs one.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.domain import ADDRESS_RE, TX_HASH_RE, Chain
from app.ops import transfer_inputs as inputs
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.ops.transfer_service import Accuracy
from app.store import addresses as store_addresses
from app.store import pool as store_pool
from app.store.transfer_pages import StoredTransfer
from app.store.transfer_sql import Order, PageRequest, TransferFilter

ADDRESS, SEARCH = "address", "search"
RECENT = 20  # the legacy activity.recentTransfers
TX_LOGS = 100  # logs of one transaction shown by a search
_BLOCK = re.compile(r"^\d{1,19}$")


class SearchKind(enum.StrEnum):
    ADDRESS = "address"
    TRANSACTION = "transaction"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class ChainBalance:
    chain: Chain
    received: int
    sent: int
    transfers: int
    first_time: datetime | None
    last_time: datetime | None
    accuracy: Accuracy

    @property
    def balance(self) -> int:
        return self.received - self.sent


@dataclass(frozen=True, slots=True)
class AddressSummary:
    address: str
    balances: tuple[ChainBalance, ...]  # every enabled chain, and any other with activity
    recent: tuple[StoredTransfer, ...]  # newest first
    accuracy: Accuracy  # of the totals: exact only if every chain listed is

    @property
    def total_balance(self) -> int:
        return sum(item.balance for item in self.balances)

    @property
    def transfer_count(self) -> int:
        return sum(item.transfers for item in self.balances)

    @property
    def chain_count(self) -> int:
        return sum(1 for item in self.balances if item.transfers)


@dataclass(frozen=True, slots=True)
class SearchResult:
    kind: SearchKind
    query: str  # normalised: lowercase hex, block number without leading zeros
    chain_id: int | None
    address: AddressSummary | None = None
    transfers: tuple[StoredTransfer, ...] = ()
    block: int | None = None
    block_chains: dict[int, int] = field(default_factory=dict)  # chain id: transfers

    @property
    def found(self) -> bool:
        if self.kind is SearchKind.ADDRESS:
            return self.address is not None and self.address.transfer_count > 0
        if self.kind is SearchKind.TRANSACTION:
            return bool(self.transfers)
        return bool(self.block_chains)


def _ttl(state: AppState, name: str) -> float:
    settings = state.config.settings
    return (
        settings.cache_ttl_address_seconds if name == ADDRESS else settings.cache_ttl_search_seconds
    )


async def address_summary(state: AppState, address: str) -> AddressSummary:
    """Balances, counts and recent transfers of a validated, lowercase address."""

    async def load() -> AddressSummary:
        async with store_pool.transaction(state.pool) as conn:
            activity = await store_addresses.list_activity(conn, address)
        request = PageRequest(TransferFilter(address=address), Order.NEWEST_FIRST, RECENT)
        recent = await service.read_page(state, request)
        snapshot = await service.chain_state(state)
        balances = _balances(state, snapshot, activity)
        exact = all(item.accuracy is Accuracy.EXACT for item in balances)
        return AddressSummary(
            address, balances, recent.rows, Accuracy.EXACT if exact else Accuracy.PARTIAL
        )

    return await service.cached(state, ADDRESS, _ttl(state, ADDRESS), address, load)


def _balances(
    state: AppState,
    snapshot: service.ChainState,
    activity: Sequence[store_addresses.ChainActivity],
) -> tuple[ChainBalance, ...]:
    by_chain = {item.chain_id: item for item in activity}
    chains = [chain for chain in state.config.chains if chain.enabled or chain.id in by_chain]
    found: list[ChainBalance] = []
    for chain in chains:
        item = by_chain.get(chain.id)
        accuracy = Accuracy.EXACT if snapshot.complete(chain) else Accuracy.PARTIAL
        found.append(
            ChainBalance(
                chain=chain,
                received=item.received if item else 0,
                sent=item.sent if item else 0,
                transfers=item.transfers if item else 0,
                first_time=item.first_time if item else None,
                last_time=item.last_time if item else None,
                accuracy=accuracy,
            )
        )
    return tuple(found)


def detect(query: str, field_name: str = "query") -> tuple[SearchKind, str]:
    """The kind of a search and its normalised text, or InvalidQuery."""
    text = query.strip()
    if not text:
        raise inputs.InvalidQuery("query: missing search text", field=field_name)
    if ADDRESS_RE.match(text):
        return SearchKind.ADDRESS, text.lower()
    if TX_HASH_RE.match(text):
        return SearchKind.TRANSACTION, text.lower()
    if _BLOCK.match(text) and int(text) <= inputs.MAX_BLOCK:
        return SearchKind.BLOCK, str(int(text))
    if text.lower().endswith(".eth"):
        message = "ENS names are not resolved here: search by address, transaction hash or block"
        raise inputs.InvalidQuery(message, field=field_name)
    message = (
        "expected an address (0x + 40 hex), a transaction hash (0x + 64 hex) or a block number"
    )
    raise inputs.InvalidQuery(f"{field_name}: {message}", field=field_name)


async def search(state: AppState, query: str, chain_id: int | None = None) -> SearchResult:
    """What the store holds for a search; ``chain_id`` (validated) narrows it."""
    kind, text = detect(query)

    async def load() -> SearchResult:
        if kind is SearchKind.ADDRESS:
            return SearchResult(kind, text, chain_id, address=await address_summary(state, text))
        if kind is SearchKind.TRANSACTION:
            f = TransferFilter(chain_id=chain_id, tx_hash=text)
            page = await service.read_page(state, PageRequest(f, Order.OLDEST_FIRST, TX_LOGS))
            return SearchResult(kind, text, chain_id, transfers=page.rows)
        async with store_pool.transaction(state.pool) as conn:
            counts = await store_addresses.list_block_activity(conn, int(text), chain_id)
        return SearchResult(kind, text, chain_id, block=int(text), block_chains=counts)

    key = (kind, text, chain_id)
    return await service.cached(state, SEARCH, _ttl(state, SEARCH), key, load)
