"""`tokenpulse demo` from a fresh data dir ingests from its embedded simulator: within a minute
every chain has transfers in the store (health) and coverage (GraphQL), the API heard the
worker's notifications, and SIGTERM stops everything cleanly."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.store import cluster
from tests.e2e import helpers

WITHIN = 60.0
QUERY = "{ chains { id coverage { coveredBlocks } } warmStatus { chainId status } }"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    yield folder
    pgdata, _ = cluster.locate(folder, cluster.run_as())
    cluster.Cluster(pgdata).stop()
    if not pgdata.is_relative_to(folder):
        shutil.rmtree(pgdata.parent, ignore_errors=True)


def fetch(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except OSError:  # not up yet
        return None


@pytest.mark.slow
def test_demo_shows_transfers_for_every_chain_within_a_minute(
    data_dir: Path, tmp_path: Path
) -> None:
    port = helpers.free_port()
    env = helpers.environment(test_keys=False, TOKENPULSE_DATA_DIR=str(data_dir))
    out, err = tmp_path / "demo.out", tmp_path / "demo.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(helpers.TOKENPULSE), "demo", "--port", str(port)],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:

        def every_chain_has_transfers() -> dict[str, Any] | None:
            if proc.poll() is not None:
                pytest.fail(f"demo exited with {proc.returncode}: {err.read_text()[-2000:]}")
            body = fetch(f"{base}/api/health")
            if not body or not body["chains"]:
                return None
            return body if all(chain["lastBlock"] for chain in body["chains"]) else None

        health = helpers.wait_until(every_chain_has_transfers, WITHIN, "transfers on every chain")
        assert time.monotonic() - started < WITHIN
        assert len(health["chains"]) == 10
        answer = fetch(f"{base}/graphql", {"query": QUERY})
        assert answer is not None
        assert "errors" not in answer, answer
        assert all(c["coverage"]["coveredBlocks"] > 0 for c in answer["data"]["chains"])
        assert len(answer["data"]["warmStatus"]) == 10
        cache = fetch(f"{base}/api/cache-health")
        assert cache["notifications"]["connected"] is True
        assert cache["notifications"]["received"] > 0  # the worker's NOTIFYs reached the API
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, err.read_text()[-2000:]
    text = out.read_text()
    assert "simulator: http://127.0.0.1:" in text
    assert "embedded PostgreSQL stopped" in text
    assert "Traceback" not in err.read_text()
