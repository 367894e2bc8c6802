"""GET /status as HTML in both schema modes: every section from the health report, SLA
percentiles per price source from price_observations (or "not available yet" without the
table), escaped text, and an answer with the database down."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.store import alerts as store_alerts
from app.store import pool as pool_module
from app.store.sla import SourceStats
from app.web import status
from tests.api.conftest import seed
from tests.api.test_health_detail import _seed_detail

# percentile_cont over 100, 200, 300, 400 ms: p50 250, p95 385, p99 397.
LATENCIES = (100, 200, 300, 400)


async def _seed_page(config: Config) -> None:
    conn = await pool_module.connect(config.settings)
    async with conn:
        for index, latency in enumerate(LATENCIES):
            ok = index < 3
            await conn.execute(
                "insert into price_observations (observed_at, source, ok, latency_ms, price_usd,"
                " outcome) values (now() - make_interval(mins => %s), 'coingecko', %s, %s, %s, %s)",
                (index, ok, latency, 1.5 if ok else None, "ok" if ok else "timeout"),
            )
        await store_alerts.raise_alert(
            conn, kind="test", severity=store_alerts.Severity.CRITICAL, chain_id=None,
            message="<script>alert(1)</script>", details={}, dedupe_key="x",
        )  # fmt: skip
        await conn.commit()


def _page(config: Config) -> str:
    with TestClient(create_app(config)) as client:
        response = client.get("/status")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    return response.text


def test_the_page_shows_every_section(config: Config) -> None:
    seed(config, leader=True, synced=True)
    asyncio.run(_seed_detail(config))
    asyncio.run(_seed_page(config))
    html = _page(config)

    assert '<body data-status="degraded">' in html
    assert "circuit breaker etherscan:1 logs is open" in html  # a reason, in the header
    for chain in config.chains:
        assert chain.name in html
    assert html.count('<span class="badge ok">fresh</span>') == len(config.chains)
    assert '<span class="badge bad">open</span>' in html
    assert "7 / 1,000" in html  # the key's 24 h calls against its daily quota
    assert "RuntimeError: boom again" in html  # the failing job
    assert "largest variance 5.00% against a 2.00% threshold" in html
    # SLA from the stored price observations: 3 of 4 succeeded.
    price = re.search(r'<div data-sla="price">(.*?)</div>', html, re.S)
    assert price is not None
    row = re.search(r"<td>coingecko</td><td>24h</td>(.*?)</tr>", price.group(1))
    assert row is not None
    assert re.findall(r"<td>(.*?)</td>", row.group(1)) == [
        "4", "75.0%", "250 ms", "385 ms", "397 ms",
    ]  # fmt: skip
    assert 'data-sla="finality"' in html  # the table exists: figures, even if none yet
    # Text from the store is escaped, never markup.
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # the page's own script only


def test_sla_is_marked_pending_without_its_table(config: Config) -> None:
    """A missing observations table makes the SLA part say "not available yet", never fail
    the page. The figures come from one query over both tables (app.store.sla, shared with
    GraphQL ``sla`` and the ``sla`` log line), so without the price table there are none for
    finality either: both kinds are pending, where each kind used to have its own query."""
    seed(config, leader=True, synced=True)

    async def drop() -> None:
        conn = await pool_module.connect(config.settings)
        async with conn:
            await conn.execute("drop table price_observations cascade")
            await conn.commit()

    asyncio.run(drop())
    html = _page(config)
    assert 'data-sla="price-pending"' in html
    assert "Not available yet: fills in once price observations are recorded" in html
    assert 'data-sla="finality-pending"' in html
    assert 'data-sla="price"' not in html


def test_sla_rows_are_grouped_by_kind_in_the_page_order() -> None:
    """app.store.sla lists 1h before 24h; the page's tables go by source, each 1h then 24h."""
    at = datetime(2026, 11, 29, tzinfo=UTC)

    def stats(window: str, source: str) -> SourceStats:
        return SourceStats(window, "price", source, 4, 3, 1.0, 2.0, 3.0, at)

    listed = [stats("1h", "b"), stats("1h", "a"), stats("24h", "a"), stats("24h", "b")]
    grouped = status.by_kind(listed)
    assert [(r.source, r.window_name) for r in grouped["price"]] == [
        ("a", "1h"), ("a", "24h"), ("b", "1h"), ("b", "24h"),
    ]  # fmt: skip
    assert grouped["finality"] == []  # its table exists: an empty table, not "pending"


def test_the_page_answers_with_the_database_down(offline: TestClient) -> None:
    response = offline.get("/status")
    assert response.status_code == 200
    assert '<body data-status="down">' in response.text
    assert "database unreachable" in response.text
    assert "Unknown: not recorded yet." in response.text
