"""The SLA dashboard's SQL runs against the schema (both modes), Grafana macros expanded as
Grafana's PostgreSQL datasource does, and its SLA table agrees with app.store.sla."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.config import Config
from app.store import chains as store_chains
from app.store import finality as store_finality
from app.store import sla as store_sla
from app.store.finality import Observation
from app.store.pool import Connection

DASHBOARD = Path(__file__).resolve().parents[2] / "docker/grafana/dashboards/tokenpulse-sla.json"
FROM, TO = "'2026-11-28T00:00:00Z'", "'2099-01-01T00:00:00Z'"


def expand(sql: str) -> str:
    """$__timeGroupAlias / $__timeFilter / $__timeFrom / $__timeTo, as Grafana writes them."""
    sql = re.sub(
        r"\$__timeGroupAlias\(([\w.]+), '5m'\)",
        r"to_timestamp(floor(extract(epoch from \1) / 300) * 300) as time",
        sql,
    )
    sql = re.sub(r"\$__timeFilter\(([\w.]+)\)", rf"\1 between {FROM} and {TO}", sql)
    return sql.replace("$__timeFrom()", FROM).replace("$__timeTo()", TO)


def queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    return [
        (panel["title"], target["rawSql"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


async def fetch(conn: Connection, sql: str) -> list[dict[str, Any]]:
    cur = await conn.execute(expand(sql).encode())
    return list(await cur.fetchall())


@pytest.fixture
async def probes(conn: Connection, config: Config) -> None:
    await store_chains.upsert_chains(conn, config.chains)
    now = datetime.now(UTC)
    rows = [
        Observation(
            now - timedelta(minutes=m),
            1,
            "rpc",
            True,
            float(m),
            "ok",
            164 + m,
            None,
            100 + m // 2,
            now,
            now - timedelta(seconds=768),
        )
        for m in range(1, 30)
    ]
    failed = Observation(now, 1, "rpc", False, 5.0, "upstream_timeout", detail="timed out")
    await store_finality.insert_observations(conn, [*rows, failed])
    await conn.execute(
        "insert into price_observations (observed_at, source, ok, latency_ms, price_usd, outcome)"
        " values (now() - interval '2 minutes', 'coingecko', true, 120, 1.5, 'ok')"
    )


@pytest.mark.usefixtures("probes")
async def test_every_panel_query_runs_and_returns_rows(conn: Connection) -> None:
    found = queries()
    assert len(found) == 10
    for title, sql in found:
        assert await fetch(conn, sql), title


@pytest.mark.usefixtures("probes")
async def test_the_sla_table_agrees_with_the_api(conn: Connection) -> None:
    (sql,) = [sql for title, sql in queries() if title.startswith("SLA")]
    table = {(r["window"], r["kind"], r["source"]): r for r in await fetch(conn, sql)}
    api = await store_sla.list_stats(conn, datetime.now(UTC))
    assert set(table) == {(s.window_name, s.kind, s.source) for s in api}
    for item in api:
        row = table[(item.window_name, item.kind, item.source)]
        assert row["calls"] == item.calls
        assert float(row["success_rate"]) == pytest.approx(item.success_rate, abs=1e-4)
        assert row["p95_ms"] == pytest.approx(item.p95_ms)


def test_no_query_names_a_metric_or_a_secret() -> None:
    text = DASHBOARD.read_text("utf-8")
    assert "password" not in text.lower()
    assert json.loads(text)["templating"]["list"][0]["query"] == "grafana-postgresql-datasource"
