"""Holder balances per (chain, address), as the stored transfers add them up.

The table (sql/migrations/0006_balances.sql) is written only by the write path: each batch
of app.store.transfers adds its new rows' deltas, each rewind of app.store.reorgs subtracts
the rows it deletes, in the same transaction as the rows. So a balance here always equals
received minus sent over the stored transfers, and where a chain's coverage runs from its
first block without a gap (:attr:`BalanceSummary.complete`) it is the chain's true balance.

The zero address sends every mint and receives every burn: supply is minus its balance, and
it is never a holder. Holders are the other addresses with a positive balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("balances")
ZERO_ADDRESS = "0x" + "00" * 20
HolderKey = tuple[int, str, int]  # (balance, address, chain id): the holders order's key


@dataclass(frozen=True, slots=True)
class BalanceSummary:
    chain_id: int
    holders: int  # addresses other than zero with balance > 0
    supply: int  # minted minus burned = -balance of the zero address (raw units)
    addresses: int  # addresses with a balances row, zero excluded
    covered_from: int | None  # lowest covered block (coverage ledger), None if none
    covered_to: int | None  # highest covered block
    gaps: int  # number of holes in coverage between first_block and covered_to
    complete: bool  # coverage runs from the chain's first_block to covered_to with no gap


@dataclass(frozen=True, slots=True)
class Holder:
    chain_id: int
    address: str  # lowercase 0x-hex
    balance: int  # raw units, > 0
    received: int
    sent: int
    transfers: int  # transfers the address took part in (a self-transfer once)

    @property
    def key(self) -> HolderKey:
        return (self.balance, self.address, self.chain_id)


@dataclass(frozen=True, slots=True)
class HolderFilter:
    """Which holders: one chain or all, and an address search (both optional).

    ``prefix``: the address starts with these hex digits (1 to 40, lowercase, no ``0x``; 40 is
    an exact address). ``contains``: the hex digits appear anywhere in the address.
    """

    chain_id: int | None = None
    prefix: str | None = None
    contains: str | None = None


@dataclass(frozen=True, slots=True)
class AddressBalance:
    chain_id: int
    balance: int
    received: int
    sent: int
    transfers: int  # a self-transfer once
    first_time: datetime | None
    last_time: datetime | None


def _bytes(address: str) -> bytes:
    return bytes.fromhex(address.removeprefix("0x"))


def _filter_params(f: HolderFilter) -> dict[str, Any]:
    # A prefix is the range of addresses from prefix + 0s to prefix + fs: bytea compares
    # byte by byte, so an odd number of digits works too, and the range is index-friendly.
    lo = hi = None
    if f.prefix is not None:
        lo = bytes.fromhex(f.prefix.ljust(40, "0"))
        hi = bytes.fromhex(f.prefix.ljust(40, "f"))
    return {"chain_id": f.chain_id, "lo": lo, "hi": hi, "contains": f.contains}


def _holder(row: dict[str, Any]) -> Holder:
    return Holder(
        chain_id=row["chain_id"],
        address="0x" + bytes(row["address"]).hex(),
        balance=int(row["balance"]),
        received=int(row["received"]),
        sent=int(row["sent"]),
        transfers=int(row["transfers"]),
    )


@wrap_exceptions
async def summaries(conn: Connection) -> list[BalanceSummary]:
    """One per chain in ``chains``, by chain id."""
    cur = await conn.execute(Q["summaries"])
    found = []
    for row in await cur.fetchall():
        covered_to, gaps = row["covered_to"], int(row["gaps"])
        complete = covered_to is not None and covered_to >= row["first_block"] and gaps == 0
        found.append(
            BalanceSummary(
                chain_id=row["chain_id"],
                holders=int(row["holders"]),
                supply=int(row["supply"]),
                addresses=int(row["addresses"]),
                covered_from=row["covered_from"],
                covered_to=covered_to,
                gaps=gaps,
                complete=complete,
            )
        )
    return found


@wrap_exceptions
async def list_holders(
    conn: Connection,
    holder_filter: HolderFilter,
    limit: int,
    *,
    after: HolderKey | None = None,
    offset: int = 0,
) -> list[Holder]:
    """Up to ``limit`` holders by balance (largest first), then address, then chain id.

    ``after`` (the key of the previous page's last row) pages by keyset; ``offset`` skips
    rows (the legacy page numbers), read from each chain's index.
    """
    balance, address, chain_id = after if after else (None, None, None)
    params = _filter_params(holder_filter) | {
        "limit": limit,
        "offset": offset,
        "after_balance": balance,
        "after_address": None if address is None else _bytes(address),
        "after_chain_id": chain_id,
    }
    cur = await conn.execute(Q["list_holders"], params)
    return [_holder(row) for row in await cur.fetchall()]


@wrap_exceptions
async def count_holders(conn: Connection, holder_filter: HolderFilter) -> int:
    cur = await conn.execute(Q["count_holders"], _filter_params(holder_filter))
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


@wrap_exceptions
async def list_address_balances(conn: Connection, address: str) -> list[AddressBalance]:
    """An address on every chain where it took part in a stored transfer, by chain id."""
    cur = await conn.execute(Q["address_balances"], {"address": _bytes(address)})
    return [
        AddressBalance(
            chain_id=row["chain_id"],
            balance=int(row["balance"]),
            received=int(row["received"]),
            sent=int(row["sent"]),
            transfers=int(row["transfers"]),
            first_time=row["first_time"],
            last_time=row["last_time"],
        )
        for row in await cur.fetchall()
    ]
