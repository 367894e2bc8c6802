"""Breakdowns of a window: chain shares, most active addresses, largest transfers.

Orders are total (every tie broken) so an answer never depends on the order rows came in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from app.analytics.inputs import AddressActivity, ChainActivity, LargeTransfer

TOP = 15


@dataclass(frozen=True, slots=True)
class ChainShare:
    chain: ChainActivity
    volume_share: float  # percent of the window's volume; 0.0 when the window has none


def chain_distribution(chains: Sequence[ChainActivity]) -> list[ChainShare]:
    """Each chain with its share of the volume: volume, then transfers descending, then id."""
    total = sum(c.volume for c in chains)
    ordered = sorted(chains, key=lambda c: (-c.volume, -c.transfers, c.chain_id))
    return [
        ChainShare(c, float(Fraction(c.volume * 100, total)) if total else 0.0) for c in ordered
    ]


def top_addresses(rows: Sequence[AddressActivity], limit: int = TOP) -> list[AddressActivity]:
    """The most active addresses: transfers (sent + received), then volume, then address."""
    return sorted(
        rows,
        key=lambda a: (-(a.sent + a.received), -(a.sent_volume + a.received_volume), a.address),
    )[:limit]


def top_whales(rows: Sequence[LargeTransfer], limit: int = TOP) -> list[LargeTransfer]:
    """The largest transfers: value, then newest, then chain, hash and log index."""
    return sorted(
        rows,
        key=lambda t: (-t.value, -t.block_time.timestamp(), t.chain_id, t.tx_hash, t.log_index),
    )[:limit]
