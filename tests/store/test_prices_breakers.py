"""price_observations (latest, last-known-good, per-source stats) and upstream_breakers
(upserted states, transitions counted across publishes), in both schema modes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from app.store import breakers, prices
from app.store.breakers import BreakerUpdate, Transition
from app.store.pool import Connection
from app.store.prices import PriceObservation

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def good(source: str, at: datetime, price: str, latency: float = 100.0) -> PriceObservation:
    return PriceObservation(at, source, True, latency, Decimal(price), "ok")


def failed(source: str, at: datetime, outcome: str = "timeout") -> PriceObservation:
    return PriceObservation(at, source, False, 5000.0, None, outcome, detail="x" * 900)


async def insert(conn: Connection, *rows: PriceObservation) -> None:
    async with conn.transaction():
        await prices.insert_observations(conn, rows)


async def test_latest_and_last_known_good_per_source(conn: Connection) -> None:
    await insert(
        conn,
        good("coingecko", T0, "0.12"),
        good("coingecko", T0 + timedelta(minutes=1), "0.13"),
        failed("coingecko", T0 + timedelta(minutes=2)),
        good("dexscreener", T0 + timedelta(minutes=2), "0.125"),
    )
    latest = {o.source: o for o in await prices.list_latest(conn)}
    assert latest["coingecko"].outcome == "timeout"
    assert latest["coingecko"].detail is not None
    assert len(latest["coingecko"].detail) == prices.DETAIL_MAX  # cut, not refused
    assert latest["dexscreener"].price_usd == Decimal("0.125")
    last_good = {o.source: o for o in await prices.list_last_good(conn)}
    assert last_good["coingecko"].price_usd == Decimal("0.13")
    assert last_good["coingecko"].observed_at == T0 + timedelta(minutes=1)
    window = await prices.list_since(conn, T0 + timedelta(seconds=30))
    assert [(o.source, o.outcome) for o in window] == [
        ("coingecko", "timeout"),
        ("coingecko", "ok"),
        ("dexscreener", "ok"),
    ]


async def test_source_stats(conn: Connection) -> None:
    rows = [
        good("coinpaprika", T0 + timedelta(seconds=i), "1", latency=i * 10.0) for i in range(1, 11)
    ]
    await insert(conn, *rows, failed("coinpaprika", T0 + timedelta(seconds=11), "http_error"))
    [stats] = await prices.list_source_stats(conn, T0)
    assert (stats.source, stats.calls, stats.successes) == ("coinpaprika", 11, 10)
    assert stats.success_rate == pytest.approx(10 / 11)
    assert stats.p50_ms is not None
    assert stats.last_ok_at == T0 + timedelta(seconds=10)
    assert stats.last_at == T0 + timedelta(seconds=11)


async def test_old_observations_pruned(conn: Connection) -> None:
    await insert(conn, good("coingecko", T0, "1"), good("coingecko", T0 + timedelta(days=2), "2"))
    async with conn.transaction():
        assert await prices.delete_observations_before(conn, T0 + timedelta(days=1)) == 1
    [left] = await prices.list_since(conn, T0)
    assert left.price_usd == Decimal("2")


def test_observation_invariants() -> None:
    with pytest.raises(ValueError, match="price"):
        PriceObservation(T0, "x", True, 1.0, None, "ok")
    with pytest.raises(ValueError, match="positive"):
        PriceObservation(T0, "x", True, 1.0, Decimal("-1"), "ok")
    with pytest.raises(ValueError, match="outcome"):
        PriceObservation(T0, "x", False, 1.0, None, "nope")


async def test_database_refuses_a_failed_row_with_a_price(conn: Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        async with conn.transaction():
            await conn.execute(
                "insert into price_observations (observed_at, source, ok, latency_ms, price_usd,"
                " outcome) values (now(), 'x', false, 1, 1.5, 'timeout')"
            )


async def test_breakers_upserted_and_transitions_counted(conn: Connection) -> None:
    opened = T0 + timedelta(seconds=5)
    async with conn.transaction():
        await breakers.upsert_breakers(
            conn,
            [
                BreakerUpdate("etherscan:137 logs/getLogs", "etherscan", "closed", 2, None, T0),
                BreakerUpdate("price:coingecko", "price", "open", 5, opened, opened, 1),
            ],
            [Transition(opened, "price:coingecko", "closed", "open")],
        )
    rows = {row.name: row for row in await breakers.list_breakers(conn)}
    assert rows["price:coingecko"].state == "open"
    assert rows["price:coingecko"].transitions == 1
    assert rows["etherscan:137 logs/getLogs"].failures == 2
    assert rows["etherscan:137 logs/getLogs"].age_seconds < 60
    # Same state again: changed_at stays; then half-open and closed since the last publish.
    closed = T0 + timedelta(seconds=40)
    async with conn.transaction():
        await breakers.upsert_breakers(
            conn, [BreakerUpdate("price:coingecko", "price", "open", 5, opened, T0, 0)]
        )
    rows = {row.name: row for row in await breakers.list_breakers(conn)}
    assert rows["price:coingecko"].changed_at == opened
    async with conn.transaction():
        await breakers.upsert_breakers(
            conn,
            [BreakerUpdate("price:coingecko", "price", "closed", 0, None, closed, 2)],
            [
                Transition(closed - timedelta(seconds=1), "price:coingecko", "open", "half_open"),
                Transition(closed, "price:coingecko", "half_open", "closed"),
            ],
        )
    row = {row.name: row for row in await breakers.list_breakers(conn)}["price:coingecko"]
    assert (row.state, row.transitions, row.changed_at, row.opened_at) == (
        "closed",
        3,
        closed,
        None,
    )
    found = await breakers.list_transitions(conn, T0)
    assert [(t.from_state, t.to_state) for t in found] == [
        ("half_open", "closed"),
        ("open", "half_open"),
        ("closed", "open"),
    ]
    async with conn.transaction():
        assert await breakers.delete_transitions_before(conn, closed) == 2


def test_unknown_breaker_state_refused() -> None:
    with pytest.raises(ValueError, match="state"):
        BreakerUpdate("x", "x", "ajar", 0, None, T0)
