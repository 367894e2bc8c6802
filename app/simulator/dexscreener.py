"""DexScreener pairs for the token (upstreams.md §4.3).

The token trades on a few chains against stablecoins and wrapped natives. ``/tokens`` also
returns a pair where the token is the *quote* (its ``priceUsd`` is the other token's price),
and ``/search`` adds an impostor "BZR" at another address: a client must check
``baseToken.address`` before trusting a price, which the legacy code did not (legacy-api §6).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from app.simulator.prices import BY_KEY

if TYPE_CHECKING:
    from app.simulator.core import Simulator

# (dexscreener chain, dex, quote symbol, quote name, liquidity USD, labels)
POOLS: tuple[tuple[str, str, str, str, float, list[str]], ...] = (
    ("ethereum", "uniswap", "USDT", "Tether USD", 412_000.0, ["v2"]),
    ("bsc", "pancakeswap", "USDT", "Tether USD", 268_000.0, ["v2"]),
    ("polygon", "quickswap", "USDC", "USD Coin", 151_000.0, []),
    ("base", "aerodrome", "WETH", "Wrapped Ether", 96_000.0, ["v2"]),
    ("cronos", "vvsfinance", "WCRO", "Wrapped CRO", 23_000.0, []),
)
NATIVE_USD = {"USDT": 1.0, "USDC": 1.0}


def _address(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:40]


def _pair(sim: Simulator, pool: tuple[Any, ...], index: int, factor: float) -> dict[str, Any]:
    chain, dex, quote_symbol, quote_name, liquidity, labels = pool
    token = sim.world.token
    usd = sim.prices.quote("dexscreener", BY_KEY["bazaars"]) * (1 + 0.004 * (index - 2)) * factor
    quote_usd = NATIVE_USD.get(quote_symbol) or sim.prices.quote(
        "dexscreener", BY_KEY["ethereum"]
    ) * (1 if quote_symbol == "WETH" else 0.00003)
    pair_address = _address(sim.seed, "pair", chain, dex)
    return {
        "chainId": chain,
        "dexId": dex,
        "url": f"https://dexscreener.com/{chain}/{pair_address}",
        "pairAddress": pair_address,
        "labels": labels,
        "baseToken": {
            "address": token.checksum_address,
            "name": token.name,
            "symbol": token.symbol,
        },
        "quoteToken": {
            "address": _address("quote", chain, quote_symbol),
            "name": quote_name,
            "symbol": quote_symbol,
        },
        "priceNative": f"{usd / quote_usd:.10g}",
        "priceUsd": f"{usd:.6g}",
        "txns": {
            w: {"buys": n, "sells": n - 1}
            for w, n in (("m5", 2), ("h1", 11), ("h6", 57), ("h24", 203))
        },
        "volume": {
            "h24": liquidity * 0.31,
            "h6": liquidity * 0.08,
            "h1": liquidity * 0.012,
            "m5": 41.5,
        },
        "priceChange": {
            "m5": 0.05,
            "h1": -0.21,
            "h6": 0.8,
            "h24": round(sim.prices.change_24h("dexscreener", BY_KEY["bazaars"]), 2),
        },
        "liquidity": {
            "usd": liquidity,
            "base": liquidity / 2 / usd,
            "quote": liquidity / 2 / quote_usd,
        },
        "fdv": round(usd * BY_KEY["bazaars"].total_supply),
        "marketCap": round(usd * BY_KEY["bazaars"].circulating),
        "pairCreatedAt": 1_754_588_000_000 + index * 86_400_000,
        "info": {
            "imageUrl": "https://dd.dexscreener.com/ds-data/tokens/bzr.png",
            "websites": [],
            "socials": [],
        },
    }


def _quoted_pair(sim: Simulator, factor: float) -> dict[str, Any]:
    """A WETH/BZR pair: the token is the quote, so priceUsd is WETH's price, not BZR's."""
    token = sim.world.token
    eth = sim.prices.quote("dexscreener", BY_KEY["ethereum"])
    bzr = sim.prices.quote("dexscreener", BY_KEY["bazaars"]) * factor
    pair_address = _address(sim.seed, "pair", "ethereum", "weth-bzr")
    return {
        "chainId": "ethereum",
        "dexId": "uniswap",
        "url": f"https://dexscreener.com/ethereum/{pair_address}",
        "pairAddress": pair_address,
        "labels": ["v3"],
        "baseToken": {
            "address": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
            "name": "Wrapped Ether",
            "symbol": "WETH",
        },
        "quoteToken": {
            "address": token.checksum_address,
            "name": token.name,
            "symbol": token.symbol,
        },
        "priceNative": f"{eth / bzr:.10g}",
        "priceUsd": f"{eth:.2f}",
        "txns": {
            "m5": {"buys": 0, "sells": 0},
            "h1": {"buys": 1, "sells": 2},
            "h6": {"buys": 9, "sells": 7},
            "h24": {"buys": 31, "sells": 29},
        },
        "volume": {"h24": 12_800.0, "h6": 2_100.0, "h1": 240.0, "m5": 0.0},
        "priceChange": {"m5": 0.0, "h1": 0.1, "h6": -0.3, "h24": 1.2},
        "liquidity": {"usd": 38_000.0, "base": 19_000.0 / eth, "quote": 19_000.0 / bzr},
        "fdv": 9_400_000_000,
        "marketCap": 9_400_000_000,
        "pairCreatedAt": 1_755_000_000_000,
    }


def _impostor(sim: Simulator) -> dict[str, Any]:
    """Another token calling itself BZR, with a price unrelated to the real one."""
    impostor = _address(sim.seed, "impostor-bzr")
    pair_address = _address(sim.seed, "pair", "bsc", "impostor")
    return {
        "chainId": "bsc",
        "dexId": "pancakeswap",
        "url": f"https://dexscreener.com/bsc/{pair_address}",
        "pairAddress": pair_address,
        "baseToken": {"address": impostor, "name": "BZR Token", "symbol": "BZR"},
        "quoteToken": {
            "address": "0x55d398326f99059fF775485246999027B3197955",
            "name": "Tether USD",
            "symbol": "USDT",
        },
        "priceNative": "0.0000412",
        "priceUsd": "0.0000412",
        "txns": {
            "m5": {"buys": 4, "sells": 1},
            "h1": {"buys": 40, "sells": 12},
            "h6": {"buys": 210, "sells": 80},
            "h24": {"buys": 800, "sells": 310},
        },
        "volume": {"h24": 940_000.0, "h6": 220_000.0, "h1": 41_000.0, "m5": 3_000.0},
        "priceChange": {"m5": 4.0, "h1": 12.5, "h6": 60.0, "h24": 310.0},
        "liquidity": {"usd": 990_000.0, "base": 1.2e10, "quote": 495_000.0},
        "fdv": 41_200,
        "marketCap": 41_200,
        "pairCreatedAt": 1_763_000_000_000,
    }


def by_tokens(sim: Simulator, addresses: list[str], factor: float) -> list[dict[str, Any]] | None:
    if sim.world.token.address not in addresses:
        return None  # unknown or unindexed token: null, not []
    pairs = [_pair(sim, pool, i, factor) for i, pool in enumerate(POOLS)]
    pairs.insert(2, _quoted_pair(sim, factor))
    return pairs


def search(sim: Simulator, text: str, factor: float) -> list[dict[str, Any]]:
    words = text.lower()
    token = sim.world.token
    if token.symbol.lower() not in words and token.address not in words:
        return []
    pairs = by_tokens(sim, [token.address], factor) or []
    return [_impostor(sim), *pairs]
