"""The upstreams' BudgetLedger over PostgreSQL (app.store.budget): every process paces each
API key against the same rows, so N workers together still make at most the key's rate.

One short transaction per call: ``reserve`` holds the key's row lock only for its upsert.
"""

from __future__ import annotations

import logging

from app import upstreams
from app.errors import StoreError
from app.store import budget
from app.store import pool as store_pool

log = logging.getLogger(__name__)


class StoreLedger:
    """:class:`app.upstreams.BudgetLedger` backed by the ``rate_budget`` table."""

    def __init__(self, pool: store_pool.Pool) -> None:
        self.pool = pool

    async def reserve(self, key: upstreams.ApiKey) -> upstreams.Reservation:
        async with store_pool.transaction(self.pool) as conn:
            slot = await budget.reserve(
                conn, key.key_id, key.provider, key.label, key.interval_seconds, key.daily_quota
            )
        return upstreams.Reservation(slot.wait_seconds, slot.quota_exhausted)

    async def rate_limited(self, key: upstreams.ApiKey, backoff_seconds: float) -> None:
        async with store_pool.transaction(self.pool) as conn:
            await budget.record_rate_limited(conn, key.key_id, backoff_seconds)

    async def record(
        self, key: upstreams.ApiKey, endpoint: str, outcome: upstreams.Outcome, latency_ms: float
    ) -> None:
        # Counters feed health and SLA figures only: losing one must not fail the call.
        try:
            async with store_pool.transaction(self.pool) as conn:
                await budget.record_call(
                    conn, key.key_id, key.provider, endpoint, outcome.value, latency_ms
                )
        except StoreError as exc:
            log.warning("upstream call not recorded", extra={"key": key.label, "error": str(exc)})
