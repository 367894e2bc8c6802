"""Finality probes (``finality_observations``): written by the worker's finality job
(app.ingest.finality), read by the finality API and the SLA statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("finality")


@dataclass(frozen=True, slots=True)
class Observation:
    """One probe of one chain; failed probes have ``ok`` false and no blocks."""

    observed_at: datetime
    chain_id: int
    source: str
    ok: bool
    latency_ms: float
    outcome: str
    latest_block: int | None = None
    safe_block: int | None = None
    finalized_block: int | None = None
    latest_time: datetime | None = None
    finalized_time: datetime | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ChainFinality:
    """A chain's newest good probe (fields None when it never had one) and newest probe."""

    chain_id: int
    observed_at: datetime | None
    source: str | None
    latency_ms: float | None
    latest_block: int | None
    safe_block: int | None
    finalized_block: int | None
    latest_time: datetime | None
    finalized_time: datetime | None
    last_observed_at: datetime
    last_ok: bool
    last_outcome: str
    last_detail: str | None
    advanced_at: datetime | None  # when the finality point reached its current value

    @property
    def point(self) -> int | None:
        """The finality point: the finalized block, else the safe one."""
        return self.finalized_block if self.finalized_block is not None else self.safe_block


@wrap_exceptions
async def insert_observations(conn: Connection, rows: Sequence[Observation]) -> None:
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(Q["insert_observation"], [asdict(row) for row in rows])


@wrap_exceptions
async def list_latest(conn: Connection) -> list[ChainFinality]:
    """Every chain with at least one probe, by chain id."""
    cur = await conn.execute(Q["list_latest"])
    return [ChainFinality(**row) for row in await cur.fetchall()]


@wrap_exceptions
async def delete_before(conn: Connection, before: datetime) -> int:
    cur = await conn.execute(Q["delete_before"], {"before": before})
    return cur.rowcount
