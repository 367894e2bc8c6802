"""What the simulated world looks like per chain: timing, activity and provider personality.

Chain ids, names, block times and ``first_block`` come from the chains file (the built-in
``app/chains.toml`` unless a path is given) so the simulator always covers the chains the app
is configured for. What the file does not say (a reference head, how busy the token is, how
far ``finalized`` lags, which JSON-RPC provider answers) is the table below; a chain missing
from it gets middle-of-the-road defaults.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUILTIN_CHAINS = Path(__file__).resolve().parent.parent / "chains.toml"
REF_TIME = 1_762_387_200  # 2025-11-06T00:00:00Z, the date of the legacy heads (legacy-api §9)


@dataclass(frozen=True, slots=True)
class TokenSpec:
    address: str  # lowercase
    checksum_address: str  # as written in the chains file (DexScreener echoes this form)
    name: str
    symbol: str
    decimals: int


@dataclass(frozen=True, slots=True)
class ChainSpec:
    id: int
    name: str
    slug: str
    block_time: float  # seconds
    first_block: int  # coverage start from the chains file; the token is minted just after
    ref_block: int  # with REF_TIME, fixes the block <-> time line
    rate: float  # default ERC-20 transfers per day
    finalized_lag: int  # blocks between latest and finalized (0: instant finality)
    safe_lag: int
    personality: str  # JSON-RPC provider personality (see rpc.PERSONALITIES)
    coingecko_platform: str
    dexscreener_id: str
    gas_gwei: float  # typical gas price, for realistic-looking rows


@dataclass(frozen=True, slots=True)
class _Profile:
    ref_block: int
    rate: float
    finalized_lag: int
    safe_lag: int
    personality: str
    coingecko_platform: str
    dexscreener_id: str
    gas_gwei: float


# Heads on 2025-11-06 from legacy-api §9 (Cronos estimated from its first_block and 5.6 s).
# Rates: Polygon the busiest, Cronos the quietest. Lags: Ethereum ~2 epochs, OP-stack ~20 min,
# Arbitrum ~20 min, zkSync hours (L1 proofs), CometBFT/Avalanche instant.
PROFILES: dict[int, _Profile] = {
    1: _Profile(23_716_465, 120, 64, 32, "infura", "ethereum", "ethereum", 8),
    10: _Profile(143_116_979, 60, 600, 60, "alchemy", "optimistic-ethereum", "optimism", 0.01),
    56: _Profile(65_489_661, 250, 3, 1, "nethermind", "binance-smart-chain", "bsc", 1),
    137: _Profile(78_634_137, 400, 32, 16, "alchemy", "polygon-pos", "polygon", 40),
    324: _Profile(65_393_525, 30, 10_800, 600, "zksync", "zksync", "zksync", 0.05),
    5000: _Profile(83_229_359, 20, 600, 60, "alchemy", "mantle", "mantle", 0.02),
    42161: _Profile(392_110_640, 120, 4_800, 1_200, "quicknode", "arbitrum-one", "arbitrum", 0.01),
    43114: _Profile(70_713_230, 40, 0, 0, "infura", "avalanche", "avalanche", 2),
    8453: _Profile(37_159_801, 150, 600, 60, "alchemy", "base", "base", 0.01),
    25: _Profile(29_400_000, 8, 0, 0, "ethermint", "cronos", "cronos", 400),
}


def load(path: Path | None = None) -> tuple[TokenSpec, tuple[ChainSpec, ...]]:
    """Read the token and chains from a chains file (default: the built-in one)."""
    # The file beside the package rather than importlib.resources: editable installs can
    # expose `app` as a namespace package, which resources cannot read from.
    text = (path or BUILTIN_CHAINS).read_text("utf-8")
    data = tomllib.loads(text)
    raw_token = data["token"]
    token = TokenSpec(
        address=str(raw_token["address"]).lower(),
        checksum_address=str(raw_token["address"]),
        name=str(raw_token["name"]),
        symbol=str(raw_token["symbol"]),
        decimals=int(raw_token["decimals"]),
    )
    chains = tuple(_chain(raw) for raw in data["chains"] if raw.get("enabled", True))
    return token, chains


def _chain(raw: dict[str, Any]) -> ChainSpec:
    chain_id = int(raw["id"])
    block_time = float(raw["block_time_seconds"])
    first_block = int(raw.get("first_block", 0))
    profile = PROFILES.get(chain_id) or _Profile(
        first_block + int(90 * 86_400 / block_time), 50, 64, 32, "geth", str(raw["slug"]),
        str(raw["slug"]), 1,
    )  # fmt: skip
    return ChainSpec(
        id=chain_id,
        name=str(raw["name"]),
        slug=str(raw["slug"]),
        block_time=block_time,
        first_block=first_block,
        ref_block=profile.ref_block,
        rate=profile.rate,
        finalized_lag=profile.finalized_lag,
        safe_lag=profile.safe_lag,
        personality=profile.personality,
        coingecko_platform=profile.coingecko_platform,
        dexscreener_id=profile.dexscreener_id,
        gas_gwei=profile.gas_gwei,
    )
