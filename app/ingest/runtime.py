"""The ingestion runtime: one :class:`Ingestor` per worker or backfill process.

It owns the HTTP client, one gateway and key pool per provider, the process's limiter and
breakers, and the budget ledger (PostgreSQL by default, so every process shares the pace of
each key). Callers (the worker's jobs, ``tokenpulse backfill``, the demo) only use::

    ingestor = await Ingestor.open(config, pool)
    report = await ingestor.sync_tip(chain_id)              # priority TIP
    report = await ingestor.backfill(chain_id, first_block)  # priority BACKFILL, resumable
    await ingestor.close()
"""

from __future__ import annotations

from collections.abc import Callable

from app import upstreams
from app.config import Config
from app.ingest.report import SyncReport
from app.store.pool import Pool

Progress = Callable[[int, int], None]  # (blocks done, blocks in total)

__all__ = ["Ingestor", "Progress", "SyncReport"]


class Ingestor:
    """Ingestion for every enabled chain of a configuration."""

    def __init__(self, config: Config, pool: Pool) -> None:
        self.config = config
        self.pool = pool

    @classmethod
    async def open(
        cls,
        config: Config,
        pool: Pool,
        *,
        transport: upstreams.Transport | None = None,
        ledger: upstreams.BudgetLedger | None = None,
    ) -> Ingestor:
        """Wire the upstream clients; ``transport`` routes HTTP in-process (tests, demo),
        ``ledger`` replaces the PostgreSQL budget ledger (single-process tools)."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def chain_ids(self) -> list[int]:
        """The enabled chains, in configuration order."""
        return [chain.id for chain in self.config.enabled_chains]

    async def sync_tip(self, chain_id: int) -> SyncReport:
        """One cycle: reorg check above finality, then ingest up to the head (priority TIP)."""
        raise NotImplementedError

    async def backfill(
        self,
        chain_id: int,
        from_block: int,
        to_block: int | None = None,
        *,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Fill the coverage gaps of [from_block, to_block] (priority BACKFILL); resumable."""
        raise NotImplementedError
