"""Reconciliation in the store: a window's stored rows, their replacement, and the run log.

app.ingest.reconcile compares :func:`list_window` with an independent fetch of the same
blocks. When they differ it calls :func:`delete_window`, loads the re-fetched rows
(``transfers.copy_transfers``) and :func:`insert_run` in ONE transaction, so readers never
see a window half replaced. Every compared window gets a ``reconciliation_runs`` row, clean
or not; :func:`list_latest` is what health and totals show per chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain import Transfer
from app.store import queries, transfers
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("reconcile")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one compared window found; ``upstream_count`` and the differences are None when
    the independent fetch failed (``error`` says why) and nothing was compared."""

    chain_id: int
    block_lo: int
    block_hi: int
    source: str
    stored_count: int
    started_at: datetime
    compared_by: str | None = None  # "identity" or "multiset"
    upstream_count: int | None = None
    missing: int | None = None
    extra: int | None = None
    mismatched: int | None = None
    repaired: bool = False
    rows_deleted: int = 0
    rows_inserted: int = 0
    error: str | None = None  # a stable code, never upstream text


@dataclass(frozen=True, slots=True)
class ReconciliationRun(RunRecord):
    id: int = 0
    finished_at: datetime | None = None

    @property
    def outcome(self) -> str:
        """One of clean, repaired, failed (error) or differs (found, not repaired)."""
        if self.error is not None:
            return "failed"
        if self.repaired:
            return "repaired"
        return "clean" if not (self.missing or self.extra or self.mismatched) else "differs"


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _transfer(row: dict[str, Any]) -> Transfer:
    return Transfer(
        chain_id=row["chain_id"],
        block_time=row["block_time"],
        block_number=row["block_number"],
        block_hash=_hex(row["block_hash"]),
        tx_hash=_hex(row["tx_hash"]),
        log_index=row["log_index"],
        from_address=_hex(row["from_address"]),
        to_address=_hex(row["to_address"]),
        value=row["value"],
        tx_index=row["tx_index"],
    )


@wrap_exceptions
async def list_window(conn: Connection, chain_id: int, lo: int, hi: int) -> list[Transfer]:
    """The stored transfers of blocks [lo, hi], in (block, log index) order."""
    cur = await conn.execute(Q["list_window"], {"chain_id": chain_id, "lo": lo, "hi": hi})
    return [_transfer(row) for row in await cur.fetchall()]


@wrap_exceptions
async def delete_window(conn: Connection, chain_id: int, lo: int, hi: int) -> int:
    """Delete the transfers of blocks [lo, hi] and take their amounts out of the holder
    balances; returns how many rows went. Coverage is left alone: the caller writes the
    window's re-fetched rows (``transfers.copy_transfers``) in the same transaction.

    Takes the chain's coverage lock first, like a reorg rewind.
    """
    return await transfers.delete_blocks(conn, chain_id, lo, hi)


@wrap_exceptions
async def insert_run(conn: Connection, run: RunRecord) -> int:
    """Log one compared window; returns the row's id."""
    params = {name: getattr(run, name) for name in RunRecord.__dataclass_fields__}
    cur = await conn.execute(Q["insert_run"], params)
    row = await cur.fetchone()
    if row is None:
        raise AssertionError("insert_run returned no row")
    return int(row["id"])


def _run(row: dict[str, Any]) -> ReconciliationRun:
    return ReconciliationRun(**row)


@wrap_exceptions
async def list_latest(conn: Connection) -> list[ReconciliationRun]:
    """The newest run of every chain that has one, by chain id."""
    cur = await conn.execute(Q["list_latest"])
    return [_run(row) for row in await cur.fetchall()]


@wrap_exceptions
async def list_runs(
    conn: Connection, chain_id: int | None = None, limit: int = 100
) -> list[ReconciliationRun]:
    """Runs newest first, of one chain or all."""
    cur = await conn.execute(Q["list_runs"], {"chain_id": chain_id, "limit": limit})
    return [_run(row) for row in await cur.fetchall()]
