"""Blockscout/Etherscan-compatible explorers (Cronos): the Etherscan envelope, no chainid.

getLogs, tokentx, tokensupply and getblocknobytime come from EnvelopeClient. The head comes
from ``block/eth_block_number`` (what the legacy Cronos code called), JSON-RPC shaped like
Etherscan's proxy module. There is no holder count: Blockscout's Etherscan-compatible API has
none (the legacy showed 0 for Cronos, which must not happen again), so callers record it as
not offered.
"""

from __future__ import annotations

from app.upstreams._budget import Priority
from app.upstreams._classify import classify_proxy
from app.upstreams._envelope import EnvelopeClient
from app.upstreams.parse import hex_quantity


class ExplorerClient(EnvelopeClient):
    async def block_number(self, *, priority: Priority = Priority.TIP) -> int:
        params = {"module": "block", "action": "eth_block_number"}
        return await self.fetch(
            "block/eth_block_number", params, hex_quantity, priority, classify_proxy
        )
