"""/api/health and GraphQL ``health`` on a real database: budgets per key over 1 h and 24 h,
upstream calls, breakers (and "unknown" without their table), scheduler jobs as the worker
records them, aggregate watermarks, the latest validation variance and recent alerts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.ops import health_detail
from app.store import alerts as store_alerts
from app.store import budget as store_budget
from app.store import job_runs as store_job_runs
from app.store import pool as pool_module
from app.store import validation as store_validation
from app.store.job_runs import JobRuns
from tests.api.conftest import seed

KEY = "etherscan:0123456789abcdef"
OTHER = "cronos:fedcba9876543210"


async def _seed_detail(config: Config) -> None:
    conn = await pool_module.connect(config.settings)
    async with conn:
        await store_budget.reserve(conn, KEY, "etherscan", "key #1", 1.0, 1000)
        await store_budget.reserve(conn, OTHER, "cronos", "key #1", 1.0, None)
        for outcome, latency in (("ok", 100.0), ("ok", 300.0), ("rate_limited", 50.0)):
            await store_budget.record_call(conn, KEY, "etherscan", "logs", outcome, latency)
        await store_budget.record_rate_limited(conn, KEY, 30.0)
        # A call 5 hours ago counts in the 24 h window only.
        await conn.execute(
            "insert into upstream_calls values (date_trunc('hour', now()) - interval '5 hours',"
            " %s, 'etherscan', 'logs', 'ok', 4, 400, 150)",
            (KEY,),
        )
        await conn.execute(
            "insert into upstream_breakers (name, provider, state, failures, opened_at,"
            " changed_at, updated_at) values"
            " ('etherscan:1 logs', 'etherscan', 'open', 5, now() - interval '90 seconds',"
            " now(), now()), ('price coingecko', 'price', 'closed', 0, null, now(), now())"
        )
        started = datetime.now(UTC) - timedelta(seconds=3)
        for error in (None, "RuntimeError: boom", "RuntimeError: boom again"):
            run = store_job_runs.Run(
                "backfill", "h:1", started, started + timedelta(seconds=1),
                "ok" if error is None else "failed", 1000.0, error,
                datetime.now(UTC) + timedelta(seconds=60),
            )  # fmt: skip
            await store_job_runs.record(conn, run)
        ok = store_job_runs.Run("analytics_refresh", "h:1", started, started, "ok", 12.5)
        await store_job_runs.record(conn, ok)
        report = {"comparisons": [{"variance": 0.05}, {"variance": 0.01}, {"variance": None}]}
        await store_validation.insert_report(
            conn, origin="nightly", started_at=started, finished_at=started, threshold=0.02,
            report=report, markdown="", flagged=1,
        )  # fmt: skip
        await store_alerts.raise_alert(
            conn, kind="validation_variance", severity=store_alerts.Severity.WARNING,
            chain_id=None, message="supply differs by 5%", details={}, dedupe_key="v:1",
        )  # fmt: skip
        await conn.commit()


def _health(config: Config) -> dict[str, Any]:
    with TestClient(create_app(config)) as client:
        response = client.get("/api/health")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_health_reports_budgets_breakers_jobs_and_validation(config: Config) -> None:
    seed(config, leader=True, synced=True)
    asyncio.run(_seed_detail(config))
    body = _health(config)

    key = next(item for item in body["budgets"] if item["keyId"] == KEY)
    # 3 calls this hour (2 ok, 1 rate limited) and 4 more five hours ago.
    assert key["lastHour"]["used"] == 3
    assert key["lastDay"]["used"] == 7
    allowed_hour = health_detail.allowed_calls(config.settings, 3600)
    assert key["lastHour"] == {"used": 3, "allowed": allowed_hour, "left": allowed_hour - 3}
    assert key["lastDay"]["allowed"] == 1000  # the daily quota caps what pacing would allow
    assert key["today"] == {"used": 1, "allowed": 1000, "left": 999}
    assert (key["rateLimited1h"], key["rateLimited24h"], key["rateLimitHits"]) == (1, 1, 1)
    assert key["backoffSeconds"] > 0
    other = next(item for item in body["budgets"] if item["keyId"] == OTHER)
    assert other["lastHour"]["used"] == 0
    assert other["today"] == {"used": 1, "allowed": None, "left": None}

    calls = {(c["provider"], c["outcome"]): c for c in body["upstreams"]}
    assert calls["etherscan", "ok"]["calls1h"] == 2
    assert calls["etherscan", "ok"]["avgLatencyMs1h"] == 200.0
    assert calls["etherscan", "ok"]["calls24h"] == 6
    assert calls["etherscan", "ok"]["maxLatencyMs24h"] == 300.0
    assert calls["etherscan", "rate_limited"]["calls1h"] == 1

    breakers = {item["name"]: item for item in body["breakers"]["items"]}
    assert body["breakers"]["known"] is True
    assert breakers["etherscan:1 logs"]["state"] == "open"
    assert 80 < breakers["etherscan:1 logs"]["openSeconds"] < 600
    assert breakers["price coingecko"]["openSeconds"] is None

    jobs = {item["job"]: item for item in body["jobs"]["items"]}
    backfill = jobs["backfill"]
    assert (backfill["runs"], backfill["failures"], backfill["consecutiveFailures"]) == (3, 2, 2)
    assert backfill["lastOutcome"] == "failed"
    assert backfill["lastError"] == "RuntimeError: boom again"
    assert backfill["lastSuccessAt"] is not None
    assert backfill["nextRunAt"] is not None

    assert body["validation"]["maxVariance"] == pytest.approx(0.05)
    assert body["validation"]["flagged"] == 1
    assert body["analytics"]["lastRefreshOutcome"] == "ok"
    assert set(body["analytics"]["watermarks"]) == {"analytics_hourly", "analytics_daily_base"}
    assert body["analytics"]["dirtyRanges"] == 0
    assert [a["message"] for a in body["alerts"]] == ["supply differs by 5%"]

    codes = {w["code"] for w in body["warnings"]}
    assert {"BREAKER_OPEN", "JOB_FAILING", "VALIDATION_VARIANCE", "RATE_LIMITED"} <= codes
    # Degraded by the open breaker and the variance; 2 failures in a row do not degrade yet.
    assert body["status"] == "degraded"
    assert any("etherscan:1 logs" in reason for reason in body["reasons"])
    assert any("validation run" in reason for reason in body["reasons"])
    assert not any("backfill" in reason for reason in body["reasons"])
    assert body["pool"]["pool_max"] >= 1


def test_a_schema_without_breakers_reports_them_unknown(config: Config) -> None:
    seed(config, leader=True, synced=True)

    async def drop() -> None:
        conn = await pool_module.connect(config.settings)
        async with conn:
            await conn.execute("drop table upstream_breakers cascade")
            await conn.commit()

    asyncio.run(drop())
    body = _health(config)
    assert body["breakers"] == {"known": False, "items": None}
    assert body["jobs"] == {"known": True, "items": []}
    assert body["detailErrors"] == []
    assert body["status"] == "ok", body["warnings"]
    assert body["reasons"] == []


def test_graphql_health_mirrors_the_detail(config: Config) -> None:
    seed(config, leader=True, synced=True)
    asyncio.run(_seed_detail(config))
    query = """{ health { status reasons
        budgets { keyId provider lastHour { used allowed left } today { used allowed left } }
        breakers { known items { name state openSeconds } }
        jobs { known items { job lastOutcome consecutiveFailures nextRunAt } }
        analytics { dirtyRanges watermarks { relation watermark } lastRefreshOutcome }
        validation { maxVariance flagged threshold }
        alerts { kind severity message resolvedAt }
        chains { chainId status headLag lagSeconds }
    } }"""
    with TestClient(create_app(config)) as client:
        response = client.post("/graphql", json={"query": query})
        rest = client.get("/api/health").json()
    payload = response.json()
    assert "errors" not in payload, payload
    health = payload["data"]["health"]
    assert health["status"] == "DEGRADED"
    assert health["reasons"] == rest["reasons"]
    key = next(item for item in health["budgets"] if item["keyId"] == KEY)
    assert key["lastHour"] == next(b for b in rest["budgets"] if b["keyId"] == KEY)["lastHour"]
    assert health["breakers"]["known"] is True
    assert {b["name"]: b["state"] for b in health["breakers"]["items"]}["etherscan:1 logs"] == (
        "open"
    )
    assert {j["job"]: j["consecutiveFailures"] for j in health["jobs"]["items"]}["backfill"] == 2
    assert health["validation"]["maxVariance"] == pytest.approx(0.05)
    assert health["alerts"][0]["message"] == "supply differs by 5%"
    assert len(health["chains"]) == len(config.chains)
    assert {c["status"] for c in health["chains"]} == {"FRESH"}


def test_detail_is_unknown_not_empty_with_the_database_down(offline: TestClient) -> None:
    body = offline.get("/api/health").json()
    assert body["status"] == "down"
    assert body["reasons"] == [body["warnings"][0]["message"]]
    assert body["breakers"] == {"known": False, "items": None}
    assert body["jobs"] == {"known": False, "items": None}
    for section in ("budgets", "upstreams", "analytics", "validation", "alerts"):
        assert body[section] is None, section


def _failing(job: str, failures: int) -> JobRuns:
    now = datetime.now(UTC)
    return JobRuns(job, "h:1", now, now, "failed", 1.0, "RuntimeError: x", None, failures,
                   failures, failures, None, now)  # fmt: skip


@pytest.mark.parametrize(("failures", "degraded"), [(2, False), (3, True)])
def test_a_job_failing_three_runs_in_a_row_degrades(failures: int, degraded: bool) -> None:
    detail = health_detail.Detail(jobs=(_failing("backfill", failures), _failing("tip:1", 1)))
    found = health_detail.findings(detail)
    assert [f.code for f in found] == ["JOB_FAILING", "JOB_FAILING"]
    assert [f.degrades for f in found] == [degraded, False]


def test_a_section_that_cannot_be_read_is_null_and_degrades(config: Config) -> None:
    seed(config, leader=True, synced=True)

    async def break_watermarks() -> None:
        conn = await pool_module.connect(config.settings)
        async with conn:
            await conn.execute("drop function health_analytics_watermarks()")
            await conn.commit()

    asyncio.run(break_watermarks())
    body = _health(config)
    assert body["analytics"] is None
    assert len(body["detailErrors"]) == 1
    assert body["detailErrors"][0].startswith("analytics:")
    assert body["jobs"]["known"] is True  # the other sections were read
    assert body["budgets"] == []
    assert body["status"] == "degraded"
    assert [w["code"] for w in body["warnings"]] == ["HEALTH_DETAIL_PARTIAL"]
    assert len(body["chains"]) == len(config.chains)
