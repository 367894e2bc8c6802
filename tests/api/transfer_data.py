"""Transfers for the API tests: three chains, a few holders (so every filter matches several
rows), several transfers per block and per transaction, self-transfers; plus a reference
implementation of filters and order in plain Python to compare the store against."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.config import Config
from app.domain import Transfer
from app.store import chains as store_chains
from app.store import coverage as store_coverage
from app.store import ingest_status as store_ingest_status
from app.store import notify as store_notify
from app.store import pool as pool_module
from app.store import transfers as store_transfers
from app.store.transfer_sql import Key, Order, TransferFilter

BASE = datetime(2026, 1, 1, tzinfo=UTC)
CHAINS = {1: 23_080_000, 56: 56_400_000, 137: 74_919_099}  # chain id: first block (chains.toml)
HOLDERS = [f"0x{index:040x}" for index in range(1, 7)]


def transfer(
    chain_id: int,
    block: int,
    log_index: int,
    *,
    tx: str | None = None,
    sender: str = HOLDERS[0],
    receiver: str = HOLDERS[1],
    value: int = 1,
    seconds: float | None = None,
) -> Transfer:
    """One transfer; block time follows the block number (2 s a block from the chain's first)."""
    offset = (block - CHAINS.get(chain_id, 0)) * 2 if seconds is None else seconds
    return Transfer(
        chain_id=chain_id,
        block_time=BASE + timedelta(seconds=offset),
        block_number=block,
        block_hash="0x" + f"{chain_id:08x}{block:056x}",
        tx_hash=tx or "0x" + random.Random(f"{chain_id}:{block}:{log_index}").randbytes(32).hex(),
        log_index=log_index,
        from_address=sender,
        to_address=receiver,
        value=Decimal(value),
        tx_index=log_index,
    )


def dataset(count: int = 240, seed: int = 3) -> list[Transfer]:
    """``count`` transfers over the three chains; blocks of several transfers interleave in
    time across chains, so all-chains order mixes them."""
    rng = random.Random(seed)
    rows: list[Transfer] = []
    blocks = dict(CHAINS)
    while len(rows) < count:
        chain_id = rng.choice(list(CHAINS))
        blocks[chain_id] += rng.randint(1, 40)
        tx = "0x" + rng.randbytes(32).hex()
        for log_index in range(rng.randint(1, 3)):
            sender = rng.choice(HOLDERS)
            receiver = sender if rng.random() < 0.1 else rng.choice(HOLDERS)
            value = rng.randrange(10**24) if rng.random() < 0.9 else 2**256 - 1
            rows.append(
                transfer(
                    chain_id,
                    blocks[chain_id],
                    log_index,
                    tx=tx,
                    sender=sender,
                    receiver=receiver,
                    value=value,
                )
            )
    return rows[:count]


def key(row: Transfer) -> Key:
    return (row.block_time, row.chain_id, row.block_number, row.log_index, row.tx_hash)


def matches(row: Transfer, f: TransferFilter) -> bool:
    checks = [
        f.chain_id is None or row.chain_id == f.chain_id,
        f.address is None or f.address in (row.from_address, row.to_address),
        f.from_address is None or row.from_address == f.from_address,
        f.to_address is None or row.to_address == f.to_address,
        f.tx_hash is None or row.tx_hash == f.tx_hash,
        f.from_block is None or row.block_number >= f.from_block,
        f.to_block is None or row.block_number <= f.to_block,
        f.since is None or row.block_time >= f.since,
        f.until is None or row.block_time < f.until,
        f.min_value is None or row.value >= f.min_value,
        f.max_value is None or row.value <= f.max_value,
    ]
    return all(checks)


def expected(rows: Sequence[Transfer], f: TransferFilter, order: Order) -> list[Transfer]:
    """What a store page walk must return, in order."""
    found = sorted((row for row in rows if matches(row, f)), key=key)
    return found[::-1] if order is Order.NEWEST_FIRST else found


async def store(conn: pool_module.Connection, config: Config, rows: Sequence[Transfer]) -> None:
    """Mirror the chains and load ``rows`` (committed)."""
    async with conn.transaction():
        await store_chains.upsert_chains(conn, config.chains)
        await store_transfers.copy_transfers(conn, rows, "etherscan")


def tops(config: Config, rows: Sequence[Transfer]) -> dict[int, int]:
    """Each chain's highest block with a row (its first block when it has none)."""
    return {
        chain.id: max(
            (r.block_number for r in rows if r.chain_id == chain.id), default=chain.first_block
        )
        for chain in config.chains
    }


def load(config: Config, rows: Sequence[Transfer], cover: bool = True) -> None:
    """Mirror the chains, load ``rows``, and (``cover``) cover every chain from its first
    block to its last row and record a successful tip cycle there just now: accuracy exact,
    warm status fresh, confirmations known. Through a connection of its own."""
    asyncio.run(_load(config, rows, cover))


async def _load(config: Config, rows: Sequence[Transfer], cover: bool) -> None:
    conn = await pool_module.connect(config.settings)
    async with conn:
        await store(conn, config, rows)
        if not cover:
            return
        async with conn.transaction():
            for chain_id, top in tops(config, rows).items():
                first = next(chain.first_block for chain in config.chains if chain.id == chain_id)
                await store_coverage.add_range(conn, chain_id, first, top)
                await store_ingest_status.upsert_success(conn, chain_id, top + 10, top, {})


def commit_batch(config: Config, rows: Sequence[Transfer]) -> None:
    """What the worker does for one window: rows, coverage and NOTIFY in one transaction."""
    asyncio.run(_commit_batch(config, rows))


async def _commit_batch(config: Config, rows: Sequence[Transfer]) -> None:
    conn = await pool_module.connect(config.settings)
    async with conn, conn.transaction():
        inserted = await store_transfers.copy_transfers(conn, rows, "etherscan")
        for chain_id in sorted({row.chain_id for row in rows}):
            blocks = [row.block_number for row in rows if row.chain_id == chain_id]
            await store_coverage.add_range(conn, chain_id, min(blocks), max(blocks))
            await store_notify.notify_batch(conn, chain_id, min(blocks), max(blocks), inserted)
