"""finality_observations and the SLA statistics from known rows (both schema modes): the
newest probes and "last advanced at" per chain, exact latency percentiles and success rates
per source and window, retention."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from app.config import Config
from app.ops import sla as ops_sla
from app.store import chains as store_chains
from app.store import finality as store_finality
from app.store import sla as store_sla
from app.store.finality import Observation
from app.store.pool import Connection, Pool

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def probe(
    minutes_ago: float, chain_id: int = 1, *, finalized: int | None = 100, **kw: object
) -> Observation:
    at = NOW - timedelta(minutes=minutes_ago)
    fields: dict[str, object] = {
        "observed_at": at,
        "chain_id": chain_id,
        "source": "rpc",
        "ok": True,
        "latency_ms": 10.0,
        "outcome": "ok",
        "latest_block": (finalized or 0) + 64,
        "finalized_block": finalized,
        "latest_time": at,
        "finalized_time": at - timedelta(minutes=12.8),
    }
    fields.update(kw)
    return Observation(**fields)  # type: ignore[arg-type]


def failure(minutes_ago: float, chain_id: int = 1, **kw: object) -> Observation:
    base = {
        "ok": False,
        "outcome": "upstream_unavailable",
        "detail": "HTTP 503",
        "latest_block": None,
    }
    return probe(
        minutes_ago,
        chain_id,
        finalized=None,
        **{**base, "latest_time": None, "finalized_time": None, **kw},
    )


@pytest.fixture
async def chains(conn: Connection, config: Config) -> None:
    await store_chains.upsert_chains(conn, config.chains)


@pytest.mark.usefixtures("chains")
async def test_latest_good_probe_last_probe_and_when_finality_advanced(conn: Connection) -> None:
    await store_finality.insert_observations(
        conn,
        [
            probe(50, finalized=90),
            probe(40, finalized=100),  # the point reaches 100 here...
            probe(30, finalized=100),
            probe(20, finalized=100),  # ...and stays: advanced 40 minutes ago
            failure(10),  # the newest probe failed
            probe(5, chain_id=137, finalized=None, safe_block=7, source="etherscan"),
        ],
    )
    found = {row.chain_id: row for row in await store_finality.list_latest(conn)}
    assert set(found) == {1, 137}  # chains never probed have no row
    eth = found[1]
    assert (eth.finalized_block, eth.latest_block, eth.point) == (100, 164, 100)
    assert eth.observed_at == NOW - timedelta(minutes=20)
    assert eth.advanced_at == NOW - timedelta(minutes=40)
    assert (eth.last_observed_at, eth.last_ok, eth.last_outcome, eth.last_detail) == (
        NOW - timedelta(minutes=10),
        False,
        "upstream_unavailable",
        "HTTP 503",
    )
    polygon = found[137]
    assert (polygon.point, polygon.advanced_at, polygon.source) == (
        7,
        NOW - timedelta(minutes=5),
        "etherscan",
    )


@pytest.mark.usefixtures("chains")
async def test_a_chain_that_never_answered_has_no_point(conn: Connection) -> None:
    await store_finality.insert_observations(conn, [failure(3, chain_id=25)])
    (row,) = await store_finality.list_latest(conn)
    assert (row.chain_id, row.observed_at, row.point, row.advanced_at, row.last_ok) == (
        25,
        None,
        None,
        None,
        False,
    )


async def test_old_probes_are_deleted(conn: Connection) -> None:
    await store_finality.insert_observations(conn, [probe(60 * 24 * 31), probe(1)])
    assert await store_finality.delete_before(conn, NOW - timedelta(days=30)) == 1
    cur = await conn.execute("select count(*) as n from finality_observations")
    assert (await cur.fetchone())["n"] == 1  # type: ignore[index]


async def insert_prices(
    conn: Connection, source: str, rows: list[tuple[float, bool, float]]
) -> None:
    """(minutes ago, ok, latency ms) of a price source's polls."""
    for minutes_ago, ok, latency in rows:
        await conn.execute(
            "insert into price_observations"
            " (observed_at, source, ok, latency_ms, price_usd, outcome)"
            " values (%s, %s, %s, %s, %s, %s)",
            (
                NOW - timedelta(minutes=minutes_ago),
                source,
                ok,
                latency,
                1.5 if ok else None,
                "ok" if ok else "timeout",
            ),
        )


def interpolated(values: list[float], q: float) -> float:
    """The continuous percentile (PostgreSQL percentile_cont): linear between neighbours."""
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


async def test_sla_percentiles_and_success_rates_from_known_latencies(conn: Connection) -> None:
    # CoinGecko: 100 polls in the last hour taking 1..100 ms, every tenth failed; 20 slow
    # polls (1,000 ms, all good) earlier in the day; one poll older than a day (ignored).
    recent = [(0.5 * i, i % 10 != 0, float(i)) for i in range(1, 101)]
    earlier = [(120.0 + i, True, 1000.0) for i in range(20)]
    await insert_prices(conn, "coingecko", [*recent, *earlier, (60 * 25, True, 99999.0)])
    await insert_prices(conn, "dexscreener", [(200.0, False, 5.0)])  # 24 h only
    # Finality: four probes of one source in the last hour, one failed; one in the future.
    await store_finality.insert_observations(
        conn,
        [probe(m, latency_ms=lat) for m, lat in ((1, 40.0), (2, 10.0), (3, 30.0))]
        + [failure(4, latency_ms=20.0), probe(-5, latency_ms=1.0)],
    )
    got = {(s.window_name, s.kind, s.source): s for s in await store_sla.list_stats(conn, NOW)}
    assert list(got) == [
        ("1h", "finality", "rpc"),
        ("1h", "price", "coingecko"),
        ("24h", "finality", "rpc"),
        ("24h", "price", "coingecko"),
        ("24h", "price", "dexscreener"),
    ]
    gecko = got[("1h", "price", "coingecko")]
    assert (gecko.calls, gecko.successes, gecko.success_rate) == (100, 90, 0.9)
    assert gecko.p50_ms == pytest.approx(50.5, abs=1e-9)
    assert gecko.p95_ms == pytest.approx(95.05, abs=1e-9)
    assert gecko.p99_ms == pytest.approx(99.01, abs=1e-9)
    day = got[("24h", "price", "coingecko")]
    latencies = [lat for _, _, lat in recent + earlier]
    assert (day.calls, day.successes) == (120, 110)
    for q, value in ((0.5, day.p50_ms), (0.95, day.p95_ms), (0.99, day.p99_ms)):
        assert value == pytest.approx(interpolated(latencies, q), abs=1e-9)
    assert day.p95_ms == 1000.0  # the slow polls dominate the day's tail
    rpc = got[("1h", "finality", "rpc")]
    assert (rpc.calls, rpc.successes, rpc.success_rate) == (4, 3, 0.75)
    assert (rpc.p50_ms, rpc.p95_ms, rpc.p99_ms) == pytest.approx((25.0, 38.5, 39.7), abs=1e-9)
    assert rpc.last_call_at == NOW - timedelta(minutes=1)
    dex = got[("24h", "price", "dexscreener")]
    assert (dex.calls, dex.successes, dex.success_rate, dex.p50_ms) == (1, 0, 0.0, 5.0)


async def test_no_calls_no_statistics(conn: Connection) -> None:
    assert await store_sla.list_stats(conn, NOW) == []


async def test_the_worker_logs_one_sla_line(
    pool: Pool, conn: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    await store_finality.insert_observations(
        conn,
        [
            Observation(now - timedelta(minutes=m), 1, "rpc", True, 10.0 * m, "ok", 100)
            for m in (1, 3, 4)
        ]
        + [Observation(now - timedelta(minutes=2), 1, "rpc", False, 20.0, "upstream_timeout")],
    )
    await conn.commit()
    caplog.set_level(logging.INFO, logger="app.ops.sla")
    stats = await ops_sla.report(pool)
    (record,) = [r for r in caplog.records if r.getMessage() == "sla"]
    assert {"sla": record.sla} == ops_sla.line(stats)  # type: ignore[attr-defined]
    rpc = {"calls": 4, "success_rate": 0.75, "p50_ms": 25.0, "p95_ms": 38.5, "p99_ms": 39.7}
    assert record.sla == {"1h": {"finality:rpc": rpc}, "24h": {"finality:rpc": rpc}}  # type: ignore[attr-defined]
