"""`tokenpulse backfill` against a `tokenpulse simulate` subprocess and a test database:
progress on stderr, Ctrl-C stops it after the window in flight, a second run resumes, and
the result is contiguous coverage holding exactly the simulator's ground truth."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.e2e import helpers
from tests.e2e.simulator_process import SimulatorProcess, simulate

POLYGON = 137
# 2 keys x 5 calls/s, 1,000-block windows: 40 windows take a few seconds.
PACE = {
    "TOKENPULSE_UPSTREAM_CALLS_PER_SECOND": "5",
    "TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS": "1000",
    "TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS": "1000",
}


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[SimulatorProcess]:
    with simulate(tmp_path, "--seed", "5", "--density", "0.5") as sim:
        yield sim


def stored(dsn: str, chain_id: int, lo: int, hi: int) -> list[tuple[str, int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select tx_hash, log_index from transfers"
            " where chain_id = %s and block_number between %s and %s",
            (chain_id, lo, hi),
        ).fetchall()
    return [("0x" + bytes(tx).hex(), index) for tx, index in rows]


def coverage(dsn: str, chain_id: int) -> list[tuple[int, int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select lower(blocks), upper(blocks) - 1 from coverage where chain_id = %s"
            " order by lower(blocks)",
            (chain_id,),
        ).fetchall()
    return [(lo, hi) for lo, hi in rows]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["portable"])
def test_backfill_shows_progress_stops_on_ctrl_c_and_resumes(
    database_url: str, simulator: SimulatorProcess, mode: str
) -> None:
    env = {"TOKENPULSE_DATABASE_URL": database_url, "TOKENPULSE_SIMULATOR_URL": simulator.url}
    env |= PACE
    migrated = helpers.run("migrate", **env)
    assert migrated.returncode == 0, migrated.stderr
    finalized = simulator.state(POLYGON)["finalized"]
    lo, hi = finalized - 40_000, finalized - 1
    args = ["backfill", "--chain", str(POLYGON), "--from-block", str(lo), "--to-block", str(hi)]

    first = subprocess.Popen(
        [str(helpers.TOKENPULSE), *args],
        env=helpers.environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.stderr is not None
    progress = []
    for line in first.stderr:  # wait for the first progress line, then press Ctrl-C
        if line.startswith(f"chain {POLYGON}: "):
            progress.append(line)
            first.send_signal(signal.SIGINT)
            break
    out, err = first.communicate(timeout=30)
    assert first.returncode == 130, err
    assert progress, err
    assert "blocks" in progress[0]
    assert "stopped: run the same command again to resume" in err
    assert f"backfill Polygon (chain {POLYGON}): blocks {lo:,}-{hi:,}" in out
    partial = coverage(database_url, POLYGON)
    assert len(partial) == 1
    assert partial[0][0] == lo
    assert lo < partial[0][1] < hi  # stopped part of the way

    second = helpers.run(*args, timeout=120, **env)
    assert second.returncode == 0, second.stderr
    assert f"chain {POLYGON}: 100.0% " in second.stderr
    assert coverage(database_url, POLYGON) == [(lo, hi)]
    rows = stored(database_url, POLYGON, lo, hi)
    assert len(rows) == len(set(rows)), "duplicates"
    expected = simulator.truth(POLYGON, lo, hi)
    assert expected, "the simulator made no transfers in the range"
    assert set(rows) == set(expected)
    assert (
        len(rows)
        == simulator.get(f"/_sim/truth/{POLYGON}/transfers?fromBlock={lo}&toBlock={hi}&limit=0")[
            "total"
        ]
    )


@pytest.mark.parametrize("mode", ["portable"])
def test_backfill_by_days_and_its_usage_errors(
    database_url: str, simulator: SimulatorProcess, mode: str
) -> None:
    env = {"TOKENPULSE_DATABASE_URL": database_url, "TOKENPULSE_SIMULATOR_URL": simulator.url}
    assert helpers.run("migrate", **env).returncode == 0
    done = helpers.run("backfill", "--chain", "1", "--days", "0.5", timeout=60, **env)
    assert done.returncode == 0, done.stderr
    finalized = simulator.state(1)["finalized"]
    # Half a day of 12 s blocks: 3,600 blocks up to the finality point the run saw.
    (covered,) = coverage(database_url, 1)
    assert covered[1] - covered[0] == 3_600
    assert finalized - 5 <= covered[1] <= finalized
    with psycopg.connect(database_url) as conn:  # paced through the workers' shared ledger
        labels = conn.execute("select label from rate_budget order by label").fetchall()
    assert [label for (label,) in labels] == ["etherscan#1", "etherscan#2"]

    both = helpers.run("backfill", "--chain", "1", "--days", "1", "--from-block", "5", **env)
    assert both.returncode == 2
    assert "give exactly one of --days and --from-block" in both.stderr
    unknown = helpers.run("backfill", "--chain", "999", "--days", "1", **env)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("tokenpulse: configuration error: --chain: 999 is not")
