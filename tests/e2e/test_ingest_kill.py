"""SIGKILL a `tokenpulse worker` while it is writing a batch, start another, and the store still
holds exactly the simulator's ground truth for every covered range, with no duplicates: each
window's rows and coverage commit together or not at all."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.e2e import helpers
from tests.e2e.simulator_process import SimulatorProcess, simulate

FAST = {
    "TOKENPULSE_LEADER_POLL_SECONDS": "0.3",
    "TOKENPULSE_WORKER_HEARTBEAT_SECONDS": "0.3",
    "TOKENPULSE_UPSTREAM_CALLS_PER_SECOND": "5",
    "TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS": "2000",
    "TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS": "20000",
    "TOKENPULSE_INGEST_INTERVAL_SECONDS": "2",
    "TOKENPULSE_INGEST_JITTER_SECONDS": "0.5",
    "TOKENPULSE_BACKFILL_INTERVAL_SECONDS": "1",
    "TOKENPULSE_BACKFILL_RUN_SECONDS": "5",
}


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[SimulatorProcess]:
    with simulate(tmp_path, "--seed", "9", "--density", "0.3") as sim:
        yield sim


def query(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def writing(dsn: str) -> bool:
    """A worker session is inside a batch's transaction that has written (rows staged or
    inserted, coverage or notification pending): not committed yet."""
    rows = query(
        dsn,
        "select count(*) from pg_stat_activity where application_name = 'tokenpulse'"
        " and backend_xid is not null"
        " and (query ilike '%transfers%' or query ilike '%coverage_add%')",
    )
    return bool(rows[0][0])


def covered_blocks(dsn: str) -> int:
    rows = query(dsn, "select coalesce(sum(upper(blocks) - lower(blocks)), 0) from coverage")
    return int(rows[0][0])  # type: ignore[call-overload]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["portable"])
def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    database_url: str, simulator: SimulatorProcess, tmp_path: Path, mode: str
) -> None:
    env = {"TOKENPULSE_DATABASE_URL": database_url, "TOKENPULSE_SIMULATOR_URL": simulator.url}
    assert helpers.run("migrate", **env).returncode == 0
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(helpers.TOKENPULSE), "worker"],
                env=helpers.environment(**env, **FAST),
                stdout=log,
                stderr=log,
            )
        procs.append(proc)
        return proc

    try:
        first = start("first")
        helpers.wait_until(lambda: covered_blocks(database_url) > 0, 30, "the first windows")
        # Kill it while one of its transactions has written rows but not committed.
        helpers.wait_until(lambda: writing(database_url), 20, "a batch in flight", every=0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(5)
        at_kill = covered_blocks(database_url)

        second = start("second")
        helpers.wait_until(lambda: covered_blocks(database_url) > at_kill, 30, "ingestion to go on")
        time.sleep(3)  # let it write some more, backfill included
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)

    duplicates = query(
        database_url,
        "select chain_id, tx_hash, log_index from transfers"
        " group by chain_id, tx_hash, log_index having count(*) > 1",
    )
    assert duplicates == []
    checked = 0
    ranges = coverage(database_url)
    assert len({chain_id for chain_id, _, _ in ranges}) >= 5, ranges  # most chains got going
    for chain_id, lo, hi in ranges:
        expected = simulator.truth(chain_id, lo, hi)
        assert stored(database_url, chain_id, lo, hi) == set(expected), (chain_id, lo, hi)
        checked += len(expected)
    assert checked > 0


def coverage(dsn: str) -> list[tuple[int, int, int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select chain_id, lower(blocks), upper(blocks) - 1 from coverage order by 1, 2"
        ).fetchall()
    return [(int(chain_id), int(lo), int(hi)) for chain_id, lo, hi in rows]


def stored(dsn: str, chain_id: int, lo: int, hi: int) -> set[tuple[str, int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select tx_hash, log_index from transfers"
            " where chain_id = %s and block_number between %s and %s",
            (chain_id, lo, hi),
        ).fetchall()
    return {("0x" + bytes(tx).hex(), int(index)) for tx, index in rows}
