"""``tokenpulse validate``: fetch fresh upstream figures (unless told not to), compare them
with the store, store the report and raise or resolve alerts (app.ops.validation_runner).
Upstream calls go through the same PostgreSQL rate budget as the workers."""

from __future__ import annotations

from collections.abc import Sequence

from app.backfill import need_schema
from app.config import Config
from app.ingest import figures
from app.ingest.runtime import Ingestor
from app.ops import validation_runner
from app.store import pool as store_pool

EXIT_CLEAN = 0
EXIT_FLAGGED = 1


async def run(
    config: Config,
    chain_ids: Sequence[int] | None = None,
    *,
    fetch: bool = True,
    threshold: float | None = None,
) -> validation_runner.Outcome:
    await need_schema(config)  # before the pool, which would retry (and log) in the background
    pool = store_pool.create(config.settings, name="validate")
    await pool.open(wait=False)
    try:
        if fetch:
            ingestor = await Ingestor.open(config, pool)
            try:
                await figures.fetch_all(ingestor, chain_ids)
            finally:
                await ingestor.close()
        return await validation_runner.run(
            pool, config, origin="cli", chain_ids=chain_ids, threshold=threshold
        )
    finally:
        await pool.close()
