"""What the analytics computations read: frozen rows the store adapter fills, no I/O here.

app/store/analytics.py maps its aggregate rows onto these classes; everything in app/analytics
takes them and returns plain values. Token amounts are raw units (``int``, the numeric(78,0)
of the store) so sums stay exact; conversion to tokens happens only when a document is built.

A window's inputs, all for one chain or for all chains together:

- ``days``: one :class:`DayBucket` per UTC day that has transfers (missing days are read as
  zero-activity days; the store need not fill them), any order.
- ``totals`` / ``previous``: :class:`WindowTotals` of the window and of the period of the same
  length just before it (``None`` for the ``all`` range). Distinct counts are exact over the
  whole window, not sums of daily counts (an address active on two days counts once).
- ``chains``: :class:`ChainActivity` per chain in the window (one row for a single chain).
- ``top_addresses``: at least 15 :class:`AddressActivity` rows, the most active first.
- ``largest_transfers``: at least 15 :class:`LargeTransfer` rows, the largest first.
- ``newest_transfer_at``: block time of the newest stored transfer (any window), or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class DayBucket:
    """One UTC day's activity (a row of the daily aggregate, per chain or rolled up)."""

    day: date
    transfers: int
    volume: int  # Σ value, raw units
    senders: int  # distinct from-addresses
    receivers: int  # distinct to-addresses
    active_addresses: int  # distinct from-or-to
    largest: int  # max value, raw units (0 on an empty day)
    # percentile_cont(0.5) of value, raw units (may end in .5). None when the aggregate has
    # no exact median (a continuous aggregate cannot roll one up): the document says null.
    median_value: Decimal | None = None


@dataclass(frozen=True, slots=True)
class WindowTotals:
    """Exact figures over a whole period [start, end)."""

    transfers: int
    volume: int  # raw units
    active_addresses: int  # distinct from-or-to over the period
    senders: int | None = None  # distinct from-addresses, when the store computes them
    receivers: int | None = None  # distinct to-addresses


@dataclass(frozen=True, slots=True)
class ChainActivity:
    """One chain's share of the window."""

    chain_id: int
    name: str  # the chain's display name ("Polygon")
    transfers: int
    volume: int  # raw units
    active_addresses: int  # distinct from-or-to on that chain


@dataclass(frozen=True, slots=True)
class AddressActivity:
    """What one address did in the window (over the chains of the request)."""

    address: str  # lowercase 0x-hex
    sent: int  # transfers from the address
    received: int  # transfers to the address (a self-transfer counts in both)
    sent_volume: int  # raw units
    received_volume: int  # raw units


@dataclass(frozen=True, slots=True)
class LargeTransfer:
    """One of the window's largest transfers."""

    chain_id: int
    chain_name: str
    tx_hash: str
    log_index: int
    from_address: str
    to_address: str
    value: int  # raw units
    block_time: datetime  # aware, UTC


@dataclass(frozen=True, slots=True)
class AnalyticsInputs:
    """Everything one analytics answer is computed from."""

    days: tuple[DayBucket, ...]
    totals: WindowTotals
    previous: WindowTotals | None = None
    chains: tuple[ChainActivity, ...] = ()
    top_addresses: tuple[AddressActivity, ...] = ()
    largest_transfers: tuple[LargeTransfer, ...] = ()
    newest_transfer_at: datetime | None = None
    decimals: int = 18  # the token's decimals, to turn raw units into tokens
