"""Chaos: the whole stack under API traffic while its parts are broken, round after round.

    python -m reliability.chaos [--rounds 5] [--down-seconds 6] [--fault-seconds 8]

Each round, in order:

1. SIGKILL the worker while one of its batch transactions has written rows but not committed
   (seen in ``pg_stat_activity``), and start a new one (what a supervisor does);
2. stop PostgreSQL while the worker is writing and the clients are requesting (``fast`` on even
   rounds, ``immediate`` - a crash with WAL replay - on odd ones), probe every route while it
   is down (each must answer 503 JSON or a ``database_unavailable`` GraphQL error within the
   client's timeout: never hang, never 500), start it again, and time how long the API (never
   restarted) and the worker (never restarted) take to work again;
3. cut the upstreams (simulator ``outage`` faults on Etherscan, the Cronos explorer and RPC);
4. feed garbage (``malformed_json``, ``wrong_types`` and ``truncated_page`` faults on half the
   calls).

At the end the worker is stopped and every covered range of every chain is compared with the
simulator's ground truth, row for row: nothing lost, nothing duplicated, nothing extra.
A page cut short with an OK status (``truncated_page``) is a prefix of the truth, which the
ingestion's sealing rule is built for (app/ingest/windows.py): the window is covered only up to
the block before its last row.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

from reliability import checks, procs, results, stack, traffic

# Small windows and quick cycles: many batches, so a kill lands mid-batch; short back-offs so
# recovery after a fault is measured in seconds rather than the production minutes.
WORKER = {
    "TOKENPULSE_LEADER_POLL_SECONDS": "0.5",
    "TOKENPULSE_WORKER_HEARTBEAT_SECONDS": "0.5",
    "TOKENPULSE_UPSTREAM_CALLS_PER_SECOND": "4",
    "TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS": "2000",
    "TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS": "20000",
    "TOKENPULSE_INGEST_INTERVAL_SECONDS": "2",
    "TOKENPULSE_INGEST_JITTER_SECONDS": "0.5",
    "TOKENPULSE_BACKFILL_INTERVAL_SECONDS": "1",
    "TOKENPULSE_BACKFILL_RUN_SECONDS": "5",
    "TOKENPULSE_INGEST_FAILURE_BACKOFF_SECONDS": "1",
    "TOKENPULSE_INGEST_FAILURE_BACKOFF_CAP_SECONDS": "5",
    "TOKENPULSE_BREAKER_RESET_SECONDS": "3",
    "TOKENPULSE_RETRY_CAP_SECONDS": "3",
}
# Each probe asks about an address of its own ({address}), so no answer can come from the
# API's caches: every one needs the database.
PROBES = (
    traffic.Route("rest:transfers", "/api/transfers?chainId=0&pageSize=25&address={address}"),
    traffic.Route("rest:address", "/api/address/{address}"),
    traffic.Route("rest:search", "/api/search?query={address}"),
    traffic.Route(
        "graphql:transfers",
        "/graphql",
        '{ transfers(first: 5, address: "{address}") { nodes { txHash logIndex } } }',
    ),
    traffic.Route("readyz", "/readyz"),
)
CLIENT_TIMEOUT = 10.0
RECOVERY_TIMEOUT = 120.0
UPSTREAMS = ("etherscan", "cronos", "rpc")


class Chaos:
    def __init__(self, running: stack.Stack, args: argparse.Namespace) -> None:
        self.stack, self.args = running, args
        self.kills = 0
        self.kills_mid_batch = 0
        self.pg_mid_batch = 0  # restarts while a batch was writing
        self.pg_restarts: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.down_probes: Counter[str] = Counter()
        self.down_problems: list[str] = []
        self.down_ms: list[float] = []  # how long each answer took while the database was down
        self.api_recovery: list[float] = []
        self.worker_resume: list[float] = []
        self.stalls: list[str] = []  # what did not come back on its own
        self.step_seconds: dict[str, list[float]] = defaultdict(list)

    def round(self, index: int) -> None:
        self._timed("kill", self.kill_worker)
        self._timed("postgres", lambda: self.restart_postgres("immediate" if index % 2 else "fast"))
        self._timed("outage", self.cut_upstreams)
        self._timed("garbage", self.garbage)

    def _timed(self, step: str, action: Callable[[], None]) -> None:
        started = time.monotonic()
        action()
        self.step_seconds[step].append(round(time.monotonic() - started, 1))

    def kill_worker(self) -> None:
        worker = self.stack.worker
        # Killed between batches when none comes: still a kill, counted apart.
        self.kills_mid_batch += checks.wait_writing(self.stack.dsn, 30)
        worker.kill()
        self.kills += 1
        worker.start()
        self._progress("the restarted worker")

    def restart_postgres(self, mode: str) -> None:
        self.pg_mid_batch += checks.wait_writing(self.stack.dsn, 20)
        starts = (self.stack.api.starts, self.stack.worker.starts)
        before = checks.covered_blocks(self.stack.dsn)
        self.stack.db.stop(mode)
        self.pg_restarts[mode] += 1
        self._probe_down()
        time.sleep(self.args.down_seconds)
        self._probe_down()
        self.stack.db.start()
        up = time.monotonic()
        self.api_recovery.append(self._api_back(up))
        self.worker_resume.append(self._progress("the worker after the restart", before, up))
        if (self.stack.api.starts, self.stack.worker.starts) != starts or not self._alive():
            self.stalls.append(f"a process had to be restarted after the {mode} restart")

    def cut_upstreams(self) -> None:
        self._fault_window([{"kind": "outage", "service": name} for name in UPSTREAMS])

    def garbage(self) -> None:
        kinds = ("malformed_json", "wrong_types", "truncated_page")
        specs = [
            {"kind": kind, "service": name, "probability": 0.5}
            for kind in kinds
            for name in UPSTREAMS
        ]
        self._fault_window(specs)

    def _fault_window(self, specs: list[dict[str, Any]]) -> None:
        before = checks.covered_blocks(self.stack.dsn)
        for spec in specs:
            self.stack.sim.fault({**spec, "duration": self.args.fault_seconds})
            self.faults[str(spec["kind"])] += 1
        time.sleep(self.args.fault_seconds)
        self.stack.sim.clear_faults()
        if not self.stack.worker.alive():
            self.stalls.append(f"the worker died under {specs[0]['kind']}")
            self.stack.worker.start()
        self._progress(f"the worker after {specs[0]['kind']}", before)

    def _probe_down(self) -> None:
        with httpx.Client(base_url=self.stack.api_url, timeout=CLIENT_TIMEOUT) as client:
            for route in PROBES:
                started = time.monotonic()
                outcome, problem = _probe(client, route)
                self.down_ms.append((time.monotonic() - started) * 1000)
                self.down_probes[outcome] += 1
                if outcome == "ok":
                    problem = "answered 200 while the database was down"
                if problem and len(self.down_problems) < 10:
                    self.down_problems.append(f"{route.name}: {problem}")

    def _api_back(self, since: float) -> float:
        with httpx.Client(base_url=self.stack.api_url, timeout=CLIENT_TIMEOUT) as client:

            def ok() -> bool:
                return all(_probe(client, route)[0] == "ok" for route in PROBES)

            try:
                procs.wait_until(ok, RECOVERY_TIMEOUT, "the API to recover", every=0.2)
            except procs.Timeout:
                self.stalls.append("the API did not recover")
        return round(time.monotonic() - since, 2)

    def _progress(self, who: str, before: int | None = None, since: float | None = None) -> float:
        """Seconds until coverage grows past ``before`` (now, when None)."""
        since = time.monotonic() if since is None else since
        if before is None:
            before = checks.covered_blocks(self.stack.dsn)
        try:
            procs.wait_until(
                lambda: _covered(self.stack.dsn) > before, RECOVERY_TIMEOUT, f"{who} to ingest"
            )
        except procs.Timeout:
            self.stalls.append(f"{who} did not ingest within {RECOVERY_TIMEOUT:g} s")
        return round(time.monotonic() - since, 2)

    def _alive(self) -> bool:
        return self.stack.api.alive() and self.stack.worker.alive()

    def summary(self) -> dict[str, Any]:
        return {
            "workerKills": self.kills,
            "workerKillsMidBatch": self.kills_mid_batch,
            "postgresRestarts": dict(self.pg_restarts),
            "postgresRestartsMidBatch": self.pg_mid_batch,
            "faultsInjected": dict(self.faults),
            "probesWhileDown": dict(self.down_probes),
            "problemsWhileDown": self.down_problems,
            "answerWhileDownMs": traffic.percentiles(self.down_ms),
            "apiRecoverySeconds": self.api_recovery,
            "workerResumeSeconds": self.worker_resume,
            "stalls": self.stalls,
            "stepSeconds": dict(self.step_seconds),
        }


def _covered(dsn: str) -> int:
    """Covered blocks, or -1 while the database cannot say (it is coming back)."""
    try:
        return checks.covered_blocks(dsn)
    except psycopg.OperationalError:
        return -1


def _probe(client: httpx.Client, route: traffic.Route) -> tuple[str, str | None]:
    address = "0x" + secrets.token_hex(20)
    try:
        if route.query is None:
            answer = client.get(route.path.replace("{address}", address))
        else:
            body = {"query": route.query.replace("{address}", address)}
            answer = client.post(route.path, json=body)
    except httpx.TimeoutException:
        return "timeout", f"no answer within {CLIENT_TIMEOUT:g} s"
    except httpx.TransportError as exc:
        return "refused", type(exc).__name__
    return traffic.classify(route, answer.status_code, answer.content)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reliability.chaos")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--down-seconds", type=float, default=6.0, help="PostgreSQL down time")
    parser.add_argument("--fault-seconds", type=float, default=8.0, help="each fault window")
    parser.add_argument("--settle-seconds", type=float, default=30.0, help="calm at the end")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--speed", type=float, default=30.0, help="simulator clock")
    parser.add_argument("--density", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--portable", action="store_true", help="portable schema mode")
    parser.add_argument("--results", type=Path, default=results.ROOT)
    return parser.parse_args(argv)


def chaos(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    options = stack.Options(
        seed=args.seed,
        density=args.density,
        speed=args.speed,
        timescale=False if args.portable else None,
        worker=WORKER,
    )
    with stack.running(options, folder) as running:
        return exercise(args, running)


def exercise(args: argparse.Namespace, running: stack.Stack) -> dict[str, Any]:
    """The rounds on a running stack (its worker started with WORKER's settings), then the
    worker stopped and the store compared with the truth."""
    started = time.monotonic()
    procs.wait_until(lambda: checks.covered_blocks(running.dsn) > 0, 60, "first windows")
    run = Chaos(running, args)
    with traffic.running(running.api_url, args.clients, 0.1, CLIENT_TIMEOUT) as load:
        for index in range(args.rounds):
            run.round(index)
        # Undisturbed ingestion at the end, so the comparison holds more than the windows the
        # rounds left behind (backfill hardly gets going between breakages).
        time.sleep(args.settle_seconds)
    worker_exit = running.worker.stop()
    truth = checks.against_truth(running.dsn, running.sim)
    mode = "timescale" if running.db.timescale else "portable"
    return _result(args, run, truth, load.summary(), worker_exit, mode, started)


def _result(
    args: argparse.Namespace,
    run: Chaos,
    truth: checks.TruthReport,
    load: dict[str, Any],
    worker_exit: int | None,
    mode: str,
    started: float,
) -> dict[str, Any]:
    outcomes = load["outcomes"]
    verdicts = {
        "equalsTruth": truth.equal,
        "down503Only": set(run.down_probes) == {"unavailable"},
        "noHangsOr500s": not any(outcomes.get(name) for name in ("error", "timeout", "refused")),
        "recoveredOnTheirOwn": not run.stalls,
        "workerStoppedCleanly": worker_exit == 0,
    }
    return {
        "suite": "chaos",
        "passed": all(verdicts.values()),
        "verdicts": verdicts,
        "rounds": args.rounds,
        "wallSeconds": round(time.monotonic() - started, 1),
        "schemaMode": mode,
        **run.summary(),
        "truth": truth.to_json(),
        "load": load,
        "machine": results.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    folder = results.run_folder("chaos", args.results)
    result = chaos(args, folder)
    path = results.write(folder, "chaos", result)
    print(f"chaos: {'PASSED' if result['passed'] else 'FAILED'} {result['verdicts']} -> {path}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
