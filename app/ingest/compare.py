"""Comparing a window's stored rows with another answer for the same blocks (pure).

A transfer's identity is ``(chain_id, tx_hash, log_index)``. When every row of the other
answer carries its log index (JSON-RPC, getLogs, the Cronos explorer's tokentx) rows are
matched by identity: **missing** (upstream only), **extra** (store only) and **mismatched**
(same identity, another from/to/value). Etherscan's ``account/tokentx`` has no log index, so
there the two sides are compared as multisets of ``(tx_hash, from, to, value)``; a
transaction that lost some rows on one side and has other rows on the other counts those
pairs as mismatched, the rest as missing or extra. Two identical transfers in one
transaction are indistinguishable that way, but their count still is.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.domain import Transfer
from app.upstreams.logs import ParsedLog
from app.upstreams.tokentx import TokenTransferRow

IDENTITY, MULTISET = "identity", "multiset"


@dataclass(frozen=True, slots=True)
class Entry:
    """The fields both sides can say about a transfer (lowercase hex)."""

    block_number: int
    tx_hash: str
    log_index: int | None  # None: the source cannot say
    from_address: str
    to_address: str
    value: int

    @classmethod
    def of(cls, row: Transfer | ParsedLog | TokenTransferRow) -> Entry:
        return cls(
            row.block_number,
            row.tx_hash.lower(),
            row.log_index,
            row.from_address.lower(),
            row.to_address.lower(),
            int(row.value),
        )

    @property
    def parties(self) -> tuple[str, str, int]:
        return self.from_address, self.to_address, self.value

    @property
    def loose(self) -> tuple[str, str, str, int]:
        return self.tx_hash, self.from_address, self.to_address, self.value


@dataclass(frozen=True, slots=True)
class Difference:
    compared_by: str  # IDENTITY or MULTISET
    stored: int
    upstream: int
    missing: int = 0
    extra: int = 0
    mismatched: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.mismatched)


def entries(rows: Iterable[Transfer | ParsedLog | TokenTransferRow]) -> list[Entry]:
    return [Entry.of(row) for row in rows]


def compare(stored: Sequence[Entry], upstream: Sequence[Entry]) -> Difference:
    """How ``stored`` differs from ``upstream`` (see the module docstring)."""
    if all(entry.log_index is not None for entry in (*stored, *upstream)):
        return _by_identity(stored, upstream)
    return _by_multiset(stored, upstream)


def _by_identity(stored: Sequence[Entry], upstream: Sequence[Entry]) -> Difference:
    ours = {(e.tx_hash, e.log_index): e.parties for e in stored}
    theirs = {(e.tx_hash, e.log_index): e.parties for e in upstream}
    both = ours.keys() & theirs.keys()
    return Difference(
        IDENTITY,
        len(stored),
        len(upstream),
        missing=len(theirs.keys() - both),
        extra=len(ours.keys() - both),
        mismatched=sum(1 for key in both if ours[key] != theirs[key]),
    )


def _by_multiset(stored: Sequence[Entry], upstream: Sequence[Entry]) -> Difference:
    ours = Counter(e.loose for e in stored)
    theirs = Counter(e.loose for e in upstream)
    missing_by_tx: dict[str, int] = defaultdict(int)
    extra_by_tx: dict[str, int] = defaultdict(int)
    for key, count in (theirs - ours).items():
        missing_by_tx[key[0]] += count
    for key, count in (ours - theirs).items():
        extra_by_tx[key[0]] += count
    # A row of one transaction changed on one side shows as one missing and one extra there.
    paired = sum(min(n, extra_by_tx[tx]) for tx, n in missing_by_tx.items())
    return Difference(
        MULTISET,
        len(stored),
        len(upstream),
        missing=sum(missing_by_tx.values()) - paired,
        extra=sum(extra_by_tx.values()) - paired,
        mismatched=paired,
    )


def duplicated(upstream: Sequence[Entry]) -> bool:
    """Whether an answer names one log twice (an inconsistent answer, never compared)."""
    keys = [(e.tx_hash, e.log_index) for e in upstream if e.log_index is not None]
    return len(keys) != len(set(keys))
