"""The reconciliation log in the store (both schema modes): runs recorded as found, the
newest run per chain (what health and totals show), a chain's runs newest first."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from app.store import chains
from app.store import reconcile as store
from app.store.pool import Connection
from app.store.reconcile import RunRecord
from tests.conftest import make_config

T0 = datetime(2026, 6, 1, tzinfo=UTC)


async def test_latest_run_per_chain(conn: Connection) -> None:
    await chains.upsert_chains(conn, make_config().chains)
    for chain_id, minutes, error in [
        (25, 0, None),
        (25, 5, "upstream_unavailable"),
        (137, 1, None),
    ]:
        record = RunRecord(
            chain_id, 10, 20, "rpc:eth_getLogs", 4, T0 + timedelta(minutes=minutes), error=error
        )
        if error is None:
            record = dataclasses.replace(
                record, compared_by="identity", upstream_count=4, missing=0, extra=0, mismatched=0
            )
        await store.insert_run(conn, record)
    latest = await store.list_latest(conn)
    assert [(r.chain_id, r.outcome, r.error) for r in latest] == [
        (25, "failed", "upstream_unavailable"), (137, "clean", None),
    ]  # fmt: skip
    assert all(r.finished_at is not None and r.id > 0 for r in latest)
    assert [r.started_at for r in await store.list_runs(conn, 25)] == [
        T0 + timedelta(minutes=5), T0,
    ]  # fmt: skip
    assert len(await store.list_runs(conn)) == 3
