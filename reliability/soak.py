"""Soak: the whole stack for ``--minutes`` of wall time while the simulator's clock covers at least
``--hours`` of chain time, under API load throughout.

    python -m reliability.soak [--minutes 25] [--hours 48] [--clients 4]

The simulator runs ``speed = hours x 3600 / (minutes x 60)`` simulated seconds per real second
(48 h in 25 min: 115.2x), so the chains produce two days of blocks and transfers. Rate limits,
fault durations and the simulator's call log stay in **wall** time (docs/simulator.md): the
worker's pacing is judged at real pace, call by call, whatever the clock does. Proven at the
end, and written to ``reliability/results/soak-*.json``:

- zero rate-limit violations per key account in the provider's call log;
- no memory growth trend of the worker and the API (RSS from /proc, fitted slope);
- every chain Fresh (GraphQL ``warmStatus``) once the clock is back at 1x;
- the stored transfers equal to the simulator's ground truth over every covered range;
- no API request failed (only 200s; a 5xx, a timeout or a refused connection is a failure).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

from reliability import checks, procs, results, stack, traffic

FRESH_TIMEOUT = 300.0  # after the clock slows down, each chain needs a tip cycle or two


def worker_settings(interval: float) -> dict[str, str]:
    return {
        "TOKENPULSE_INGEST_INTERVAL_SECONDS": f"{interval:g}",
        "TOKENPULSE_INGEST_JITTER_SECONDS": "1",
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reliability.soak")
    parser.add_argument("--minutes", type=float, default=25.0, help="wall time under load")
    parser.add_argument("--hours", type=float, default=48.0, help="chain time to cover")
    parser.add_argument("--clients", type=int, default=4, help="concurrent API clients")
    parser.add_argument("--pause", type=float, default=0.25, help="each client's pause, s")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="RSS sampling period")
    parser.add_argument("--interval", type=float, default=10.0, help="the worker's tip interval")
    parser.add_argument("--density", type=float, default=1.0, help="simulator density")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--portable", action="store_true", help="portable schema mode")
    parser.add_argument(
        "--max-growth",
        type=float,
        default=0.05,
        help="RSS growth allowed over the second half, as a fraction of its mean",
    )
    parser.add_argument("--results", type=Path, default=results.ROOT)
    return parser.parse_args(argv)


def speed_for(hours: float, minutes: float) -> float:
    return max(1.0, hours * 3600 / (minutes * 60))


def soak(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    options = stack.Options(
        seed=args.seed,
        density=args.density,
        timescale=False if args.portable else None,
        worker=worker_settings(args.interval),
    )
    with stack.running(options, folder) as running:
        return observe(args, running)


def observe(args: argparse.Namespace, running: stack.Stack) -> dict[str, Any]:
    """The soak on a running stack: the clock sped up, load and sampling for ``args.minutes``,
    then the clock back at 1x, the checks, and the worker stopped."""
    speed = speed_for(args.hours, args.minutes)
    running.sim.set_speed(speed)
    if not running.worker.alive():
        running.worker.start()
    sim_start = float(running.sim.get("/_sim/state")["now"])
    memory = checks.MemorySampler(
        {"worker": running.worker, "api": running.api}, args.sample_seconds
    )
    memory.start()
    with traffic.running(running.api_url, args.clients, args.pause) as load:
        deaths = _hold(running, args.minutes * 60)
    memory.stop()
    # Back to real time: the head stops racing, so each tip cycle can reach it.
    running.sim.set_speed(1.0)
    covered_hours = (float(running.sim.get("/_sim/state")["now"]) - sim_start) / 3600
    warm = _until_fresh(running.api_url)
    worker_exit = running.worker.stop()
    truth = checks.against_truth(running.dsn, running.sim)
    pacing = checks.pacing(running.sim)
    mode = "timescale" if running.db.timescale else "portable"
    return _result(
        args,
        speed,
        covered_hours,
        mode,
        deaths,
        worker_exit,
        warm,
        truth,
        pacing,
        memory.report(args.max_growth),
        load.summary(),
    )


def _hold(running: stack.Stack, seconds: float) -> list[str]:
    """Wait ``seconds``; a process that dies is recorded (and the worker started again)."""
    deaths: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        for service in (running.worker, running.api, running.simulator):
            if not service.alive():
                deaths.append(f"{service.name}: {service.log_tail(500)}")
                service.start()
    return deaths


def _until_fresh(api_url: str) -> dict[str, Any]:
    started = time.monotonic()
    last: dict[str, str] = {}

    def fresh() -> bool:
        nonlocal last
        last = checks.warm_status(api_url)
        return bool(last) and all(status == "FRESH" for status in last.values())

    with contextlib.suppress(procs.Timeout):
        procs.wait_until(fresh, FRESH_TIMEOUT, "every chain Fresh", every=2.0)
    return {"allFresh": fresh(), "seconds": round(time.monotonic() - started, 1), "chains": last}


def _result(
    args: argparse.Namespace,
    speed: float,
    covered_hours: float,
    mode: str,
    deaths: list[str],
    worker_exit: int | None,
    warm: dict[str, Any],
    truth: checks.TruthReport,
    pacing: dict[str, Any],
    memory: dict[str, Any],
    load: dict[str, Any],
) -> dict[str, Any]:
    failed = sum(count for name, count in load["outcomes"].items() if name != "ok")
    verdicts = {
        "zeroViolations": pacing["violations"] == 0,
        "noMemoryGrowth": all(item.get("growing") is False for item in memory.values()),
        "allFresh": bool(warm["allFresh"]),
        "equalsTruth": truth.equal,
        "noFailedRequests": failed == 0,
        "noCrashes": not deaths and worker_exit == 0,
        "coveredHours": covered_hours >= args.hours,
    }
    return {
        "suite": "soak",
        "passed": all(verdicts.values()),
        "verdicts": verdicts,
        "wallMinutes": args.minutes,
        "speed": round(speed, 2),
        "simulatedHours": round(covered_hours, 2),
        "schemaMode": mode,
        "density": args.density,
        "workerExit": worker_exit,
        "crashes": deaths,
        "warm": warm,
        "truth": truth.to_json(),
        "pacing": pacing,
        "memory": memory,
        "load": load,
        "machine": results.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    folder = results.run_folder("soak", args.results)
    result = soak(args, folder)
    path = results.write(folder, "soak", result)
    print(f"soak: {'PASSED' if result['passed'] else 'FAILED'} {result['verdicts']} -> {path}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
