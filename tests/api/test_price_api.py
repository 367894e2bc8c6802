"""/api/token-price, /api/price and GraphQL tokenPrice / breakers, from stored observations:
no observation (available false), healthy sources with an outlier, all failing (stale
last-known-good), and breaker rows as the worker published them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.store import breakers, prices
from app.store import pool as pool_module
from app.store.breakers import BreakerUpdate
from app.store.prices import PriceObservation

LEGACY = {"available", "priceUsd", "priceUsdRaw", "source", "timestamp", "proRequired", "message"}
QUERY = """{ tokenPrice { available priceUsd priceUsdRaw source timestamp stale ageSeconds message
  best { priceUsd sources stale ageSeconds }
  sources { source priceUsd ageSeconds score breaker lastOutcome used excluded } }
  breakers { name provider state failures transitions openedAt ageSeconds } }"""


def ok(source: str, price: str, ago: float) -> PriceObservation:
    at = datetime.now(UTC) - timedelta(seconds=ago)
    return PriceObservation(at, source, True, 120.0, Decimal(price), "ok")


def failed(source: str, ago: float, outcome: str = "http_error") -> PriceObservation:
    at = datetime.now(UTC) - timedelta(seconds=ago)
    return PriceObservation(at, source, False, 30.0, None, outcome, "HTTP 503")


def store(config: Config, rows: list[PriceObservation], published: list[BreakerUpdate]) -> None:
    async def run() -> None:
        conn = await pool_module.connect(config.settings)
        async with conn, conn.transaction():
            await prices.insert_observations(conn, rows)
            await breakers.upsert_breakers(conn, published)

    asyncio.run(run())


def get(config: Config) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    with TestClient(create_app(config)) as client:
        token_price = client.get("/api/token-price")
        price = client.get("/api/price?force=1")
        graphql = client.post("/graphql", json={"query": QUERY})
    assert token_price.status_code == price.status_code == graphql.status_code == 200
    assert "errors" not in graphql.json(), graphql.json()
    return token_price.json(), price.json(), graphql.json()["data"]


def test_no_observation_yet(config: Config) -> None:
    body, same, data = get(config)
    assert set(body) >= LEGACY
    assert (body["available"], body["priceUsd"], body["best"], body["proRequired"]) == (
        False,
        None,
        None,
        False,
    )
    assert [s["source"] for s in body["sources"]] == sorted(config.settings.price_source_list)
    assert {s["excluded"] for s in body["sources"]} == {"no_price"}
    assert same["available"] is False
    assert data["tokenPrice"]["available"] is False
    assert data["tokenPrice"]["priceUsd"] is None
    assert data["breakers"] == []


def test_consensus_with_an_outlier_excluded(config: Config) -> None:
    now = datetime.now(UTC)
    store(
        config,
        [
            ok("coingecko", "0.1230", 40),
            ok("coinmarketcap", "123.0", 40),
            ok("dexscreener", "0.1232", 20),
            ok("coinpaprika", "0.1229", 200),
        ],
        [
            BreakerUpdate(
                "price:coinmarketcap v2/cryptocurrency/quotes/latest",
                "price",
                "closed",
                0,
                None,
                now,
            ),
            BreakerUpdate("etherscan:137 logs/getLogs", "etherscan", "open", 5, now, now, 1),
        ],
    )
    body, same, data = get(config)
    assert body["available"] is True
    assert Decimal(body["priceUsdRaw"]) in {Decimal("0.1230"), Decimal("0.1232"), Decimal("0.1229")}
    assert body["priceUsd"] == float(body["priceUsdRaw"])
    assert body["source"] == "consensus"
    assert body["stale"] is False
    assert body["best"]["sources"] == ["coingecko", "coinpaprika", "dexscreener"]
    assert abs(body["timestamp"] / 1000 - (now - timedelta(seconds=20)).timestamp()) < 5
    by = {s["source"]: s for s in body["sources"]}
    assert (by["coinmarketcap"]["used"], by["coinmarketcap"]["excluded"]) == (False, "deviation")
    assert by["coinmarketcap"]["breaker"] == "closed"
    assert "coinmarketcap (deviation)" in body["message"]
    assert same["priceUsdRaw"] == body["priceUsdRaw"]
    graph = data["tokenPrice"]
    assert graph["priceUsdRaw"] == body["priceUsdRaw"]
    assert graph["best"]["sources"] == body["best"]["sources"]
    gby = {s["source"]: s for s in graph["sources"]}
    assert gby["coinmarketcap"]["breaker"] == "CLOSED"
    assert gby["coinmarketcap"]["excluded"] == "deviation"
    rows = {b["name"]: b for b in data["breakers"]}
    assert rows["etherscan:137 logs/getLogs"]["state"] == "OPEN"
    assert rows["etherscan:137 logs/getLogs"]["transitions"] == 1
    assert rows["etherscan:137 logs/getLogs"]["openedAt"] is not None


def test_all_sources_failing_serve_last_known_good_stale(config: Config) -> None:
    old = config.settings.price_stale_seconds + 600
    now = datetime.now(UTC)
    store(
        config,
        [
            ok("coingecko", "0.2", old),
            ok("dexscreener", "0.2004", old + 60),
            failed("coingecko", 30),
            failed("dexscreener", 30, "breaker_open"),
            failed("coinpaprika", 30, "timeout"),
            failed("coinmarketcap", 30, "invalid"),
        ],
        [BreakerUpdate("price:dexscreener latest/dex/tokens", "price", "open", 5, now, now, 1)],
    )
    body, _, data = get(config)
    assert body["available"] is True
    assert body["stale"] is True
    assert body["ageSeconds"] >= old
    assert Decimal(body["priceUsdRaw"]) in {Decimal("0.2"), Decimal("0.2004")}
    assert "last-known-good" in body["message"]
    by = {s["source"]: s for s in body["sources"]}
    assert by["dexscreener"]["breaker"] == "open"
    assert by["coinpaprika"]["lastOutcome"] == "timeout"
    assert by["coinmarketcap"]["excluded"] == "no_price"
    assert data["tokenPrice"]["stale"] is True
    assert data["tokenPrice"]["best"]["stale"] is True
