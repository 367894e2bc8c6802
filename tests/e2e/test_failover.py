"""Two `tokenpulse worker` processes: exactly one leads; SIGKILL the leader and the standby
takes over within 10 s, with never two live leaders at any sampled moment."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.e2e import helpers

FAST = {"TOKENPULSE_LEADER_POLL_SECONDS": "0.3", "TOKENPULSE_WORKER_HEARTBEAT_SECONDS": "0.3"}
TAKEOVER_LIMIT = 10.0


class Monitor(threading.Thread):
    """Samples worker_heartbeats every 50 ms and records any moment with two live leaders."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.dead: set[int] = set()  # pids killed on purpose: their rows go stale, not false
        self.roles: dict[int, str] = {}
        self.samples = 0
        self.violations: list[dict[int, str]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.halt.is_set():
                rows = conn.execute("select pid, role from worker_heartbeats").fetchall()
                roles = {pid: role for pid, role in rows if pid not in self.dead}
                if list(roles.values()).count("leader") > 1:
                    self.violations.append(roles)
                self.roles, self.samples = roles, self.samples + 1
                time.sleep(0.05)

    def pid_with(self, role: str) -> int | None:
        """The single live worker with ``role`` once there are exactly two rows, else None."""
        if self.violations:
            pytest.fail(f"two live leaders at once: {self.violations[0]}")
        roles = self.roles
        if sorted(roles.values()) != ["leader", "standby"]:
            return None
        return next(pid for pid, r in roles.items() if r == role)


@pytest.fixture
def monitor(database_url: str) -> Iterator[Monitor]:
    watcher = Monitor(database_url)
    watcher.start()
    yield watcher
    watcher.halt.set()
    watcher.join(5)


Starter = Callable[[str], "subprocess.Popen[bytes]"]


@pytest.fixture
def start_worker(database_url: str, tmp_path: Path) -> Iterator[Starter]:
    """Starts `tokenpulse worker` processes logging to <tmp>/<name>.log; kills leftovers."""
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        env = helpers.environment(TOKENPULSE_DATABASE_URL=database_url, **FAST)
        with (tmp_path / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(helpers.TOKENPULSE), "worker"], env=env, stdout=log, stderr=log
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["portable"])  # election does not depend on the schema mode
def test_standby_takes_over_when_the_leader_is_killed(
    monitor: Monitor, start_worker: Starter, tmp_path: Path
) -> None:
    procs = {}
    for name in ("a", "b"):
        proc = start_worker(name)
        procs[proc.pid] = (name, proc)

    leader = helpers.wait_until(lambda: monitor.pid_with("leader"), 20, "one leader, one standby")
    standby = monitor.pid_with("standby")
    assert standby is not None
    assert {leader, standby} == set(procs)

    monitor.dead.add(leader)
    procs[leader][1].send_signal(signal.SIGKILL)
    procs[leader][1].wait(5)
    killed_at = time.monotonic()
    helpers.wait_until(
        lambda: monitor.roles.get(standby) == "leader", TAKEOVER_LIMIT, "the standby to take over"
    )
    assert time.monotonic() - killed_at < TAKEOVER_LIMIT

    name, survivor = procs[standby]
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(10) == 0
    helpers.wait_until(lambda: standby not in monitor.roles, 5, "its heartbeat row to go")
    assert monitor.samples > 20
    assert monitor.violations == []
    # The new leader ran its jobs (sync_chains runs at leadership start) and stopped cleanly.
    log = (tmp_path / f"{name}.log").read_text()
    assert (
        log.index("leadership acquired") < log.index("chains synced") < log.index("worker stopped")
    )
    assert "Traceback" not in log
