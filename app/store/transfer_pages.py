"""Transfers as the API reads them: keyset pages, exact counts, rows by identity or block range.

Statements with user filters come from app.store.transfer_sql (composed, parameters only);
the fixed ones from sql/queries/transfer_api.sql. Every function takes a connection: the
caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.store import queries, transfer_sql
from app.store.errors import wrap_exceptions
from app.store.pool import Connection
from app.store.transfer_sql import Key, PageRequest, TransferFilter, to_bytes

Q = queries.load("transfer_api")
Identity = tuple[int, str, int]  # chain_id, tx_hash (0x hex), log_index


@dataclass(frozen=True, slots=True)
class StoredTransfer:
    """A transfers row; the Etherscan fields are None where the source did not give them."""

    chain_id: int
    block_time: datetime
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    tx_index: int | None
    from_address: str
    to_address: str
    value: int
    nonce: int | None = None
    gas: int | None = None
    gas_price: int | None = None
    gas_used: int | None = None
    cumulative_gas_used: int | None = None
    method_id: str | None = None
    function_name: str | None = None

    @property
    def key(self) -> Key:
        return (self.block_time, self.chain_id, self.block_number, self.log_index, self.tx_hash)

    @property
    def identity(self) -> Identity:
        return (self.chain_id, self.tx_hash, self.log_index)


def _hex(value: bytes | memoryview) -> str:
    return "0x" + bytes(value).hex()


def _optional_int(value: Decimal | int | None) -> int | None:
    return None if value is None else int(value)


def from_row(row: dict[str, Any]) -> StoredTransfer:
    return StoredTransfer(
        chain_id=row["chain_id"],
        block_time=row["block_time"],
        block_number=row["block_number"],
        block_hash=_hex(row["block_hash"]),
        tx_hash=_hex(row["tx_hash"]),
        log_index=row["log_index"],
        tx_index=row["tx_index"],
        from_address=_hex(row["from_address"]),
        to_address=_hex(row["to_address"]),
        value=int(row["value"]),
        nonce=row["nonce"],
        gas=row["gas"],
        gas_price=_optional_int(row["gas_price"]),
        gas_used=row["gas_used"],
        cumulative_gas_used=row["cumulative_gas_used"],
        method_id=row["method_id"],
        function_name=row["function_name"],
    )


@wrap_exceptions
async def list_page(conn: Connection, request: PageRequest) -> list[StoredTransfer]:
    """Up to ``request.limit`` rows in key order, after/before the request's keys."""
    statement, params = transfer_sql.page(request)
    cur = await conn.execute(statement, params)
    return [from_row(row) for row in await cur.fetchall()]


@wrap_exceptions
async def find_key_at(conn: Connection, request: PageRequest) -> Key | None:
    """The key of the row ``request.offset`` rows into the order (key columns only), or None
    past the end. The legacy ``page`` parameter's probe; ``request.limit`` is ignored."""
    probe = PageRequest(
        request.filter, request.order, 1, request.after, request.before, request.offset
    )
    statement, params = transfer_sql.page(probe, transfer_sql.KEY_COLUMNS)
    cur = await conn.execute(statement, params)
    row = await cur.fetchone()
    if row is None:
        return None
    return (
        row["block_time"], row["chain_id"], row["block_number"], row["log_index"],
        _hex(row["tx_hash"]),
    )  # fmt: skip


@wrap_exceptions
async def count(conn: Connection, transfer_filter: TransferFilter) -> int:
    """Exactly how many stored rows the filter selects (cost: every one of them is read)."""
    statement, params = transfer_sql.count(transfer_filter)
    cur = await conn.execute(statement, params)
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


@wrap_exceptions
async def count_chain(conn: Connection, chain_id: int) -> int:
    cur = await conn.execute(Q["count_chain"], {"chain_id": chain_id})
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


@wrap_exceptions
async def find_transfers(
    conn: Connection, keys: Sequence[Identity]
) -> dict[Identity, StoredTransfer]:
    """The rows of these identities that exist, by identity; one statement for all."""
    if not keys:
        return {}
    params = {
        "chain_ids": [key[0] for key in keys],
        "tx_hashes": [to_bytes(key[1]) for key in keys],
        "log_indexes": [key[2] for key in keys],
    }
    cur = await conn.execute(Q["find_transfers"], params)
    found = [from_row(row) for row in await cur.fetchall()]
    return {row.identity: row for row in found}


@wrap_exceptions
async def list_block_range(
    conn: Connection, chain_id: int, from_block: int, to_block: int, limit: int
) -> list[StoredTransfer]:
    """Rows of blocks [from_block, to_block] of a chain, oldest first, at most ``limit``."""
    params = {"chain_id": chain_id, "from_block": from_block, "to_block": to_block, "limit": limit}
    cur = await conn.execute(Q["list_block_range"], params)
    return [from_row(row) for row in await cur.fetchall()]
