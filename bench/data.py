"""Synthetic BZR transfers: realistic shape (many per holder, several per block), fixed seed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.domain import Chain, Transfer

START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_DAYS = 365
HOLDERS = 5_000
RUN = 1_000  # rows of one chain written together
BUSIEST_SHARE = 0.35  # the busiest chain's share of the rows; the rest is split evenly

# Column order of a raw COPY into `transfers` (the rest keep their defaults or stay null).
COPY_COLUMNS = (
    "chain_id", "block_time", "block_number", "block_hash", "tx_hash", "log_index",
    "tx_index", "from_address", "to_address", "value", "source",
)  # fmt: skip
COPY_TYPES = (
    "integer", "timestamptz", "bigint", "bytea", "bytea", "integer",
    "integer", "bytea", "bytea", "numeric", "text",
)  # fmt: skip


def split(count: int, chains: Sequence[Chain], busiest: int) -> dict[int, int]:
    """How many rows each chain gets: ``busiest`` takes BUSIEST_SHARE, the others the rest."""
    others = [chain.id for chain in chains if chain.id != busiest]
    main = round(count * BUSIEST_SHARE)
    shares = {chain_id: (count - main) // len(others) for chain_id in others}
    shares[busiest] = count - sum(shares.values())
    return shares


def _chain_rows(chain: Chain, count: int, rng: random.Random, holders: list[str]) -> list[Transfer]:
    mean_gap = SPAN_DAYS * 86_400 / chain.block_time_seconds / count
    block = chain.first_block
    log_index = 0
    rows: list[Transfer] = []
    for _ in range(count):
        if rng.random() < 0.8:  # a new block; otherwise another transfer in the same one
            block += 1 + int(rng.expovariate(1 / mean_gap))
            log_index = rng.randrange(0, 50)
        else:
            log_index += 1 + rng.randrange(0, 5)
        seconds = (block - chain.first_block) * chain.block_time_seconds
        rows.append(
            Transfer(
                chain_id=chain.id,
                block_time=START + timedelta(seconds=seconds),
                block_number=block,
                block_hash="0x" + f"{chain.id:08x}{block:056x}",
                tx_hash="0x" + rng.randbytes(32).hex(),
                log_index=log_index,
                from_address=rng.choice(holders),
                to_address=rng.choice(holders),
                value=Decimal(rng.randrange(10**24)),
                tx_index=rng.randrange(0, 200),
            )
        )
    return rows


def transfers(shares: dict[int, int], chains: Sequence[Chain], seed: int) -> list[Transfer]:
    """Rows in the order ingestion writes them: each chain in block order, in runs of RUN
    rows, the chains taking turns (the worker advances every chain's coverage in rounds)."""
    rng = random.Random(seed)
    holders = ["0x" + rng.randbytes(20).hex() for _ in range(HOLDERS)]
    by_id = {chain.id: chain for chain in chains}
    per_chain = [
        _chain_rows(by_id[chain_id], count, rng, holders) for chain_id, count in shares.items()
    ]
    rows: list[Transfer] = []
    for start in range(0, max(len(run) for run in per_chain), RUN):
        for chain_rows in per_chain:
            rows += chain_rows[start : start + RUN]
    return rows


def copy_row(transfer: Transfer, source: str = "etherscan") -> tuple[Any, ...]:
    return (
        transfer.chain_id, transfer.block_time, transfer.block_number,
        bytes.fromhex(transfer.block_hash[2:]), bytes.fromhex(transfer.tx_hash[2:]),
        transfer.log_index, transfer.tx_index, bytes.fromhex(transfer.from_address[2:]),
        bytes.fromhex(transfer.to_address[2:]), transfer.value, source,
    )  # fmt: skip
