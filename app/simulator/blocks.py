"""Block numbers, timestamps and hashes of one simulated chain.

Block ``n`` is stamped ``floor(REF_TIME + (n - ref_block) * block_time)``, so the mapping is a
pure function and sub-second chains (Arbitrum, BSC) share timestamps between blocks as the
real ones do. Hashes are ``sha256(seed, chain, n, epoch)`` where ``epoch`` counts the reorgs
forked below ``n``: a reorg therefore changes every hash above its fork point and nothing
below it, and ``parentHash`` stays consistent with the previous block.
"""

from __future__ import annotations

import bisect
import hashlib
import math

from app.simulator.chainspec import REF_TIME, ChainSpec


class Timeline:
    def __init__(self, spec: ChainSpec, seed: int) -> None:
        self.spec = spec
        self._seed = seed
        self._forks: list[int] = []  # sorted fork points, one per reorg

    def timestamp(self, number: int) -> int:
        return math.floor(REF_TIME + (number - self.spec.ref_block) * self.spec.block_time)

    def block_at(self, ts: float) -> int:
        """The highest block whose timestamp is <= ts."""
        spec = self.spec
        n = spec.ref_block + math.floor((ts - REF_TIME) / spec.block_time)
        while self.timestamp(n + 1) <= ts:
            n += 1
        while self.timestamp(n) > ts:
            n -= 1
        return n

    def first_block_at_or_after(self, ts: float) -> int:
        n = self.block_at(ts)
        return n if self.timestamp(n) >= ts else n + 1

    def epoch(self, number: int) -> int:
        return bisect.bisect_left(self._forks, number)

    def block_hash(self, number: int) -> str:
        text = f"{self._seed}:{self.spec.id}:block:{number}:{self.epoch(number)}"
        return "0x" + hashlib.sha256(text.encode()).hexdigest()

    def tx_hash(self, number: int, tx_index: int) -> str:
        text = f"{self._seed}:{self.spec.id}:tx:{number}:{tx_index}:{self.epoch(number)}"
        return "0x" + hashlib.sha256(text.encode()).hexdigest()

    def fork(self, fork_point: int) -> None:
        """Record a reorg: every block above ``fork_point`` gets a new hash."""
        bisect.insort(self._forks, fork_point)

    @property
    def reorg_count(self) -> int:
        return len(self._forks)
