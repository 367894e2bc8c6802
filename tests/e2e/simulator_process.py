"""`tokenpulse simulate` as a subprocess on a free port, for the end-to-end ingestion tests."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e import helpers

Identity = tuple[str, int]  # (tx hash, log index)


@dataclass
class SimulatorProcess:
    proc: subprocess.Popen[bytes]
    url: str

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def state(self, chain_id: int) -> dict[str, Any]:
        """head, safe, finalized, genesis... of a chain now."""
        return dict(self.get("/_sim/state")["chains"][str(chain_id)])

    def truth(self, chain_id: int, lo: int, hi: int) -> list[Identity]:
        """The ERC-20 transfers of blocks [lo, hi] (tx hash, log index), every page."""
        rows: list[Identity] = []
        while True:
            query = f"fromBlock={lo}&toBlock={hi}&limit=5000&offset={len(rows)}"
            page = self.get(f"/_sim/truth/{chain_id}/transfers?{query}")
            rows += [(t["txHash"], t["logIndex"]) for t in page["transfers"]]
            if len(rows) >= page["total"]:
                return rows


@contextmanager
def simulate(tmp_path: Path, *args: str) -> Iterator[SimulatorProcess]:
    port = helpers.free_port()
    log = tmp_path / "simulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(helpers.TOKENPULSE), "simulate", "--port", str(port), *args],
            env=helpers.environment(),
            stdout=out,
            stderr=out,
        )
    sim = SimulatorProcess(proc, f"http://127.0.0.1:{port}")
    try:

        def answers() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"simulate exited: {log.read_text()}")
            try:
                sim.get("/_sim/state")
            except OSError:
                return False
            return True

        helpers.wait_until(answers, 30, "the simulator to answer")
        yield sim
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
