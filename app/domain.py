"""Frozen value types shared by every layer. No I/O here."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
TX_HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
TRANSFER_TOPIC0 = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


class ProviderKind(enum.StrEnum):
    """Where a chain's transfers come from."""

    ETHERSCAN = "etherscan"  # Etherscan V2 multichain API
    EXPLORER = "explorer"  # Blockscout/Etherscan-compatible explorer API (Cronos)
    RPC = "rpc"  # plain JSON-RPC eth_getLogs


class FinalityKind(enum.StrEnum):
    FINALIZED = "finalized"  # the node's `finalized` tag
    SAFE = "safe"  # the node's `safe` tag
    DEPTH = "depth"  # a fixed confirmation depth
    INSTANT = "instant"  # final at once (CometBFT chains such as Cronos)


class SchemaMode(enum.StrEnum):
    TIMESCALE = "timescale"
    PORTABLE = "portable"


class Figure(enum.StrEnum):
    """A token figure an upstream reports, stored in ``upstream_figures`` and validated."""

    SUPPLY = "supply"  # total supply, raw units
    HOLDERS = "holders"  # addresses with a positive balance
    TRANSFERS = "transfers"  # transfers in a block window (tokentx rows)


@dataclass(frozen=True, slots=True)
class Finality:
    kind: FinalityKind
    depth: int = 0

    @classmethod
    def parse(cls, text: str) -> Finality:
        """Parse ``finalized``, ``safe``, ``instant`` or ``depth:N``; raise ValueError otherwise."""
        name, _, arg = text.strip().partition(":")
        kind = FinalityKind(name)
        if kind is FinalityKind.DEPTH:
            depth = int(arg)
            if depth < 1:
                raise ValueError("depth must be at least 1")
            return cls(kind, depth)
        if arg:
            raise ValueError(f"{name} takes no argument")
        return cls(kind)

    def __str__(self) -> str:
        return f"depth:{self.depth}" if self.kind is FinalityKind.DEPTH else self.kind.value


@dataclass(frozen=True, slots=True)
class Token:
    address: str  # lowercase 0x-hex
    name: str
    symbol: str
    decimals: int


@dataclass(frozen=True, slots=True)
class Chain:
    id: int
    name: str
    slug: str
    enabled: bool
    token_address: str  # lowercase 0x-hex
    decimals: int
    provider: ProviderKind
    base_url: str | None
    rpc_url: str | None
    first_block: int
    finality: Finality
    block_time_seconds: float
    api_keys_env: str | None = None
    # Keys are resolved from the environment by app.config and never printed (see __repr__).
    api_keys: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class DatabaseStatus:
    ok: bool
    latency_ms: float | None
    mode: SchemaMode | None
    server_version: str | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    chain_id: int
    block_time: datetime
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    from_address: str
    to_address: str
    value: Decimal
    tx_index: int | None = None
