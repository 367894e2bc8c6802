"""Record each tip cycle in ``ingest_status`` and keep the head checkpoints of the reorg check.

Written after the cycle's data has committed, in its own short transaction: a status write
that fails is logged and never undoes ingested rows.
"""

from __future__ import annotations

import logging

from app import upstreams
from app.config import Settings
from app.errors import StoreError
from app.ingest.report import SyncReport
from app.ingest.sources import Tip
from app.store import ingest_status, reorgs
from app.store import pool as store_pool

log = logging.getLogger(__name__)


async def record_cycle(
    pool: store_pool.Pool, settings: Settings, chain_id: int, tip: Tip | None, report: SyncReport
) -> None:
    """A finished cycle: success, or a failure when a window was left uncovered."""
    try:
        async with store_pool.transaction(pool) as conn:
            if tip is not None:
                await _checkpoint(conn, chain_id, tip)
            if report.complete:
                await ingest_status.upsert_success(
                    conn, chain_id, report.head, report.safe_head, report.to_json()
                )
            else:
                await _failure(conn, settings, chain_id, "; ".join(report.errors), tip)
    except StoreError as exc:
        log.warning("ingest status not recorded", extra={"chain_id": chain_id, "error": str(exc)})
    log.info("tip cycle", extra={"chain_id": chain_id, "report": report.to_json()})


async def record_failure(
    pool: store_pool.Pool, settings: Settings, chain_id: int, exc: Exception, tip: Tip | None
) -> None:
    """A cycle that raised: count it and set the back-off; never raises itself."""
    text = upstreams.redact(f"{type(exc).__name__}: {exc}")
    log.warning("tip cycle failed", extra={"chain_id": chain_id, "error": text})
    try:
        async with store_pool.transaction(pool) as conn:
            await _failure(conn, settings, chain_id, text, tip)
    except StoreError as store_exc:
        log.warning(
            "ingest status not recorded", extra={"chain_id": chain_id, "error": str(store_exc)}
        )


async def _failure(
    conn: store_pool.Connection, settings: Settings, chain_id: int, text: str, tip: Tip | None
) -> None:
    await ingest_status.upsert_failure(
        conn,
        chain_id,
        text,
        head=tip.head if tip else None,
        safe_head=tip.safe_head if tip else None,
        base_seconds=settings.ingest_failure_backoff_seconds,
        cap_seconds=settings.ingest_failure_backoff_cap_seconds,
    )


async def _checkpoint(conn: store_pool.Connection, chain_id: int, tip: Tip) -> None:
    # The head's hash lets the next cycle notice a reorg of blocks that hold no transfers.
    if tip.head_hash is not None and tip.head > tip.safe_head:
        await reorgs.upsert_block_hash(conn, chain_id, tip.head, tip.head_hash, tip.head_time)
    await reorgs.delete_block_hashes_upto(conn, chain_id, tip.safe_head)
