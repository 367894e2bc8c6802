"""How each JSON-RPC provider refuses an ``eth_getLogs`` that is too wide or too big.

Texts, codes and HTTP statuses are those of upstreams.md §3.2. ``max_range`` is compared with
``to - from + 1`` (blocks in the request) except for Ethermint, which refuses when
``to - from > cap`` (so a 2,001-block inclusive span passes on Cronos, as the real node does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Refusal:
    code: int
    message: str
    data: Any = None
    http_status: int = 200

    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


@dataclass(frozen=True, slots=True)
class Personality:
    name: str
    max_range: int | None  # None: no block-range cap
    max_results: int | None  # None: no result cap
    exclusive_span: bool = False  # Ethermint compares to - from, not the block count
    tags_are_latest: bool = False  # Ethermint: safe/finalized resolve to latest
    clamp_to_head: bool = False  # Ethermint: to beyond head is clamped, from beyond head -> []
    block_timestamp: bool = True  # newer nodes add blockTimestamp to logs

    def with_limits(self, max_range: int | None, max_results: int | None) -> Personality:
        return Personality(
            self.name, max_range, max_results, self.exclusive_span, self.tags_are_latest,
            self.clamp_to_head, self.block_timestamp,
        )  # fmt: skip

    def too_wide(self, lo: int, hi: int) -> bool:
        if self.max_range is None:
            return False
        span = hi - lo if self.exclusive_span else hi - lo + 1
        if self.name == "alchemy":
            return False  # Alchemy only refuses wide ranges whose response is too big
        return span > self.max_range

    def range_refusal(self, lo: int, hi: int) -> Refusal:
        cap = self.max_range or 0
        if self.name == "ethermint":
            return Refusal(-32000, f"maximum [from, to] blocks distance: {cap}")
        if self.name == "alchemy-free":
            hint = f"[{hex(lo)}, {hex(lo + cap - 1)}]"
            return Refusal(
                -32600,
                f"You can make eth_getLogs requests with up to a {cap} block range. "
                f"Based on your parameters, this block range should work: {hint}",
            )
        if self.name == "quicknode":
            return Refusal(-32614, f"eth_getLogs is limited to a {cap:,} range", None, 413)
        if self.name == "tenderly":
            return Refusal(
                -32602,
                "invalid params",
                {"payload": f"range {hi - lo} is bigger than range limit {cap}"},
            )
        return Refusal(-32602, f"range {hi - lo + 1} exceeds limit of {cap}")  # Infura, live

    def result_refusal(self, lo: int, good_hi: int, alchemy_wide: bool = False) -> Refusal:
        """Too many results; ``good_hi`` ends the widest range from ``lo`` that would pass."""
        limit = self.max_results or 0
        hint = f"[{hex(lo)}, {hex(good_hi)}]"
        if self.name == "ethermint":
            return Refusal(-32000, f"query returned more than {limit} results")
        if self.name == "alchemy":
            return Refusal(
                -32602,
                "Log response size exceeded. You can make eth_getLogs requests with up to a 2K "
                "block range and no limit on the response size, or you can request any block "
                "range with a cap of 10K logs in the response. Based on your parameters and the "
                f"response size limit, this block range should work: {hint}",
            )
        if self.name == "nethermind":
            text = f"Query returned more than {limit} results. Try with this block range {hint}."
            return Refusal(-32602, "invalid params", text)
        if self.name == "zksync":
            return Refusal(
                -32602,
                f"Query returned more than {limit} results. Try with this block range {hint}.",
            )
        data = {"from": hex(lo), "limit": limit, "to": hex(good_hi)}
        return Refusal(
            -32005,
            f"query returned more than {limit} results. Try with this block range {hint}.",
            data,
        )  # Infura and default


PERSONALITIES: dict[str, Personality] = {
    p.name: p
    for p in (
        Personality("ethermint", 2_000, 10_000, exclusive_span=True, tags_are_latest=True,
                    clamp_to_head=True, block_timestamp=False),
        Personality("infura", 10_000, 10_000),
        Personality("alchemy", 2_000, 10_000),
        Personality("alchemy-free", 500, None),
        Personality("quicknode", 10_000, None),
        Personality("nethermind", None, 50_000),
        Personality("zksync", None, 10_000),
        Personality("tenderly", 2_000, None),
        Personality("geth", None, None),
    )
}  # fmt: skip
