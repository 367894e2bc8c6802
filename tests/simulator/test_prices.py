"""Price APIs: CoinGecko, CoinMarketCap, DexScreener, CoinPaprika; walks, noise, limits."""

from __future__ import annotations

from starlette.testclient import TestClient

from app.simulator import Simulator
from app.simulator.prices import BY_KEY, PriceBook
from tests.simulator.conftest import PRO, START, TOKEN, make_sim

BZR = BY_KEY["bazaars"]


def test_coingecko_simple_price_numbers(shared_client: TestClient, shared_sim: Simulator) -> None:
    response = shared_client.get(
        "/coingecko/api/v3/simple/price",
        params={
            "ids": "bazaars,bitcoin,unknown-coin", "vs_currencies": "usd,eur",
            "include_market_cap": "true", "include_24hr_vol": "true",
            "include_24hr_change": "true", "include_last_updated_at": "true",
        },
    )  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"bazaars", "bitcoin"}
    entry = body["bazaars"]
    for name in ("usd", "eur", "usd_market_cap", "usd_24h_vol", "usd_24h_change"):
        assert isinstance(entry[name], float)
    assert isinstance(entry["last_updated_at"], int)
    assert abs(entry["usd"] - shared_sim.prices.true_price(BZR, START)) / entry["usd"] < 0.05
    assert 50_000 < body["bitcoin"]["usd"] < 250_000


def test_coingecko_token_price_is_keyed_by_lowercase_address(shared_client: TestClient) -> None:
    checksum = "0x85Cb098bdcD3Ca929d2cD18Fc7A2669fF0362242"
    body = shared_client.get(
        "/coingecko/api/v3/simple/token_price/polygon-pos",
        params={"contract_addresses": checksum + ",0x" + "4" * 40, "vs_currencies": "usd"},
    ).json()
    assert list(body) == [TOKEN]
    assert isinstance(body[TOKEN]["usd"], float)
    unknown = shared_client.get(
        "/coingecko/api/v3/simple/token_price/no-such-chain",
        params={"contract_addresses": TOKEN, "vs_currencies": "usd"},
    )
    assert unknown.json() == {}


def test_coinmarketcap_envelope_and_key_errors(shared_client: TestClient) -> None:
    headers = {"X-CMC_PRO_API_KEY": PRO}
    path = "/cmc/v2/cryptocurrency/quotes/latest"
    body = shared_client.get(path, params={"id": "29452,1"}, headers=headers).json()
    status = body["status"]
    assert status["error_code"] == 0
    assert status["error_message"] is None
    assert status["timestamp"].endswith("Z")
    quote = body["data"]["29452"]["quote"]["USD"]
    assert isinstance(quote["price"], float)
    assert isinstance(quote["market_cap"], float)
    assert body["data"]["1"]["symbol"] == "BTC"
    by_symbol = shared_client.get(path, params={"symbol": "BZR"}, headers=headers).json()
    assert isinstance(by_symbol["data"]["BZR"], list)  # v2 by symbol: arrays
    missing = shared_client.get(path, params={"id": "1"})
    assert missing.status_code == 401
    assert missing.json()["status"]["error_code"] == 1002
    invalid = shared_client.get(path, params={"id": "1"}, headers={"X-CMC_PRO_API_KEY": "x"})
    assert invalid.status_code == 401
    assert invalid.json()["status"]["error_code"] == 1001
    unknown = shared_client.get(path, params={"id": "999999"}, headers=headers)
    assert unknown.status_code == 400
    assert unknown.json()["status"]["error_message"] == 'Invalid value for "id": "999999"'


def test_dexscreener_strings_null_and_foreign_pairs(shared_client: TestClient) -> None:
    body = shared_client.get(f"/dexscreener/latest/dex/tokens/{TOKEN}").json()
    assert body["schemaVersion"] == "1.0.0"
    pairs = body["pairs"]
    ours = [p for p in pairs if p["baseToken"]["address"].lower() == TOKEN]
    foreign = [p for p in pairs if p["baseToken"]["address"].lower() != TOKEN]
    assert len(ours) >= 3
    assert foreign  # a pair where the token is only the quote
    for pair in pairs:
        assert isinstance(pair["priceUsd"], str)
        assert isinstance(pair["priceNative"], str)
        assert isinstance(pair["liquidity"]["usd"], float)
        assert isinstance(pair["txns"]["h24"]["buys"], int)
        assert isinstance(pair["pairCreatedAt"], int)
    assert float(foreign[0]["priceUsd"]) > 100 * float(ours[0]["priceUsd"])
    unknown = shared_client.get("/dexscreener/latest/dex/tokens/0x" + "5" * 40).json()
    assert unknown == {"schemaVersion": "1.0.0", "pairs": None}
    search = shared_client.get("/dexscreener/latest/dex/search", params={"q": "BZR/USDT"}).json()
    impostors = [
        p
        for p in search["pairs"]
        if p["baseToken"]["symbol"] == "BZR" and p["baseToken"]["address"].lower() != TOKEN
    ]
    assert impostors


def test_coinpaprika_ticker(shared_client: TestClient) -> None:
    body = shared_client.get("/coinpaprika/v1/tickers/bzr-bazaars").json()
    assert body["symbol"] == "BZR"
    assert isinstance(body["quotes"]["USD"]["price"], float)
    missing = shared_client.get("/coinpaprika/v1/tickers/nope-nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": "id not found"}


def test_sources_disagree_slightly_and_walks_are_seeded() -> None:
    sim = make_sim()
    quotes = [
        sim.prices.quote(source, BZR)
        for source in ("coingecko", "coinmarketcap", "dexscreener", "coinpaprika")
    ]
    assert len(set(quotes)) == 4
    assert (max(quotes) - min(quotes)) / min(quotes) < 0.05
    again = PriceBook(7, sim.clock)
    assert again.true_price(BZR, START - 3 * 86_400) == sim.prices.true_price(
        BZR, START - 3 * 86_400
    )
    other = PriceBook(8, sim.clock)
    assert other.true_price(BZR, START) != sim.prices.true_price(BZR, START)
    month = [sim.prices.true_price(BZR, START - d * 86_400) for d in range(30)]
    assert len({round(p, 6) for p in month}) > 20  # it walks


def test_price_rate_limits_answer_429_with_retry_after(client: TestClient) -> None:
    params = {"ids": "bazaars", "vs_currencies": "usd"}
    answers = [client.get("/coingecko/api/v3/simple/price", params=params) for _ in range(31)]
    assert all(a.status_code == 200 for a in answers[:30])
    refused = answers[30]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["status"]["error_code"] == 429
    assert refused.json()["status"]["error_message"].startswith("You've exceeded the Rate Limit.")
