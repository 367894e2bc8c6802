"""The suites' arithmetic: percentiles, the memory trend, answer classification, the clock."""

from __future__ import annotations

from reliability import checks, soak, traffic

MIB = 1024 * 1024


def test_percentiles_are_nearest_rank() -> None:
    found = traffic.percentiles([float(n) for n in range(1, 101)])
    assert found == {"p50Ms": 50.0, "p95Ms": 95.0, "p99Ms": 99.0, "maxMs": 100.0}
    assert traffic.percentiles([]) == {"p50Ms": None, "p95Ms": None, "p99Ms": None, "maxMs": None}


def test_a_leak_is_a_trend_and_start_up_growth_is_not() -> None:
    # Start-up growth then flat: the second half does not grow.
    flat = [(t, (100 + min(t, 50)) * MIB) for t in range(0, 200, 10)]
    assert checks.memory_trend(flat, 0.05)["growing"] is False
    # 1 MiB every 10 s on 100 MiB: about 10 % over the second half.
    leak = [(t, (100 + t // 10) * MIB) for t in range(0, 200, 10)]
    trend = checks.memory_trend(leak, 0.05)
    assert trend["growing"] is True
    assert trend["slopeMiBPerHour"] == 360.0
    assert checks.memory_trend(leak[:3], 0.05)["growing"] is None


def test_answers_are_classified() -> None:
    rest, gql = traffic.ROUTES[0], traffic.Route("g", "/graphql", "{ version }")
    down = b'{"error": {"code": "database_unavailable", "message": "x", "field": null}}'
    assert traffic.classify(rest, 503, down) == ("unavailable", None)
    assert traffic.classify(rest, 200, b"{}") == ("ok", None)
    assert traffic.classify(rest, 429, b"{}") == ("throttled", None)
    assert traffic.classify(rest, 500, b'{"error": {"code": "internal"}}')[0] == "error"
    assert traffic.classify(rest, 503, b"<html>")[0] == "error"
    coded = b'{"data": null, "errors": [{"extensions": {"code": "database_unavailable"}}]}'
    assert traffic.classify(gql, 200, coded) == ("unavailable", None)
    assert traffic.classify(gql, 200, b'{"errors": [{"message": "boom"}]}')[0] == "error"


def test_the_clock_covers_the_hours_in_the_minutes() -> None:
    assert soak.speed_for(48, 25) == 115.2
    assert soak.speed_for(1, 120) == 1.0  # never slower than real time
