"""The whole stack for a suite: PostgreSQL, the simulator, a worker and an API, each a process.

Everything the application reads comes from its environment, as in production: the database
URL, the simulator as every chain's upstream, the test keys the simulator accepts (none is a
credential), and the worker's cadence. Processes log JSON into the run's folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reliability import postgres, procs

KEYS = {
    "TOKENPULSE_ETHERSCAN_API_KEYS": "test-etherscan-key-1,test-etherscan-key-2",
    "TOKENPULSE_CRONOS_API_KEYS": "test-cronos-key-1",
}
START_TIMEOUT = 90.0  # two shared cores: the API and the simulator take a while to come up


@dataclass(frozen=True)
class Options:
    seed: int = 11
    density: float = 0.3
    speed: float = 1.0  # simulated seconds per real second
    timescale: bool | None = None  # None: when TimescaleDB is installed
    worker: Mapping[str, str] = field(default_factory=dict)  # extra worker settings
    api: Mapping[str, str] = field(default_factory=dict)  # extra API settings


class Simulator:
    """The simulator's admin API (docs/simulator.md)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"} if data else {}
        req = urllib.request.Request(self.url + path, data, headers, method=method)
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def answers(self) -> bool:
        try:
            self.get("/_sim/state")
        except (OSError, urllib.error.URLError):
            return False
        return True

    def fault(self, spec: Mapping[str, Any]) -> list[str]:
        created = self.request("POST", "/_sim/faults", dict(spec))
        return [str(item["id"]) for item in created["faults"]]

    def clear_faults(self) -> None:
        self.request("DELETE", "/_sim/faults")

    def set_speed(self, speed: float) -> None:
        self.request("POST", "/_sim/clock", {"speed": speed})

    def truth(self, chain_id: int, lo: int, hi: int) -> list[dict[str, Any]]:
        """The ERC-20 transfers of blocks [lo, hi], every page."""
        rows: list[dict[str, Any]] = []
        while True:
            query = f"fromBlock={lo}&toBlock={hi}&limit=5000&offset={len(rows)}"
            page = self.get(f"/_sim/truth/{chain_id}/transfers?{query}")
            rows += page["transfers"]
            if len(rows) >= page["total"] or not page["transfers"]:
                return rows


@dataclass
class Stack:
    db: postgres.Postgres
    dsn: str
    sim: Simulator
    simulator: procs.Service
    worker: procs.Service
    api: procs.Service
    api_url: str
    folder: Path

    def api_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.api_url + "/healthz", timeout=5) as answer:
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def start_worker(self) -> None:
        self.worker.start()


def _env(dsn: str, sim_url: str, options: Options) -> dict[str, str]:
    mode = "timescale" if options.timescale else "portable"
    return {
        **KEYS,
        "TOKENPULSE_DATABASE_URL": dsn,
        "TOKENPULSE_SIMULATOR_URL": sim_url,
        "TOKENPULSE_SCHEMA_MODE": mode,
    }


def _started(service: procs.Service, probe: Any, what: str) -> None:
    service.start()

    def up() -> bool:
        if not service.alive():
            raise RuntimeError(f"{service.name} exited: {service.log_tail()}")
        return bool(probe())

    procs.wait_until(up, START_TIMEOUT, what)


@contextlib.contextmanager
def running(options: Options, folder: Path) -> Iterator[Stack]:
    """Start everything (the worker last); stop everything on exit, whatever happened."""
    folder.mkdir(parents=True, exist_ok=True)
    timescale = options.timescale
    # PostgreSQL is left last: the processes stop (the exit stack) before their database does.
    with postgres.running(timescale=timescale) as db, contextlib.ExitStack() as exits:
        options = dataclasses.replace(options, timescale=db.timescale)
        sim_port, api_port = procs.free_port(), procs.free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        args = ["simulate", "--port", str(sim_port), "--seed", str(options.seed)]
        args += ["--speed", f"{options.speed:g}", "--density", f"{options.density:g}"]
        simulator = procs.Service("simulator", args, {}, folder)
        exits.callback(simulator.stop)
        sim = Simulator(sim_url)
        _started(simulator, sim.answers, "the simulator")
        env = _env(db.dsn(), sim_url, options)
        procs.run(["migrate"], env)
        # Every client is 127.0.0.1: one client to the per-client limit, which is not what the
        # suites measure (tests/security does).
        api_env = {**env, "TOKENPULSE_RATE_LIMIT_PER_SECOND": "0", **options.api}
        api = procs.Service("api", ["serve", "--port", str(api_port)], api_env, folder)
        worker = procs.Service("worker", ["worker"], {**env, **options.worker}, folder)
        exits.callback(api.stop)
        exits.callback(worker.stop)
        stack = Stack(
            db, db.dsn(), sim, simulator, worker, api, f"http://127.0.0.1:{api_port}", folder
        )
        _started(api, stack.api_ready, "the API")
        worker.start()
        yield stack
