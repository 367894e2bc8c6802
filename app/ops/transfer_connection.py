"""Relay-style windows over the keyset order, shared by GraphQL ``transfers`` and the REST
``cursor`` parameter.

``first`` rows after ``after`` (default 25, at most 1000), or ``last`` rows before
``before``; ``after`` and ``before`` may be combined to read between two cursors. ``last``
reads the order backwards and turns the rows round, so pages are the same whichever way
they are reached. As the Relay specification allows, the flag for the side a window did not
read (``hasPreviousPage`` with ``first``, ``hasNextPage`` with ``last``) only says whether a
cursor bounds that side, without a query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.config import Config
from app.ops import cursors
from app.ops import transfer_inputs as inputs
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.store.transfer_pages import StoredTransfer
from app.store.transfer_sql import Key, Order, PageRequest, TransferFilter

DEFAULT_SIZE = 25
MAX_SIZE = 1000
REVERSED = {Order.NEWEST_FIRST: Order.OLDEST_FIRST, Order.OLDEST_FIRST: Order.NEWEST_FIRST}


@dataclass(frozen=True, slots=True)
class Names:
    """How the API calling names its inputs (for errors)."""

    chain_id: str = "chainId"
    address: str = "address"
    from_address: str = "from"
    to_address: str = "to"
    tx_hash: str = "txHash"
    from_block: str = "fromBlock"
    to_block: str = "toBlock"
    min_value: str = "minValue"
    max_value: str = "maxValue"


@dataclass(frozen=True, slots=True)
class Window:
    rows: tuple[StoredTransfer, ...]
    has_next: bool
    has_previous: bool
    order: Order
    filter: TransferFilter

    def cursor(self, row: StoredTransfer) -> str:
        return cursors.encode(row.key, self.order, self.filter)


def build_filter(
    config: Config,
    *,
    chain_id: int | None = None,
    address: str | None = None,
    from_address: str | None = None,
    to_address: str | None = None,
    tx_hash: str | None = None,
    from_block: int | None = None,
    to_block: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_value: int | None = None,
    max_value: int | None = None,
    names: Names = Names(),
) -> TransferFilter:
    """A validated filter: InvalidInput subclasses name the offending input."""
    if chain_id is not None:
        inputs.chain(config, chain_id, names.chain_id)
    for value, name in ((from_block, names.from_block), (to_block, names.to_block)):
        if value is not None:
            inputs.block(value, name)
    inputs.block_range(from_block, to_block, (names.from_block, names.to_block))
    since = None if since is None else inputs.moment(since)
    until = None if until is None else inputs.moment(until)
    inputs.time_range(since, until)
    for amount, name in ((min_value, names.min_value), (max_value, names.max_value)):
        if amount is not None:
            inputs.value(amount, name)
    inputs.value_range(min_value, max_value)
    return TransferFilter(
        chain_id=chain_id,
        address=None if address is None else inputs.address(address, names.address),
        from_address=None
        if from_address is None
        else inputs.address(from_address, names.from_address),
        to_address=None if to_address is None else inputs.address(to_address, names.to_address),
        tx_hash=None if tx_hash is None else inputs.tx_hash(tx_hash, names.tx_hash),
        from_block=from_block,
        to_block=to_block,
        since=since,
        until=until,
        min_value=min_value,
        max_value=max_value,
    )


def _key(cursor: str | None, order: Order, f: TransferFilter, field: str) -> Key | None:
    return None if cursor is None else cursors.decode(cursor, order, f, field)


async def window(
    state: AppState,
    f: TransferFilter,
    order: Order,
    *,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    first_name: str = "first",
    after_name: str = "after",
) -> Window:
    """One window of rows; raises InvalidInput subclasses for bad sizes or cursors."""
    if first is not None and last is not None:
        raise inputs.InvalidPageSize("first and last cannot be combined", field="last")
    after_key = _key(after, order, f, after_name)
    before_key = _key(before, order, f, "before")
    if last is not None:
        size = inputs.size(last, default=DEFAULT_SIZE, maximum=MAX_SIZE, field="last")
        request = PageRequest(f, REVERSED[order], size, after=before_key, before=after_key)
        page = await service.read_page(state, request)
        return Window(page.rows[::-1], before_key is not None, page.more, order, f)
    size = inputs.size(first, default=DEFAULT_SIZE, maximum=MAX_SIZE, field=first_name)
    page = await service.read_page(state, PageRequest(f, order, size, after_key, before_key))
    return Window(page.rows, page.more, after_key is not None, order, f)
