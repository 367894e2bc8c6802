"""The reliability suites (reliability/, docs/reliability.md) in a tiny configuration, so CI
proves they run and that their checks hold: one stack (portable mode, a sparse world) shared by
the three in order (load, then chaos, which stops the worker, then soak, which starts it again).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reliability import chaos, load, results, soak, stack


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.Stack]:
    options = stack.Options(
        seed=5,
        density=0.1,
        speed=100,
        timescale=False,
        worker=chaos.WORKER,
        # While PostgreSQL is down each request waits this long for a connection, then 503s.
        api={"TOKENPULSE_DB_CONNECT_TIMEOUT": "1"},
    )
    with stack.running(options, tmp_path_factory.mktemp("reliability")) as found:
        yield found


def _written(tmp_path: Path, suite: str, result: dict[str, Any]) -> dict[str, Any]:
    """The result as the suite writes it; the figures without the per-route detail, to show
    with a failed assertion."""
    path = results.write(tmp_path / suite, suite, result)
    assert json.loads(path.read_text()) == json.loads(
        (tmp_path / f"{suite}-latest.json").read_text()
    )
    return {key: value for key, value in result.items() if key not in ("load", "routes")}


@pytest.mark.slow
def test_load_reports_latency_per_route(running: stack.Stack, tmp_path: Path) -> None:
    args = load.parse(["--seconds", "3", "--warm-seconds", "0", "--clients", "2"])
    result = load.measure(args, running)
    figures = _written(tmp_path, "load", result)
    assert result["passed"], figures
    for name, route in result["routes"].items():
        assert route["requests"] > 0, name
        assert route["errorRate"] == 0.0, (name, route)
        assert 0 < route["p50Ms"] <= route["p95Ms"] <= route["p99Ms"] <= route["maxMs"], name


@pytest.mark.slow
def test_chaos_kill_and_restart_lose_nothing(running: stack.Stack, tmp_path: Path) -> None:
    args = chaos.parse(
        ["--rounds", "1", "--down-seconds", "1", "--fault-seconds", "1", "--settle-seconds", "0"]
    )
    result = chaos.exercise(args, running)
    figures = _written(tmp_path, "chaos", result)
    assert result["passed"], figures
    assert result["workerKills"] == 1
    assert result["postgresRestarts"] == {"fast": 1}
    assert result["probesWhileDown"] == {"unavailable": 2 * len(chaos.PROBES)}
    assert result["faultsInjected"] == {
        "outage": 3,
        "malformed_json": 3,
        "wrong_types": 3,
        "truncated_page": 3,
    }
    truth = result["truth"]
    assert truth["lost"] == truth["extra"] == truth["duplicated"] == 0
    assert truth["expected"] == truth["stored"] > 0


@pytest.mark.slow
def test_soak_proves_pacing_freshness_and_truth(running: stack.Stack, tmp_path: Path) -> None:
    # Nine seconds cannot show a memory trend (start-up growth dominates): that verdict is
    # only computed here, and judged by real runs.
    tiny = ["--minutes", "0.15", "--hours", "1", "--sample-seconds", "1", "--clients", "2"]
    args = soak.parse([*tiny, "--max-growth", "100"])
    result = soak.observe(args, running)
    figures = _written(tmp_path, "soak", result)
    assert result["passed"], figures
    assert result["speed"] == 400.0
    assert result["simulatedHours"] >= 1
    assert result["pacing"]["violations"] == 0
    assert result["pacing"]["calls"] > 0
    assert set(result["warm"]["chains"].values()) == {"FRESH"}
    assert result["memory"]["worker"]["samples"] >= 4
    assert result["memory"]["api"]["slopeMiBPerHour"] is not None
