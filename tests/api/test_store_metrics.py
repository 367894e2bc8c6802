"""/metrics exports the store-derived series (app.ops.store_metrics) under stable names:
warm status and lag per chain, budgets and rate-limit hits per key, upstream calls by provider
and outcome, breaker states, job runs, aggregate watermarks, validation, cache hits."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from tests.api import transfer_data
from tests.api.conftest import seed
from tests.api.test_health_detail import KEY, _seed_detail


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, **labels: str
) -> float:
    return samples[metric, frozenset(labels.items())]


def test_metrics_export_the_store_snapshot(config: Config) -> None:
    seed(config, leader=True, synced=True)
    asyncio.run(_seed_detail(config))
    with TestClient(create_app(config)) as client:
        client.get("/api/transfers?limit=1")
        client.get("/api/transfers?limit=1")  # a cache hit
        samples = _samples(client.get("/metrics").text)

    assert _value(samples, "tokenpulse_health_status", status="degraded") == 1.0
    assert _value(samples, "tokenpulse_health_status", status="ok") == 0.0
    assert _value(samples, "tokenpulse_database_up") == 1.0
    chain = config.chains[0]
    labels = {"chain_id": str(chain.id), "chain": chain.slug}
    assert _value(samples, "tokenpulse_chain_warm_status", **labels, status="fresh") == 1.0
    assert _value(samples, "tokenpulse_chain_head_lag_blocks", **labels) == 0.0
    assert _value(samples, "tokenpulse_chain_covered_blocks", **labels) == 100.0
    assert _value(samples, "tokenpulse_workers_alive", role="leader") == 1.0

    key = {"provider": "etherscan", "key": KEY}
    assert _value(samples, "tokenpulse_upstream_rate_limit_hits_total", **key) == 1.0
    assert _value(samples, "tokenpulse_budget_used", **key, window="1h") == 3.0
    assert _value(samples, "tokenpulse_budget_used", **key, window="24h") == 7.0
    assert _value(samples, "tokenpulse_budget_allowed", **key, window="today") == 1000.0
    calls = {"provider": "etherscan", "outcome": "ok"}
    assert _value(samples, "tokenpulse_upstream_calls_1h", **calls) == 2.0
    assert _value(samples, "tokenpulse_upstream_latency_avg_ms_1h", **calls) == 200.0

    breaker = {"name": "etherscan:1 logs", "provider": "etherscan"}
    assert _value(samples, "tokenpulse_breaker_state", **breaker, state="open") == 1.0
    assert _value(samples, "tokenpulse_breaker_state", **breaker, state="closed") == 0.0
    assert _value(samples, "tokenpulse_breakers_known") == 1.0
    assert _value(samples, "tokenpulse_job_runs_total", job="backfill", outcome="failed") == 2.0
    assert _value(samples, "tokenpulse_job_runs_total", job="backfill", outcome="ok") == 1.0
    assert _value(samples, "tokenpulse_job_consecutive_failures", job="backfill") == 2.0
    assert (
        "tokenpulse_job_next_run_timestamp_seconds",
        frozenset({("job", "backfill")}),
    ) in samples
    assert _value(samples, "tokenpulse_validation_max_variance") == 0.05
    assert _value(samples, "tokenpulse_analytics_dirty_ranges") == 0.0
    open_alerts = {"kind": "validation_variance", "severity": "warning"}
    assert _value(samples, "tokenpulse_alerts_open", **open_alerts) == 1.0
    hits = [v for (name, _), v in samples.items() if name == "tokenpulse_cache_hits_total"]
    assert sum(hits) >= 1.0
    # The process's own instruments are still there.
    assert any(name == "tokenpulse_http_requests_total" for name, _ in samples)


def test_metrics_answer_with_the_database_down(offline: TestClient) -> None:
    response = offline.get("/metrics")
    assert response.status_code == 200
    samples = _samples(response.text)
    assert _value(samples, "tokenpulse_database_up") == 0.0
    assert _value(samples, "tokenpulse_health_status", status="down") == 1.0
    assert _value(samples, "tokenpulse_breakers_known") == 0.0


def test_metrics_count_stored_transfers_per_chain(config: Config) -> None:
    rows = transfer_data.dataset(count=60)
    transfer_data.load(config, rows)
    with TestClient(create_app(config)) as client:
        samples = _samples(client.get("/metrics").text)
    for chain in config.enabled_chains:
        labels = {"chain_id": str(chain.id), "chain": chain.slug}
        expected = sum(row.chain_id == chain.id for row in rows)
        assert _value(samples, "tokenpulse_chain_transfers_total", **labels) == expected
    assert sum(v for (n, _), v in samples.items() if n == "tokenpulse_chain_transfers_total") == 60
