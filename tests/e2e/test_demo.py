"""`tokenpulse demo` on a machine where nothing was set up: no database URL, no API keys, a
fresh data dir. It must initialise and start its own PostgreSQL (as the `postgres` account
when we are root), serve a healthy API within 60 s, stop everything on SIGTERM, and reuse the
same data on the next start."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.store import cluster
from tests.e2e import helpers

READY_WITHIN = 60.0
STOP_WITHIN = 20.0


@dataclass
class Demo:
    proc: subprocess.Popen[bytes]
    port: int
    stdout: Path
    stderr: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        return self.stdout.read_text()


def get(url: str, accept: str = "application/json") -> tuple[int, str, bytes] | None:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read()
    except OSError:  # not listening yet
        return None


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh data dir; afterwards its cluster is stopped and a /var/tmp fallback removed."""
    folder = tmp_path / "data"
    yield folder
    pgdata, _ = cluster.locate(folder, cluster.run_as())
    cluster.Cluster(pgdata).stop()
    if not pgdata.is_relative_to(folder):
        shutil.rmtree(pgdata.parent, ignore_errors=True)


@pytest.fixture
def run_demo(data_dir: Path, tmp_path: Path) -> Iterator[Any]:
    started: list[Demo] = []

    def start(name: str) -> Demo:
        port = helpers.free_port()
        env = helpers.environment(test_keys=False, TOKENPULSE_DATA_DIR=str(data_dir))
        out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                [str(helpers.TOKENPULSE), "demo", "--port", str(port)],
                env=env,
                stdout=stdout,
                stderr=stderr,
            )
        demo = Demo(proc, port, out, err)
        started.append(demo)
        return demo

    yield start
    for demo in started:
        if demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait(10)


def wait_healthy(demo: Demo) -> dict[str, Any]:
    def healthy() -> dict[str, Any] | None:
        if demo.proc.poll() is not None:
            pytest.fail(f"demo exited with {demo.proc.returncode}: {demo.stderr.read_text()}")
        answer = get(demo.url("/api/health"))
        if answer is None or answer[0] != 200:
            return None
        body: dict[str, Any] = json.loads(answer[2])
        return body if body["database"]["ok"] else None

    return helpers.wait_until(healthy, READY_WITHIN, "a healthy /api/health", every=0.2)


def stop(demo: Demo, pgdata: Path) -> None:
    demo.proc.send_signal(signal.SIGTERM)
    assert demo.proc.wait(STOP_WITHIN) == 0, demo.stderr.read_text()
    assert "embedded PostgreSQL stopped" in demo.output()
    assert not (pgdata / "postmaster.pid").exists()
    assert helpers.processes_mentioning(str(pgdata)) == []


@pytest.mark.slow
def test_demo_from_nothing_then_again_on_the_same_data(run_demo: Any, data_dir: Path) -> None:
    first: Demo = run_demo("first")
    body = wait_healthy(first)
    assert body["database"]["mode"] in ("timescale", "portable")
    answer = get(first.url("/graphql"), accept="text/html")
    assert answer is not None
    assert answer[0] == 200
    assert answer[1].startswith("text/html")

    pgdata, note = cluster.locate(data_dir, cluster.run_as())
    out = first.output()
    assert f"embedded PostgreSQL in {pgdata} (new, port" in out
    assert f"mode: {body['database']['mode']}; applied: 0001_core" in out
    assert f"GraphiQL  {first.url('/graphql')}" in out
    if note is not None:  # root, and the postgres account cannot reach the tmp dir
        assert note in first.stderr.read_text()
    version_mtime = (pgdata / "PG_VERSION").stat().st_mtime_ns
    stop(first, pgdata)

    second: Demo = run_demo("second")
    wait_healthy(second)
    out = second.output()
    assert f"embedded PostgreSQL in {pgdata} (existing data, port" in out  # stopped, not left up
    assert "applied: nothing (up to date)" in out
    assert (pgdata / "PG_VERSION").stat().st_mtime_ns == version_mtime  # no second initdb
    stop(second, pgdata)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["portable"])
def test_demo_uses_the_configured_database(database_url: str, mode: str, tmp_path: Path) -> None:
    port = helpers.free_port()
    env = helpers.environment(
        test_keys=False,
        TOKENPULSE_DATABASE_URL=database_url,
        TOKENPULSE_DATA_DIR=str(tmp_path / "unused"),
    )
    out, err = tmp_path / "demo.out", tmp_path / "demo.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(helpers.TOKENPULSE), "demo", "--port", str(port)],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    demo = Demo(proc, port, out, err)
    try:
        body = wait_healthy(demo)
        assert body["database"]["mode"] == mode
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_WITHIN) == 0
    assert demo.output().startswith("database: TOKENPULSE_DATABASE_URL\n")
    assert "embedded PostgreSQL" not in demo.output()
    assert not (tmp_path / "unused").exists()  # no cluster was created
