"""ops.health.assess: status, staleness and warnings from what the store said (no I/O)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.domain import DatabaseStatus, SchemaMode
from app.ops import health
from app.ops.metrics import Metrics
from app.ops.state import AppState
from app.store import pool as pool_module
from app.store.ingest_status import IngestStatus
from app.warm import WarmStatus
from tests.api.conftest import OFFLINE_DSN, offline_config

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DB_OK = DatabaseStatus(True, 1.0, SchemaMode.PORTABLE, "17.2")


@pytest.fixture
def state() -> AppState:
    config = offline_config()
    pool = pool_module.create(config.settings, dsn=OFFLINE_DSN)  # never opened: no I/O
    return AppState(config=config, pool=pool, metrics=Metrics(version="t", pool_stats=dict))


def _chain_rows(state: AppState, covered: int = 100) -> list[dict[str, Any]]:
    return [
        {
            "chain_id": chain.id,
            "covered_blocks": covered,
            "ranges": 1,
            "first_covered_block": chain.first_block,
            "last_covered_block": chain.first_block + covered - 1,
        }
        for chain in state.config.chains
    ]


def _freshness(state: AppState, age: timedelta) -> list[dict[str, Any]]:
    return [
        {
            "chain_id": chain.id,
            "last_time": NOW - timedelta(hours=5),
            "last_block": chain.first_block + 50,
            "first_time": NOW - timedelta(days=3),
            "coverage_updated_at": NOW - age,
        }
        for chain in state.config.chains
    ]


def _synced(
    state: AppState, age: timedelta, *, behind: int = 0, failures: int = 0
) -> list[IngestStatus]:
    """Every chain's last tip cycle ``age`` ago, ``behind`` blocks short of the head."""
    return [
        IngestStatus(
            chain_id=chain.id,
            head=chain.first_block + 99 + behind,  # _chain_rows covers 100 blocks
            safe_head=chain.first_block + 90,
            last_success_at=NOW - age,
            last_error_at=NOW - timedelta(seconds=5) if failures else None,
            last_error="HTTP 503" if failures else None,
            consecutive_failures=failures,
            backoff_until=NOW + timedelta(seconds=60) if failures else None,
            last_cycle=None,
            updated_at=NOW - age,
        )
        for chain in state.config.chains
    ]


def _worker(role: str, age: float) -> dict[str, Any]:
    return {
        "worker_id": f"w-{role}",
        "hostname": "h",
        "pid": 1,
        "role": role,
        "version": "t",
        "started_at": NOW - timedelta(hours=1),
        "heartbeat_at": NOW - timedelta(seconds=age),
        "age_seconds": age,
    }


def _healthy(state: AppState, **changes: Any) -> health.Snapshot:
    snapshot = health.Snapshot(
        chains=_chain_rows(state),
        freshness=_freshness(state, timedelta(seconds=30)),
        workers=[_worker("leader", 1.0)],
        ingest=_synced(state, timedelta(seconds=30)),
    )
    return dataclasses.replace(snapshot, **changes)


def test_fresh_coverage_and_a_live_leader_is_ok(state: AppState) -> None:
    report = health.assess(state, DB_OK, _healthy(state), NOW)
    assert report.status is health.Status.OK
    assert report.warnings == ()
    assert report.leader is not None
    polygon = next(item for item in report.chains if item.chain.id == 137)
    assert polygon.ready
    assert not polygon.stale
    assert polygon.ingest_lag_seconds == 30.0
    # A quiet token is Fresh: the newest transfer is 5 h old, the last sync 30 s.
    assert polygon.index_lag_seconds == 5 * 3600.0
    assert polygon.warm.warm is WarmStatus.FRESH
    assert polygon.warm.reading.since_success_seconds == 30.0


def test_last_sync_older_than_the_stale_threshold_is_stale(state: AppState) -> None:
    old = timedelta(seconds=state.config.settings.warm_stale_seconds + 1)
    report = health.assess(state, DB_OK, _healthy(state, ingest=_synced(state, old)), NOW)
    assert report.status is health.Status.DEGRADED
    assert {warning.code for warning in report.warnings} == {"STORE_DATA_STALE"}
    assert all(item.stale for item in report.chains)
    assert all(item.warm.warm is WarmStatus.STALE for item in report.chains)


def test_lagging_chains_degrade_but_are_not_stale(state: AppState) -> None:
    between = timedelta(seconds=state.config.settings.warm_fresh_seconds + 1)
    report = health.assess(state, DB_OK, _healthy(state, ingest=_synced(state, between)), NOW)
    assert report.status is health.Status.DEGRADED
    assert {warning.code for warning in report.warnings} == {"CHAIN_LAGGING"}
    assert not any(item.stale for item in report.chains)


def test_a_sync_far_behind_the_head_is_not_fresh(state: AppState) -> None:
    # Synced 5 s ago, but 1,000 blocks short of the head: Polygon (2 s blocks) is 2,000 s
    # behind (Stale), BSC (0.75 s blocks) 750 s (Lagging).
    ingest = _synced(state, timedelta(seconds=5), behind=1000)
    report = health.assess(state, DB_OK, _healthy(state, ingest=ingest), NOW)
    by_id = {item.chain.id: item.warm.reading for item in report.chains}
    assert (by_id[137].status, by_id[137].head_lag_blocks) == (WarmStatus.STALE, 1000)
    assert (by_id[56].status, by_id[56].lag_seconds) == (WarmStatus.LAGGING, 750.0)


def test_failing_tip_cycles_are_reported(state: AppState) -> None:
    ingest = _synced(state, timedelta(seconds=30), failures=2)
    report = health.assess(state, DB_OK, _healthy(state, ingest=ingest), NOW)
    assert report.status is health.Status.OK  # still Fresh: the last success is recent
    codes = [warning.code for warning in report.warnings]
    assert codes == ["INGESTER_FAILURES"] * len(state.config.chains)
    assert "HTTP 503" in report.warnings[0].message


def test_never_synced_is_cold_even_with_coverage(state: AppState) -> None:
    report = health.assess(state, DB_OK, _healthy(state, ingest=[]), NOW)
    assert report.status is health.Status.DEGRADED
    assert {warning.code for warning in report.warnings} == {"STORE_DATA_NOT_READY"}
    assert all(item.warm.warm is WarmStatus.COLD for item in report.chains)


def test_nothing_stored_is_not_ready(state: AppState) -> None:
    snapshot = _healthy(state, chains=[], freshness=[])
    report = health.assess(state, DB_OK, snapshot, NOW)
    assert report.status is health.Status.DEGRADED
    assert not any(item.ready for item in report.chains)
    assert {warning.scope for warning in report.warnings} == {
        f"chain:{chain.id}" for chain in state.config.chains
    }


@pytest.mark.parametrize(
    ("workers", "ingester", "code"),
    [
        ([_worker("leader", 1.0), _worker("standby", 2.0)], health.Status.OK, None),
        ([_worker("standby", 2.0)], health.Status.DEGRADED, "INGESTER_NO_LEADER"),
        ([_worker("leader", 60.0)], health.Status.DOWN, "INGESTER_DOWN"),  # 3 x 5 s passed
        ([], health.Status.DOWN, "INGESTER_DOWN"),
    ],
)
def test_ingester_status_follows_heartbeats(
    state: AppState, workers: list[dict[str, Any]], ingester: health.Status, code: str | None
) -> None:
    report = health.assess(state, DB_OK, _healthy(state, workers=workers), NOW)
    assert report.ingester is ingester
    assert [warning.code for warning in report.warnings] == ([code] if code else [])
    expected = health.Status.OK if ingester is health.Status.OK else health.Status.DEGRADED
    assert report.status is expected


def test_database_down_is_down_with_one_warning(state: AppState) -> None:
    down = DatabaseStatus(False, None, None, None, error="The database is unavailable.")
    report = health.assess(state, down, health.Snapshot(), NOW)
    assert report.status is health.Status.DOWN
    assert [warning.code for warning in report.warnings] == ["DATABASE_UNAVAILABLE"]
    assert not report.store_ready


def test_snapshot_failure_is_degraded(state: AppState) -> None:
    report = health.assess(state, DB_OK, health.Snapshot(error="timed out"), NOW)
    assert report.status is health.Status.DEGRADED
    assert [warning.code for warning in report.warnings] == ["STORE_SNAPSHOT_FAILED"]


def test_disabled_chains_never_degrade(state: AppState) -> None:
    polygon = next(chain for chain in state.config.chains if chain.id == 137)
    others = tuple(dataclasses.replace(c, enabled=c.id != 137) for c in state.config.chains)
    state.config = dataclasses.replace(state.config, chains=others)
    snapshot = _healthy(state)
    rows = [row for row in snapshot.freshness if row["chain_id"] != polygon.id]
    ingest = [status for status in snapshot.ingest if status.chain_id != polygon.id]
    snapshot = dataclasses.replace(snapshot, freshness=rows, ingest=ingest)
    report = health.assess(state, DB_OK, snapshot, NOW)
    assert report.status is health.Status.OK
    assert next(item for item in report.chains if item.chain.id == 137).stale
