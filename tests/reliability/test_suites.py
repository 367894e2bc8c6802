"""The reliability suites (reliability/, docs/reliability.md) in a tiny configuration, so CI
proves they run and that their checks hold: one stack (portable mode, a sparse world) shared by
the three in order (load, then chaos, which stops the worker, then soak, which starts it again).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reliability import chaos, load, results, soak, stack


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.Stack]:
    options = stack.Options(seed=5, density=0.1, speed=100, timescale=False, worker=chaos.WORKER)
    with stack.running(options, tmp_path_factory.mktemp("reliability")) as found:
        yield found


def _written(tmp_path: Path, suite: str, result: dict[str, object]) -> None:
    path = results.write(tmp_path / suite, suite, result)
    assert path.read_text().startswith("{")
    assert (tmp_path / f"{suite}-latest.json").exists()


@pytest.mark.slow
def test_load_reports_latency_per_route(running: stack.Stack, tmp_path: Path) -> None:
    args = load.parse(["--seconds", "3", "--warm-seconds", "0", "--clients", "2"])
    result = load.measure(args, running)
    assert result["passed"], result
    for name, route in result["routes"].items():
        assert route["requests"] > 0, name
        assert route["errorRate"] == 0.0, (name, route)
        assert 0 < route["p50Ms"] <= route["p95Ms"] <= route["p99Ms"] <= route["maxMs"], name
    _written(tmp_path, "load", result)


@pytest.mark.slow
def test_chaos_kill_and_restart_lose_nothing(running: stack.Stack, tmp_path: Path) -> None:
    args = chaos.parse(["--rounds", "1", "--down-seconds", "1", "--fault-seconds", "1"])
    result = chaos.exercise(args, running)
    assert result["passed"], result
    assert result["workerKills"] == 1
    assert result["postgresRestarts"] == {"fast": 1}
    assert result["probesWhileDown"] == {"unavailable": 2 * len(chaos.PROBES)}
    assert result["faultsInjected"] == {"outage": 3, "malformed_json": 3, "wrong_types": 3}
    truth = result["truth"]
    assert truth["lost"] == truth["extra"] == truth["duplicated"] == 0
    assert truth["expected"] == truth["stored"] > 0
    _written(tmp_path, "chaos", result)


@pytest.mark.slow
def test_soak_proves_pacing_freshness_and_truth(running: stack.Stack, tmp_path: Path) -> None:
    # Nine seconds cannot show a memory trend (start-up growth dominates): that verdict is
    # only computed here, and judged by real runs.
    tiny = ["--minutes", "0.15", "--hours", "1", "--sample-seconds", "1", "--clients", "2"]
    args = soak.parse([*tiny, "--max-growth", "100"])
    result = soak.observe(args, running)
    assert result["passed"], result
    assert result["speed"] == 400.0
    assert result["simulatedHours"] >= 1
    assert result["pacing"]["violations"] == 0
    assert result["pacing"]["calls"] > 0
    assert set(result["warm"]["chains"].values()) == {"FRESH"}
    assert result["memory"]["worker"]["samples"] >= 4
    assert result["memory"]["api"]["slopeMiBPerHour"] is not None
    _written(tmp_path, "soak", result)
