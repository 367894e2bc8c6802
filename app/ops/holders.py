"""Holders and holder counts: the reads behind GraphQL ``holders`` and ``/api/holders``,
``/api/stats``, from the ``balances`` table (app.store.balances), cached.

Order: balance (largest first), then address, then chain id (all-chains lists name an
address once per chain it holds on). Pages are keyset pages with opaque cursors, bound to the
query (chain and search) like the transfers cursors and refused with the same
``invalid_cursor``. Balances move as batches commit, so a holder whose balance changes
between two pages may move past the cursor (seen twice, or not at all): a page is exact for
the store as it was when it was read.

Accuracy: a chain's balances are the true ones where its coverage runs from ``first_block``
with no gap (BalanceSummary.complete): ``exact``; anywhere else ``partial``.

Search (``search``): hex digits, with or without ``0x``: a prefix of the address (40 digits:
the address itself); REST ``/api/holders`` also matches digits anywhere (the legacy
substring search) when they come without ``0x``. Anything else is ``invalid_search``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import InvalidInput
from app.ops import transfer_service as service
from app.ops.state import AppState
from app.ops.transfer_inputs import InvalidCursor
from app.ops.transfer_service import Accuracy
from app.store import balances as store_balances
from app.store import pool as store_pool
from app.store.balances import BalanceSummary, Holder, HolderFilter, HolderKey

HOLDERS, SUMMARIES = "holders", "balance_summaries"
DEFAULT_SIZE = 50
MAX_SIZE = 1000
_HEX = re.compile(r"^(0x)?([0-9a-f]{1,40})$")
# 33 bytes of balance: numeric(78,0) holds up to 10**78 - 1 (> 2**256), and a token's logs can
# add up past uint256 (v1 had 32 and failed on such a holder's cursor).
_BODY = struct.Struct(">B33si20s4s")
_TAG_BYTES = 5
_KEY = b"tokenpulse holders cursor v1"
_VERSION = 2


class InvalidSearch(InvalidInput):
    """Invalid search: expected hex digits of an address (a prefix, or the whole address)."""

    code = "invalid_search"


@dataclass(frozen=True, slots=True)
class HolderPage:
    rows: tuple[Holder, ...]
    more: bool
    filter: HolderFilter

    def cursor(self, row: Holder) -> str:
        return encode(row.key, self.filter)


def search_filter(
    chain_id: int | None, raw: str | None, field: str = "search", *, substring: bool = False
) -> HolderFilter:
    """The filter for a chain (validated by the caller) and a search text (validated here)."""
    text = (raw or "").strip().lower()
    if not text:
        return HolderFilter(chain_id=chain_id)
    found = _HEX.match(text)
    if found is None:
        message = f"{field}: expected up to 40 hex digits of an address, with or without 0x"
        raise InvalidSearch(message, field=field)
    digits = found.group(2)
    if substring and found.group(1) is None and len(digits) < 40:
        return HolderFilter(chain_id=chain_id, contains=digits)
    return HolderFilter(chain_id=chain_id, prefix=digits)


def _fingerprint(holder_filter: HolderFilter) -> bytes:
    return hashlib.blake2b(repr(holder_filter).encode(), digest_size=4).digest()


def _tag(body: bytes) -> bytes:
    return hmac.new(_KEY, body, hashlib.blake2b).digest()[:_TAG_BYTES]


def encode(key: HolderKey, holder_filter: HolderFilter) -> str:
    balance, address, chain_id = key
    body = _BODY.pack(
        _VERSION,
        balance.to_bytes(33, "big"),
        chain_id,
        bytes.fromhex(address.removeprefix("0x")),
        _fingerprint(holder_filter),
    )
    return base64.urlsafe_b64encode(body + _tag(body)).rstrip(b"=").decode()


def decode(cursor: str, holder_filter: HolderFilter, field: str) -> HolderKey:
    """The key in ``cursor``, or InvalidCursor naming ``field``."""
    expected = _BODY.size + _TAG_BYTES
    if len(cursor) > 2 * expected:
        raise InvalidCursor(f"{field}: malformed cursor", field=field)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor(f"{field}: malformed cursor", field=field) from None
    if len(raw) != expected:
        raise InvalidCursor(f"{field}: malformed cursor", field=field)
    body, tag = raw[: _BODY.size], raw[_BODY.size :]
    if not hmac.compare_digest(tag, _tag(body)):
        raise InvalidCursor(f"{field}: not a cursor this API issued", field=field)
    version, balance, chain_id, address, print_ = _BODY.unpack(body)
    if version != _VERSION or chain_id <= 0:
        raise InvalidCursor(f"{field}: not a cursor this API issued", field=field)
    if print_ != _fingerprint(holder_filter):
        text = f"{field}: the cursor belongs to another query (other chain or search)"
        raise InvalidCursor(text, field=field)
    return int.from_bytes(balance, "big"), "0x" + address.hex(), chain_id


def _ttl(state: AppState) -> float:
    return state.config.settings.cache_ttl_holders_seconds


def _chains(holder_filter: HolderFilter) -> frozenset[int]:
    chain_id = holder_filter.chain_id
    return frozenset() if chain_id is None else frozenset({chain_id})


async def page(
    state: AppState,
    holder_filter: HolderFilter,
    size: int,
    *,
    after: HolderKey | None = None,
    offset: int = 0,
) -> HolderPage:
    """``size`` holders after ``after`` (or ``offset`` rows in), and whether more follow."""

    async def load() -> HolderPage:
        async with store_pool.transaction(state.pool) as conn:
            rows = await store_balances.list_holders(
                conn, holder_filter, size + 1, after=after, offset=offset
            )
        return HolderPage(tuple(rows[:size]), len(rows) > size, holder_filter)

    if size == 0:
        return HolderPage((), False, holder_filter)
    key = ("page", holder_filter, size, after, offset)
    return await service.cached(state, HOLDERS, _ttl(state), key, load, _chains(holder_filter))


async def count(state: AppState, holder_filter: HolderFilter) -> int:
    """Exactly how many holders the filter selects (from the summaries when unsearched)."""
    if holder_filter.prefix is None and holder_filter.contains is None:
        found = await summaries(state)
        chain_id = holder_filter.chain_id
        return sum(s.holders for s in found if chain_id is None or s.chain_id == chain_id)

    async def load() -> int:
        async with store_pool.transaction(state.pool) as conn:
            return await store_balances.count_holders(conn, holder_filter)

    key = ("count", holder_filter)
    return await service.cached(state, HOLDERS, _ttl(state), key, load, _chains(holder_filter))


async def summaries(state: AppState) -> list[BalanceSummary]:
    """Every chain's holders, supply and coverage (one read, cached)."""

    async def load() -> list[BalanceSummary]:
        async with store_pool.transaction(state.pool) as conn:
            return await store_balances.summaries(conn)

    return await service.cached(state, SUMMARIES, _ttl(state), "all", load)


def by_chain(found: Sequence[BalanceSummary]) -> dict[int, BalanceSummary]:
    return {item.chain_id: item for item in found}


def accuracy(found: Sequence[BalanceSummary], chain_ids: Sequence[int]) -> Accuracy:
    """Exact when every chain concerned has complete coverage from its first block."""
    known = by_chain(found)
    complete = all(c in known and known[c].complete for c in chain_ids)
    return Accuracy.EXACT if complete else Accuracy.PARTIAL


def share(balance: int, supply: int) -> float | None:
    """A balance as a fraction of its chain's supply (None while no supply is stored)."""
    return balance / supply if supply > 0 else None
