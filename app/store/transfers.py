"""Transfers: bulk loads by binary COPY, idempotent, with the holder balances they move.

Every batch also adds its new rows' deltas to ``balances`` (sql/migrations/0006_balances.sql)
in the same transaction, so balances always equal what the stored transfers add up to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from psycopg import pq
from psycopg.errors import UniqueViolation

from app.domain import Transfer
from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("transfers")
log = logging.getLogger(__name__)
LAST_BLOCK = 2**63 - 1  # delete_blocks without an upper bound
_COPY_TYPES = [
    "integer", "timestamptz", "bigint", "bytea", "bytea", "integer", "integer", "bytea",
    "bytea", "numeric", "bigint", "bigint", "numeric", "bigint", "bigint", "text", "text",
    "text",
]  # fmt: skip
_fromhex = bytes.fromhex


def _copy_row(transfer: Transfer, source: str) -> tuple[Any, ...]:
    # Inline rather than through a helper: this runs for every row of every batch.
    t = transfer
    return (
        t.chain_id, t.block_time, t.block_number, _fromhex(t.block_hash.removeprefix("0x")),
        _fromhex(t.tx_hash.removeprefix("0x")), t.log_index, t.tx_index,
        _fromhex(t.from_address.removeprefix("0x")), _fromhex(t.to_address.removeprefix("0x")),
        t.value, None, None, None, None, None, None, None, source,
    )  # fmt: skip


@wrap_exceptions
async def copy_transfers(conn: Connection, transfers: Iterable[Transfer], source: str) -> int:
    """Load a batch; returns how many rows were new.

    Runs inside the caller's transaction, so the caller can advance coverage in the same
    transaction as the rows. The session's staging table is emptied at every commit, so an
    autocommit connection outside a transaction (each statement its own commit) is refused.
    """
    if conn.autocommit and conn.info.transaction_status is pq.TransactionStatus.IDLE:
        raise ValueError("copy_transfers runs inside a transaction (conn.transaction())")
    rows = [_copy_row(transfer, source) for transfer in transfers]
    if not rows:
        return 0
    if await _copy_new(conn, rows):
        await _add_balances(conn, rows)
        return len(rows)
    return await _copy_idempotent(conn, rows)


async def _lock_chains(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """The batch's chains' coverage lock, before any balance row (see lock_chains)."""
    chain_ids = sorted({row[0] for row in rows})
    await conn.execute(Q["lock_chains"], {"chain_ids": chain_ids})


async def _add_balances(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """The balance deltas of a batch the direct COPY stored whole.

    Summed per (chain, address) here and sent as one text COPY, so the server only applies
    them: the server process is the bottleneck of the write path (about 90 % of its wall time
    is server CPU; docs/performance.md), while this process has the other core. Summing on
    the server (a union of both sides and a hash aggregate over numerics) cost it a third of
    the balance upkeep.
    """
    await conn.execute(Q["create_balance_sums"])
    await conn.execute(Q["clear_balance_sums"])
    async with conn.cursor() as cur, cur.copy(Q["copy_balance_sums"]) as copy:
        await copy.write(balance_sums_text(rows))
    await _lock_chains(conn, rows)
    await conn.execute(Q["add_balances"])


def balance_sums(rows: Iterable[tuple[Any, ...]]) -> dict[tuple[int, bytes], list[int]]:
    """[received, sent, transfers] per (chain id, address) of COPY rows (see _copy_row).

    Python ints, never Decimal arithmetic: the default decimal context keeps 28 digits and
    token amounts have up to 78. A self-transfer counts once for its address.
    """
    sums: dict[tuple[int, bytes], list[int]] = {}
    get = sums.get
    # Inline rather than through a helper: this runs twice for every row of every batch.
    for row in rows:
        chain_id, sender, receiver, value = row[0], row[7], row[8], int(row[9])
        entry = get((chain_id, receiver))
        if entry is None:
            sums[(chain_id, receiver)] = [value, 0, 1]
        else:
            entry[0] += value
            entry[2] += 1
        counted = 0 if sender == receiver else 1
        entry = get((chain_id, sender))
        if entry is None:
            sums[(chain_id, sender)] = [0, value, counted]
        else:
            entry[1] += value
            entry[2] += counted
    return sums


def balance_sums_text(rows: Iterable[tuple[Any, ...]]) -> bytes:
    """balance_sums as COPY text: tab-separated, bytea in hex (a doubled backslash, as COPY
    text unescapes one)."""
    return "".join(
        f"{chain_id}\t\\\\x{address.hex()}\t{received}\t{sent}\t{count}\n"
        for (chain_id, address), (received, sent, count) in balance_sums(rows).items()
    ).encode()


async def _copy_new(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> bool:
    """COPY straight into transfers, in a savepoint; False when some row was already there.

    Ingestion writes windows the coverage ledger says are missing, so nearly every batch is
    new, and COPY batches heap and index writes where INSERT goes row by row: this path runs
    at about the raw COPY rate (docs/performance.md). A row seen before (a retried window, a
    duplicate within the batch) fails the unique identity index; the savepoint undoes the
    partial COPY and the caller falls back to the idempotent insert.
    """
    try:
        async with conn.transaction():
            await _copy(conn, Q["copy_direct"], rows)
    except UniqueViolation:
        return False
    return True


async def _copy_idempotent(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Staging by COPY, then INSERT ... ON CONFLICT DO NOTHING: new rows only, counted, and
    the balances of exactly those rows moved by the same statement (RETURNING)."""
    await conn.execute(Q["create_staging"])
    await conn.execute(Q["clear_staging"])
    await _copy(conn, Q["copy_staging"], rows)
    await _lock_chains(conn, rows)
    cur = await conn.execute(Q["insert_from_staging"])
    found = await cur.fetchone()
    return int(found["inserted"]) if found else 0


async def _copy(conn: Connection, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
    async with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(_COPY_TYPES)
        for row in rows:
            await copy.write_row(row)


def _from_row(row: dict[str, Any]) -> Transfer:
    return Transfer(
        chain_id=row["chain_id"],
        block_time=row["block_time"],
        block_number=row["block_number"],
        block_hash="0x" + bytes(row["block_hash"]).hex(),
        tx_hash="0x" + bytes(row["tx_hash"]).hex(),
        log_index=row["log_index"],
        from_address="0x" + bytes(row["from_address"]).hex(),
        to_address="0x" + bytes(row["to_address"]).hex(),
        value=row["value"],
        tx_index=row["tx_index"],
    )


@wrap_exceptions
async def list_recent(
    conn: Connection,
    chain_id: int,
    limit: int,
    before: tuple[datetime, int, int] | None = None,
) -> list[Transfer]:
    """A keyset page, newest first; ``before`` is the (time, block, log index) of the last row."""
    time_, block, log_index = before if before else (None, None, None)
    params = {
        "chain_id": chain_id,
        "limit": limit,
        "before_time": time_,
        "before_block": block,
        "before_log_index": log_index,
    }
    cur = await conn.execute(Q["list_recent"], params)
    return [_from_row(row) for row in await cur.fetchall()]


@wrap_exceptions
async def count_by_chain(conn: Connection) -> Sequence[dict[str, Any]]:
    cur = await conn.execute(Q["count_by_chain"])
    return await cur.fetchall()


@wrap_exceptions
async def delete_blocks(conn: Connection, chain_id: int, lo: int, hi: int = LAST_BLOCK) -> int:
    """Delete a chain's transfers of blocks [lo, hi] and take their amounts out of the holder
    balances, in the caller's transaction; returns how many rows went.

    The one delete of stored transfers (reorg rewinds, reconciliation windows), so balances
    always equal what the stored transfers add up to. Takes the chain's coverage lock first,
    as every writer does before touching balance rows (see lock_chains). Coverage itself is
    the caller's business.
    """
    await conn.execute(Q["lock_chains"], {"chain_ids": [chain_id]})
    cur = await conn.execute(Q["delete_blocks"], {"chain_id": chain_id, "lo": lo, "hi": hi})
    found = await cur.fetchone()
    if found is None:
        raise AssertionError("delete_blocks returned no row")
    if found["moved"] != found["addresses"]:
        # Only possible if rows were written without balance upkeep (a worker of older code
        # during the 0006 migration). Logged, not raised: refusing the delete would leave the
        # orphaned or wrong transfers in place, which is worse than a balance already off.
        log.error(
            "deleted transfers without balance rows: balances no longer match the transfers",
            extra={"chain_id": chain_id, "missing": found["addresses"] - found["moved"]},
        )
    if found["emptied"]:
        emptied = {"chain_id": chain_id, "addresses": found["emptied"]}
        await conn.execute(Q["delete_emptied_balances"], emptied)
    return int(found["deleted"])
