"""Price APIs: CoinGecko, CoinMarketCap, DexScreener and CoinPaprika (upstreams.md §4).

Shapes and types as the real services: CoinGecko and CMC numbers, DexScreener *strings* for
``priceNative``/``priceUsd`` and ``pairs: null`` for an unknown token (with pairs of other
tokens mixed in for a known one), CoinPaprika numbers. Limits are per key (or per client when
keyless) per minute, refused with HTTP 429 and ``Retry-After``. A ``wrong_price`` fault
multiplies a source's prices by ``factor`` (default 1000).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from app.simulator import dexscreener, pipeline
from app.simulator.pipeline import CallContext, Reply
from app.simulator.prices import ASSETS, BY_KEY, Asset

if TYPE_CHECKING:
    from app.simulator.core import Simulator

CG_429 = (
    "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to "
    "subscribe to our API plans for higher rate limits."
)
CMC_429 = "You've exceeded your API Key's HTTP request rate limit. Rate limits reset every minute."
FIAT = {"usd": 1.0, "eur": 0.92, "gbp": 0.79}
ErrorReply = Callable[[int, int, str, str], Reply]
PAPRIKA_PER_MINUTE = 120  # [inf] free plan is monthly-metered


def wrong_factor(ctx: CallContext) -> float:
    fault = ctx.fault("wrong_price")
    return 1.0 if fault is None else float(fault.params.get("factor", 1000))


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _limited(sim: Simulator, bucket: str, per_minute: int) -> int | None:
    wait = sim.limiter.window(bucket, per_minute, 60.0)
    return None if wait is None else max(1, math.ceil(wait))


# -- CoinGecko -------------------------------------------------------------------------------


def _cg_429(retry: int = 60) -> Reply:
    body = {"status": {"error_code": 429, "error_message": CG_429}}
    return Reply(body, 429, "rate_limited", {"Retry-After": str(retry)})


async def coingecko(sim: Simulator, request: Request) -> Response:
    q, path = request.query_params, request.path_params
    platform = path.get("platform")
    headers = request.headers
    key = (
        headers.get("x-cg-demo-api-key") or headers.get("x-cg-pro-api-key")
        or q.get("x_cg_demo_api_key") or q.get("x_cg_pro_api_key")
    )  # fmt: skip
    endpoint = "simple/token_price" if platform else "simple/price"
    ctx = CallContext("coingecko", endpoint, key=key or None)
    spec = sim.keys.get(key or "")
    ctx.label = spec.label if spec else ("unknown" if key else "none")
    bucket = f"coingecko:{key or _client(request)}"

    def produce() -> Reply:
        retry = _limited(sim, bucket, sim.options.price_per_minute)
        if retry is not None:
            return _cg_429(retry)
        currencies = [
            c.strip().lower() for c in (q.get("vs_currencies") or "").split(",") if c.strip()
        ]
        if not currencies:
            return Reply({"error": "Missing parameter vs_currencies"}, 400, "error")  # [inf]
        if platform:
            return _cg_token_price(
                sim, ctx, platform, q.get("contract_addresses") or "", currencies, q
            )
        ids = [i.strip().lower() for i in (q.get("ids") or "").split(",") if i.strip()]
        assets = [a for a in ASSETS if a.coingecko_id in ids]
        return Reply({a.coingecko_id: _cg_entry(sim, ctx, a, currencies, q) for a in assets})

    return await pipeline.run(sim, ctx, produce, _cg_429)


def _cg_token_price(
    sim: Simulator, ctx: CallContext, platform: str, raw: str, currencies: list[str], q: Any
) -> Reply:
    platforms = {spec.coingecko_platform for spec in sim.world.chains.values()}
    token = sim.world.token.address
    wanted = [a.strip().lower() for a in raw.split(",") if a.strip()]
    body: dict[str, Any] = {}
    if platform in platforms and token in wanted:
        body[token] = _cg_entry(sim, ctx, BY_KEY["bazaars"], currencies, q)
    return Reply(body)  # unknown contract or platform: the key is absent (upstreams §4.1, §7.5)


def _cg_entry(
    sim: Simulator, ctx: CallContext, asset: Asset, currencies: list[str], q: Any
) -> dict[str, Any]:
    usd = sim.prices.quote("coingecko", asset) * wrong_factor(ctx)
    entry: dict[str, Any] = {}
    flag = {name: (q.get(name) or "").lower() == "true" for name in (
        "include_market_cap", "include_24hr_vol", "include_24hr_change", "include_last_updated_at"
    )}  # fmt: skip
    for cur in currencies:
        rate = _rate(sim, cur)
        if rate is None:
            continue
        entry[cur] = usd / rate
        if flag["include_market_cap"]:
            entry[f"{cur}_market_cap"] = usd * asset.circulating / rate
        if flag["include_24hr_vol"]:
            entry[f"{cur}_24h_vol"] = sim.prices.volume_24h(asset) / rate
        if flag["include_24hr_change"]:
            entry[f"{cur}_24h_change"] = sim.prices.change_24h("coingecko", asset)
    if flag["include_last_updated_at"]:
        entry["last_updated_at"] = int(sim.clock.now() - 60) // 60 * 60
    return entry


def _rate(sim: Simulator, currency: str) -> float | None:
    """USD per unit of ``currency``."""
    if currency in FIAT:
        return 1 / FIAT[currency]
    crypto = {"btc": "bitcoin", "eth": "ethereum"}.get(currency)
    return None if crypto is None else sim.prices.quote("coingecko", BY_KEY[crypto])


# -- CoinMarketCap ---------------------------------------------------------------------------


def _cmc_status(sim: Simulator, code: int = 0, message: str | None = None) -> dict[str, Any]:
    return {
        "timestamp": iso(sim.clock.now()),
        "error_code": code,
        "error_message": message,
        "elapsed": 9,
        "credit_count": 0 if code else 1,
        "notice": None,
    }


async def coinmarketcap(sim: Simulator, request: Request) -> Response:
    q = request.query_params
    version = request.path_params.get("version", "v2")
    key = request.headers.get("x-cmc_pro_api_key") or q.get("CMC_PRO_API_KEY")
    ctx = CallContext("coinmarketcap", f"{version}/cryptocurrency/quotes/latest", key=key or None)
    spec = sim.keys.get(key or "")
    ctx.label = spec.label if spec else ("unknown" if key else "none")

    def error(status: int, code: int, message: str, outcome: str) -> Reply:
        return Reply({"status": _cmc_status(sim, code, message)}, status, outcome)

    def too_many() -> Reply:
        reply = error(429, 1008, CMC_429, "rate_limited")
        reply.headers["Retry-After"] = str(60 - int(sim.clock.wall()) % 60)
        return reply

    def produce() -> Reply:
        if not key:
            return error(401, 1002, "API key missing.", "missing_key")
        if spec is None:
            return error(401, 1001, "This API Key is invalid.", "invalid_key")
        if _limited(sim, f"cmc:{key}", sim.options.price_per_minute) is not None:
            return too_many()
        return _cmc_quotes(sim, ctx, q, version, error)

    return await pipeline.run(sim, ctx, produce, too_many)


def _cmc_quotes(sim: Simulator, ctx: CallContext, q: Any, version: str, error: ErrorReply) -> Reply:
    convert = (q.get("convert") or "USD").upper()
    if q.get("id"):
        ids = [i.strip() for i in q["id"].split(",")]
        by_id = {str(a.cmc_id): a for a in ASSETS}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            return error(400, 400, f'Invalid value for "id": "{unknown[0]}"', "error")
        return Reply(
            {
                "status": _cmc_status(sim),
                "data": {i: _cmc_entry(sim, ctx, by_id[i], convert) for i in ids},
            }
        )
    if q.get("symbol"):
        symbols = [s.strip().upper() for s in q["symbol"].split(",")]
        data: dict[str, Any] = {}
        for symbol in symbols:
            found = [_cmc_entry(sim, ctx, a, convert) for a in ASSETS if a.symbol == symbol]
            if version == "v1":
                if found:
                    data[symbol] = found[0]
            else:
                data[symbol] = found
        return Reply({"status": _cmc_status(sim), "data": data})
    if q.get("slug"):
        slugs = [s.strip().lower() for s in q["slug"].split(",")]
        chosen = [a for a in ASSETS if a.key in slugs]
        return Reply(
            {
                "status": _cmc_status(sim),
                "data": {str(a.cmc_id): _cmc_entry(sim, ctx, a, convert) for a in chosen},
            }
        )
    return error(400, 400, '"id" or "symbol" or "slug" is required', "error")


def _cmc_entry(sim: Simulator, ctx: CallContext, asset: Asset, convert: str) -> dict[str, Any]:
    price = sim.prices.quote("coinmarketcap", asset) * wrong_factor(ctx)
    updated = iso(int(sim.clock.now() - 60) // 60 * 60)
    quote = {
        "price": price,
        "volume_24h": sim.prices.volume_24h(asset),
        "volume_change_24h": 3.1,
        "percent_change_1h": 0.12,
        "percent_change_24h": sim.prices.change_24h("coinmarketcap", asset),
        "percent_change_7d": -1.7,
        "percent_change_30d": 4.2,
        "market_cap": price * asset.circulating,
        "market_cap_dominance": 0.0,
        "fully_diluted_market_cap": price * (asset.max_supply or asset.total_supply),
        "tvl": None,
        "last_updated": updated,
    }
    return {
        "id": asset.cmc_id,
        "name": asset.name,
        "symbol": asset.symbol,
        "slug": asset.key,
        "num_market_pairs": 12,
        "date_added": "2021-06-01T00:00:00.000Z",
        "tags": [],
        "max_supply": asset.max_supply,
        "circulating_supply": asset.circulating,
        "total_supply": asset.total_supply,
        "is_active": 1,
        "infinite_supply": asset.max_supply is None,
        "platform": None,
        "cmc_rank": asset.cmc_rank,
        "is_fiat": 0,
        "self_reported_circulating_supply": None,
        "self_reported_market_cap": None,
        "tvl_ratio": None,
        "last_updated": updated,
        "quote": {convert: quote},
    }


# -- DexScreener -----------------------------------------------------------------------------


def _dex_429() -> Reply:
    return Reply(
        {"error": "Too Many Requests"}, 429, "rate_limited", {"Retry-After": "60"}
    )  # [inf]


async def dexscreener_tokens(sim: Simulator, request: Request) -> Response:
    addresses = [a.strip().lower() for a in request.path_params["addresses"].split(",")][:30]
    return await _dex(
        sim,
        request,
        "latest/dex/tokens",
        lambda ctx: dexscreener.by_tokens(sim, addresses, wrong_factor(ctx)),
    )


async def dexscreener_search(sim: Simulator, request: Request) -> Response:
    text = request.query_params.get("q") or ""
    return await _dex(
        sim,
        request,
        "latest/dex/search",
        lambda ctx: dexscreener.search(sim, text, wrong_factor(ctx)),
    )


async def _dex(sim: Simulator, request: Request, endpoint: str, pairs: Any) -> Response:
    ctx = CallContext("dexscreener", endpoint)
    bucket = f"dexscreener:{_client(request)}"

    def produce() -> Reply:
        if _limited(sim, bucket, sim.options.dexscreener_per_minute) is not None:
            return _dex_429()
        found = pairs(ctx)
        return Reply({"schemaVersion": "1.0.0", "pairs": found}, outcome="ok" if found else "empty")

    return await pipeline.run(sim, ctx, produce, _dex_429)


# -- CoinPaprika -----------------------------------------------------------------------------


def _paprika_429() -> Reply:
    return Reply(
        {"error": "Too many requests"}, 429, "rate_limited", {"Retry-After": "60"}
    )  # [inf]


async def coinpaprika(sim: Simulator, request: Request) -> Response:
    coin = request.path_params["coin_id"]
    ctx = CallContext("coinpaprika", "v1/tickers")
    bucket = f"coinpaprika:{_client(request)}"

    def produce() -> Reply:
        if _limited(sim, bucket, PAPRIKA_PER_MINUTE) is not None:
            return _paprika_429()
        asset = next((a for a in ASSETS if a.paprika_id == coin), None)
        if asset is None:
            return Reply({"error": "id not found"}, 404, "error")
        return Reply(_paprika_ticker(sim, ctx, asset))

    return await pipeline.run(sim, ctx, produce, _paprika_429)


def _paprika_ticker(sim: Simulator, ctx: CallContext, asset: Asset) -> dict[str, Any]:
    price = sim.prices.quote("coinpaprika", asset) * wrong_factor(ctx)
    change = sim.prices.change_24h("coinpaprika", asset)
    return {
        "id": asset.paprika_id,
        "name": asset.name,
        "symbol": asset.symbol,
        "rank": asset.cmc_rank,
        "total_supply": round(asset.total_supply),
        "max_supply": round(asset.max_supply or 0),
        "beta_value": 1.02,
        "first_data_at": "2021-06-01T00:00:00Z",
        "last_updated": iso(int(sim.clock.now() - 300) // 300 * 300)[:-5] + "Z",
        "quotes": {
            "USD": {
                "price": price,
                "volume_24h": sim.prices.volume_24h(asset),
                "volume_24h_change_24h": 2.5,
                "market_cap": round(price * asset.circulating),
                "market_cap_change_24h": change,
                "percent_change_15m": 0.05,
                "percent_change_30m": 0.08,
                "percent_change_1h": 0.1,
                "percent_change_6h": 0.4,
                "percent_change_12h": 0.6,
                "percent_change_24h": change,
                "percent_change_7d": -1.5,
                "percent_change_30d": 3.9,
                "percent_change_1y": 12.0,
                "ath_price": asset.base_price * 3.1,
                "ath_date": "2024-03-14T07:10:36Z",
                "percent_from_price_ath": (price / (asset.base_price * 3.1) - 1) * 100,
            }
        },
    }
