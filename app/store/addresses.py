"""What the stored transfers say about one address or one block number, per chain.

Balances, amounts received and sent and transfer counts come from the ``balances`` table
(app.store.balances), kept by the write path: what the stored transfers add up to, exact
only where the chain's coverage is complete (the caller judges that from the coverage ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.store import balances, queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("transfer_api")


@dataclass(frozen=True, slots=True)
class ChainActivity:
    chain_id: int
    received: int  # raw units
    sent: int
    transfers: int  # transfers the address took part in (a self-transfer once)
    first_time: datetime | None
    last_time: datetime | None

    @property
    def balance(self) -> int:
        return self.received - self.sent


@wrap_exceptions
async def list_activity(conn: Connection, address: str) -> list[ChainActivity]:
    """One entry per chain where the address sent or received anything, by chain id."""
    return [
        ChainActivity(
            chain_id=item.chain_id,
            received=item.received,
            sent=item.sent,
            transfers=item.transfers,
            first_time=item.first_time,
            last_time=item.last_time,
        )
        for item in await balances.list_address_balances(conn, address)
    ]


@wrap_exceptions
async def list_block_activity(
    conn: Connection, block: int, chain_id: int | None = None
) -> dict[int, int]:
    """{chain id: transfers in its block ``block``} for chains with any; one chain if given."""
    cur = await conn.execute(Q["block_activity"], {"block": block, "chain_id": chain_id})
    return {row["chain_id"]: int(row["n"]) for row in await cur.fetchall()}
