"""``address``: one address's balances per chain, counts and recent transfers."""

from __future__ import annotations

from app.graphql.context import Info
from app.graphql.types.transfer_lookups import AddressSummary, summary_from
from app.ops import lookups
from app.ops import transfer_inputs as inputs


async def address(info: Info, address: str) -> AddressSummary:
    holder = inputs.address(address, "address")
    return summary_from(await lookups.address_summary(info.context.state, holder))
