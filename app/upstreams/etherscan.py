"""Etherscan API V2: one host for every chain, ``chainid`` always in the query string.

Endpoints (upstreams.md §1.4): logs/getLogs, account/tokentx and stats/tokensupply (from
EnvelopeClient), token/tokenholdercount (PRO), proxy/eth_blockNumber,
proxy/eth_getBlockByNumber and block/getblocknobytime.
"""

from __future__ import annotations

from typing import Literal

from app.upstreams._budget import Priority
from app.upstreams._classify import classify_proxy
from app.upstreams._envelope import EnvelopeClient
from app.upstreams.parse import BlockHeader, decimal_quantity, hex_quantity, parse_block

BlockTag = Literal["latest", "safe", "finalized", "earliest"] | int


def block_tag(tag: BlockTag) -> str:
    """A block number as JSON-RPC wants it (hex), or a named tag unchanged."""
    if isinstance(tag, int):
        if tag < 0:
            raise ValueError("block numbers are >= 0")
        return hex(tag)
    return tag


class EtherscanClient(EnvelopeClient):
    def chain_params(self) -> dict[str, str]:
        # In the query string, never a POST body: V2 ignores a chainid sent in the body.
        return {"chainid": str(self.chain_id)}

    async def holder_count(self, *, priority: Priority = Priority.HOLDERS) -> int:
        """Holder count; a PRO endpoint (Free/Lite keys get UpstreamRefused)."""
        params = {"module": "token", "action": "tokenholdercount", "contractaddress": self.token}
        return await self.fetch("token/tokenholdercount", params, decimal_quantity, priority)

    async def block_number(self, *, priority: Priority = Priority.TIP) -> int:
        params = {"module": "proxy", "action": "eth_blockNumber"}
        return await self.fetch(
            "proxy/eth_blockNumber", params, hex_quantity, priority, classify_proxy
        )

    async def block(
        self, tag: BlockTag = "latest", *, priority: Priority = Priority.TIP
    ) -> BlockHeader | None:
        """A block header by number or tag; None when the node does not have it (yet)."""
        params = {
            "module": "proxy",
            "action": "eth_getBlockByNumber",
            "tag": block_tag(tag),
            "boolean": "false",  # headers only: transactions would be dead weight
        }
        return await self.fetch(
            "proxy/eth_getBlockByNumber", params, parse_block, priority, classify_proxy
        )
