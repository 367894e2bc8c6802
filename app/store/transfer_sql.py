"""The statements of transfer pages and counts, composed with psycopg.sql. Pure: no I/O.

The order is ``(block_time, chain_id, block_number, log_index)``, newest or oldest first,
with ``tx_hash`` last: valid chain data never ties on the first four (a log index names one
log of a block), and the primary identity ``(chain_id, tx_hash, log_index)`` makes the five
unique whatever the data. So a page ends exactly at a row and a cursor (that row's key) can
neither skip nor repeat a row, however many are inserted meanwhile. The indexes of migration
0004 hold the first four; PostgreSQL sorts ties after them (an incremental sort). Pages never
use OFFSET; only the legacy ``page`` probe does, on key columns only.

The access path follows the most selective filter; every other filter is a residual condition:

- ``tx_hash``: the identity index (tx_hash first, migration 0005): a handful of rows, sorted;
- ``from`` / ``to`` / ``address``: the ``(address, key)`` indexes of 0004. An address walks
  both sides in key order and merges them (UNION ALL of two ordered scans; a self-transfer
  is taken from the ``from`` side only);
- a block range also bounds block time, from one probe of ``transfers_chain_block_idx`` per
  end (a chain's block time never decreases as its blocks grow: a consensus rule), so the
  time-ordered index is entered at the range instead of being walked down to it. Without a
  chain the query fans out over the ``chains`` table (LATERAL) and merges;
- otherwise ``transfers_chain_time_idx`` (one chain) or ``transfers_keyset_idx`` (all).

A keyset condition also bounds ``block_time`` alone: TimescaleDB excludes chunks on plain
column bounds, not on row comparisons. User values only ever travel as parameters; the
composed text is fixed SQL and identifiers, plus the LIMIT and OFFSET numbers.

Those are written into the text, not sent as parameters, because of prepared statements:
psycopg prepares a statement after a few executions, and PostgreSQL then plans it once for
all parameter values (a generic plan) when that looks as cheap as planning each time. With
``LIMIT $n`` the planner cannot know a page wants 26 rows, so the generic plan of a keyset
page sorts the whole table (50 ms at 10 M rows) and PostgreSQL keeps planning every call
instead: 0.5 to 2 ms on a hypertable of a dozen chunks, more than the page's execution.
With ``LIMIT 26`` the generic plan is the index walk of the custom one, and it is chosen.
They are integers from validated page sizes (``sql.Literal`` of an ``int``), never text.

Counts: an address alone (with or without a chain) is counted from ``balances`` (migration
0006), whose ``transfers`` column the write path keeps equal to the address's stored
transfers per chain (a self-transfer once), in the transaction of the rows: one primary-key
probe per chain instead of reading every index entry of the address. Any other filter
counts the rows themselves.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, LiteralString

from psycopg import sql

Key = tuple[datetime, int, int, int, str]  # block_time, chain, block, log index, tx hash (hex)
Statement = tuple[sql.Composed, dict[str, Any]]
KEY_COLUMNS = ("block_time", "chain_id", "block_number", "log_index", "tx_hash")
COLUMNS = (
    "chain_id", "block_time", "block_number", "block_hash", "tx_hash", "log_index", "tx_index",
    "from_address", "to_address", "value", "nonce", "gas", "gas_price", "gas_used",
    "cumulative_gas_used", "method_id", "function_name",
)  # fmt: skip


class Order(enum.Enum):
    NEWEST_FIRST = "desc"
    OLDEST_FIRST = "asc"


@dataclass(frozen=True, slots=True)
class TransferFilter:
    """What a page or a count is restricted to. Hex values are lowercase ``0x`` strings;
    ``since`` is inclusive, ``until`` exclusive, block and value bounds inclusive."""

    chain_id: int | None = None
    address: str | None = None  # either side
    from_address: str | None = None
    to_address: str | None = None
    tx_hash: str | None = None
    from_block: int | None = None
    to_block: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_value: int | None = None
    max_value: int | None = None

    @property
    def has_blocks(self) -> bool:
        return self.from_block is not None or self.to_block is not None


@dataclass(frozen=True, slots=True)
class PageRequest:
    filter: TransferFilter
    order: Order
    limit: int  # rows to return; ask for one more to learn whether more follow
    after: Key | None = None  # only rows strictly after this key, in ``order``
    before: Key | None = None  # only rows strictly before this key, in ``order``
    offset: int = 0  # rows skipped first: the legacy page probe only


def to_bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


@dataclass(slots=True)
class _Params:
    """The parameters of one statement, named as their placeholders."""

    values: dict[str, Any] = field(default_factory=dict)

    def __call__(self, name: str, value: object) -> sql.Placeholder:
        self.values[name] = value
        return sql.Placeholder(name)


def _names(names: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


def _and(parts: Sequence[sql.Composable]) -> sql.Composable:
    return sql.SQL(" and ").join(parts) if parts else sql.SQL("true")


def order_by(order: Order) -> sql.Composed:
    direction = sql.SQL("desc" if order is Order.NEWEST_FIRST else "asc")
    terms = [sql.SQL("{} {}").format(sql.Identifier(name), direction) for name in KEY_COLUMNS]
    return sql.SQL("order by ") + sql.SQL(", ").join(terms)


def _keyset(p: _Params, key: Key, name: str, greater: bool) -> sql.Composed:
    """Rows whose key is strictly greater (or smaller) than ``key``."""
    op = sql.SQL(">" if greater else "<")
    parts = (*key[:4], to_bytes(key[4]))
    holders = [p(f"{name}_{index}", part) for index, part in enumerate(parts)]
    return sql.SQL("({}) {} ({}) and block_time {}= {}").format(
        _names(KEY_COLUMNS), op, sql.SQL(", ").join(holders), op, holders[0]
    )


def _cursors(p: _Params, request: PageRequest) -> list[sql.Composable]:
    growing = request.order is Order.OLDEST_FIRST  # keys grow down the page
    found: list[sql.Composable] = []
    if request.after is not None:
        found.append(_keyset(p, request.after, "after", greater=growing))
    if request.before is not None:
        found.append(_keyset(p, request.before, "before", greater=not growing))
    return found


_BOUNDS: tuple[tuple[str, LiteralString], ...] = (
    ("from_block", "block_number >= {}"),
    ("to_block", "block_number <= {}"),
    ("since", "block_time >= {}"),
    ("until", "block_time < {}"),
    ("min_value", "value >= {}::numeric"),
    ("max_value", "value <= {}::numeric"),
)
_EQUALS: tuple[tuple[str, LiteralString], ...] = (
    ("chain_id", "chain_id = {}"),
    ("tx_hash", "tx_hash = {}"),
    ("from_address", "from_address = {}"),
    ("to_address", "to_address = {}"),
    ("address", "(from_address = {0} or to_address = {0})"),
)


def _value(f: TransferFilter, name: str) -> object:
    value = getattr(f, name)
    return to_bytes(value) if isinstance(value, str) else value


def conditions(
    p: _Params, f: TransferFilter, skip: frozenset[str] = frozenset()
) -> list[sql.Composable]:
    """A condition for every filter set, except those the access path applies (``skip``)."""
    found: list[sql.Composable] = []
    for name, text in _EQUALS + _BOUNDS:
        if getattr(f, name) is not None and name not in skip:
            found.append(sql.SQL(text).format(p(name, _value(f, name))))
    return found


def _time_bounds(p: _Params, f: TransferFilter, chain: sql.Composable) -> list[sql.Composable]:
    """The block range of ``chain`` as block-time bounds (see the module docstring)."""
    found: list[sql.Composable] = []
    if f.from_block is not None:
        found.append(
            sql.SQL(
                "block_time >= (select x.block_time from transfers x where x.chain_id = {}"
                " and x.block_number >= {} order by x.block_number limit 1)"
            ).format(chain, p("from_block", f.from_block))
        )
    if f.to_block is not None:
        found.append(
            sql.SQL(
                "block_time <= (select x.block_time from transfers x where x.chain_id = {}"
                " and x.block_number <= {} order by x.block_number desc limit 1)"
            ).format(chain, p("to_block", f.to_block))
        )
    return found


def _select(
    columns: sql.Composable,
    where: Sequence[sql.Composable],
    order: Order,
    limit: sql.Composable,
) -> sql.Composed:
    return sql.SQL("select {} from transfers where {} {} limit {}").format(
        columns, _and(where), order_by(order), limit
    )


def _sides(p: _Params, f: TransferFilter) -> list[tuple[str, sql.Composable]]:
    """(filter a side applies, its condition) of the address access path; [] when none."""
    if f.from_address is not None:
        return [
            (
                "from_address",
                sql.SQL("from_address = {}").format(p("from_address", _value(f, "from_address"))),
            )
        ]
    if f.to_address is not None:
        return [
            (
                "to_address",
                sql.SQL("to_address = {}").format(p("to_address", _value(f, "to_address"))),
            )
        ]
    if f.address is None:
        return []
    holder = p("address", _value(f, "address"))
    return [
        ("address", sql.SQL("from_address = {}").format(holder)),
        ("address", sql.SQL("to_address = {0} and from_address <> {0}").format(holder)),
    ]


def page(request: PageRequest, columns: Sequence[str] = COLUMNS) -> Statement:
    """The statement of one page and its parameters."""
    p, f, order = _Params(), request.filter, request.order
    wanted = _names(columns)
    cursor = _cursors(p, request)
    # Literals, not parameters: the planner must see the row count (module docstring).
    inner = sql.Literal(int(request.limit) + int(request.offset))
    outer = sql.SQL("{} offset {}").format(
        sql.Literal(int(request.limit)), sql.Literal(int(request.offset))
    )
    if f.tx_hash is not None:
        return _select(wanted, conditions(p, f) + cursor, order, outer), p.values
    sides = _sides(p, f)
    if sides:
        parts = [
            sql.SQL("({})").format(
                _select(wanted, [side, *conditions(p, f, frozenset({name})), *cursor], order, inner)
            )
            for name, side in sides
        ]
        text = sql.SQL("select * from ({}) as sides {} limit {}")
        return text.format(sql.SQL(" union all ").join(parts), order_by(order), outer), p.values
    if f.has_blocks and f.chain_id is None:
        where = [
            sql.SQL("chain_id = c.chain_id"),
            *conditions(p, f),
            *_time_bounds(p, f, sql.SQL("c.chain_id")),
            *cursor,
        ]
        text = sql.SQL("select t.* from chains c cross join lateral ({}) as t {} limit {}")
        return text.format(_select(wanted, where, order, inner), order_by(order), outer), p.values
    where = conditions(p, f)
    if f.has_blocks:
        where += _time_bounds(p, f, p("chain_id", f.chain_id))
    return _select(wanted, where + cursor, order, outer), p.values


def _address_count(p: _Params, f: TransferFilter) -> Statement:
    """An address's rows from its two indexes alone (index-only scans): rows sent plus rows
    received, minus self-transfers (counted on both sides; a bitmap AND of the two indexes
    that visits the table for those rare rows only). The residual filters (chain, blocks,
    time) are columns of both indexes."""
    holder = p("address", _value(f, "address"))
    rest = conditions(p, f, frozenset({"address"}))
    sides = [
        [sql.SQL("from_address = {}").format(holder), *rest],
        [sql.SQL("to_address = {}").format(holder), *rest],
        [sql.SQL("from_address = {0} and to_address = {0}").format(holder), *rest],
    ]
    counts = [sql.SQL("(select count(*) from transfers where {})").format(_and(w)) for w in sides]
    return sql.SQL("select {} + {} - {} as n").format(*counts), p.values


def _balances_count(p: _Params, f: TransferFilter) -> Statement:
    """An address's transfers from ``balances`` (module docstring): per chain, the write path
    counts each stored row the address sent or received once, so the sum is the count of
    ``_address_count`` without reading the rows' index entries. The chains come as an array
    so that the plan is one probe of the primary key (chain_id, address) per chain whatever
    the statistics: as a join, a small table was read whole instead."""
    holder = p("address", _value(f, "address"))
    chains: sql.Composable = sql.SQL("any(array(select chain_id from chains))")
    if f.chain_id is not None:
        chains = p("chain_id", f.chain_id)
    text = sql.SQL(
        "select coalesce(sum(transfers), 0)::bigint as n from balances"
        " where chain_id = {} and address = {}"
    )
    return text.format(chains, holder), p.values


def count(f: TransferFilter) -> Statement:
    """The exact number of rows ``f`` selects."""
    p = _Params()
    if f == TransferFilter(chain_id=f.chain_id, address=f.address) and f.address is not None:
        return _balances_count(p, f)
    plain_address = f.from_address is None and f.to_address is None and f.tx_hash is None
    if f.address is not None and plain_address and f.min_value is None and f.max_value is None:
        return _address_count(p, f)
    if f.has_blocks and f.chain_id is None and f.tx_hash is None:
        # One index range of transfers_chain_block_idx per chain, not a scan of the table.
        text = sql.SQL(
            "select coalesce(sum(n), 0)::bigint as n from chains c cross join lateral"
            " (select count(*) as n from transfers where chain_id = c.chain_id and {}) as t"
        )
        return text.format(_and(conditions(p, f))), p.values
    text = sql.SQL("select count(*) as n from transfers where {}")
    return text.format(_and(conditions(p, f))), p.values
