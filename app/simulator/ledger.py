"""The token's transfer history on one chain, generated lazily, sequentially and compactly.

History is produced in segments of about six hours of blocks, in block order, each from its own
seeded RNG, only when a query first needs it (startup stays instant whatever the density).
Because segments are applied in order to running balances, a sender never spends more than it
holds, supply is conserved, and the balances are the ground truth. Storage is a handful of
``array`` columns (33 bytes a log), so millions of transfers fit.

Amounts are stored in units of ``10**(decimals - 7)`` raw (1e-7 token at 18 decimals); the
per-chain supply of 555,555,555,555,556 units is the legacy 55,555,555.5555556 BZR per chain.
Holder 0 is the treasury (minted to at genesis); holder -1 stands for the zero address.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
from array import array
from collections.abc import Iterator

from app.simulator.blocks import Timeline

SUPPLY_UNITS = 555_555_555_555_556
SEGMENT_SECONDS = 6 * 3600
ERC20, ERC721 = 0, 1
P_ERC721 = 0.015  # share of transactions that emit an ERC-721-style Transfer (4 topics)
P_TWO, P_THREE = 0.08, 0.03  # transactions with two / three transfers
P_NEW_HOLDER = 0.15
GENESIS_SHARES = (0.2, 0.12, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02, 0.02, 0.01, 0.01, 0.01)


class Ledger:
    """Transfers of one chain in block order, plus balances after the last generated block."""

    def __init__(self, timeline: Timeline, seed: int, rate: float, genesis: int) -> None:
        self.timeline = timeline
        self.genesis = genesis
        self.rate = rate  # ERC-20 transfers per day, before the per-day factor
        self._seed = seed
        self._segment = max(1, round(SEGMENT_SECONDS / timeline.spec.block_time))
        self.blk, self.txi, self.logi = array("q"), array("i"), array("i")
        self.src, self.dst, self.val, self.kind = array("i"), array("i"), array("q"), array("b")
        self.balances: list[int] = []
        self.version = 0  # bumped by a rewind, so caches keyed on it expire
        self.generated_to = genesis  # exclusive: blocks below it are complete
        self._day_factors: dict[int, float] = {}
        self._truth_cache: tuple[tuple[int, int, int], list[int]] | None = None
        self.lock = threading.RLock()
        self._genesis()

    # -- generation -------------------------------------------------------------------------

    def ensure(self, block: int) -> None:
        """Generate history up to and including ``block`` (one segment per lock hold, so a
        warming thread and the server share the work without blocking each other long)."""
        while self.generated_to <= block:
            with self.lock:
                lo = self.generated_to
                if lo > block:
                    return
                hi = self.genesis + ((lo - self.genesis) // self._segment + 1) * self._segment
                self._generate(lo, hi)
                self.generated_to = hi

    def _genesis(self) -> None:
        g = self.genesis
        self.balances.append(0)
        self._append(g, 0, 0, -1, 0, SUPPLY_UNITS, ERC20)
        rng = random.Random(f"{self._seed}:{self.timeline.spec.id}:genesis")
        for offset, share in enumerate(GENESIS_SHARES, start=1):
            holder = self._new_holder()
            tx = rng.randrange(0, 20)
            self._append(g + offset, tx, tx * 2, 0, holder, int(SUPPLY_UNITS * share), ERC20)
        self.generated_to = g + len(GENESIS_SHARES) + 1

    def _generate(self, lo: int, hi: int) -> None:
        spec = self.timeline.spec
        rng = random.Random(f"{self._seed}:{spec.id}:seg:{lo}:{hi}:{self.timeline.reorg_count}")
        day = self.timeline.timestamp(lo) // 86_400
        lam = self.rate * self._day_factor(day) * (hi - lo) * spec.block_time / 86_400
        blocks = sorted(rng.randrange(lo, hi) for _ in range(_poisson(rng, lam)))
        last_block, last_tx, last_log = -1, 0, 0
        for block in blocks:
            if block != last_block:
                tx = 0 if rng.random() < 0.1 else rng.randrange(1, 60)
                log = tx * 2 + rng.randrange(0, 3)
            else:
                tx = last_tx + 1 + rng.randrange(0, 4)
                log = last_log + 1 + rng.randrange(0, 6)
            last_log = self._transaction(rng, block, tx, log)
            last_block, last_tx = block, tx

    def _transaction(self, rng: random.Random, block: int, tx: int, log: int) -> int:
        """Append one transaction's logs; return its last log index."""
        r = rng.random()
        if r < P_ERC721:
            n = len(self.balances)
            src, dst = _skewed(rng, n), _skewed(rng, n)
            self._append(block, tx, log, src, dst, rng.randrange(1, 10_000), ERC721)
            return log
        count = 3 if r < P_ERC721 + P_THREE else 2 if r < P_ERC721 + P_THREE + P_TWO else 1
        sender = self._sender(rng)
        if sender < 0:
            return log - 1
        source = sender
        for position in range(count):
            if position and rng.random() < 0.5:
                source = self.dst[-1]  # a hop: the previous receiver passes it on
            balance = self.balances[source]
            if balance <= 0:
                break
            receiver = self._receiver(rng, source)
            amount = _amount(rng, balance, source == 0)
            self._append(block, tx, log + position, source, receiver, amount, ERC20)
        return log + count - 1

    def _sender(self, rng: random.Random) -> int:
        n = len(self.balances)
        for _ in range(6):
            holder = _skewed(rng, n)
            if self.balances[holder] > 0:
                return holder
        return 0 if self.balances[0] > 0 else -1

    def _receiver(self, rng: random.Random, sender: int) -> int:
        if rng.random() >= P_NEW_HOLDER:
            holder = _skewed(rng, len(self.balances))
            if holder != sender:
                return holder
        return self._new_holder()

    def _new_holder(self) -> int:
        self.balances.append(0)
        return len(self.balances) - 1

    def _append(self, b: int, tx: int, log: int, src: int, dst: int, val: int, kind: int) -> None:
        self.blk.append(b)
        self.txi.append(tx)
        self.logi.append(log)
        self.src.append(src)
        self.dst.append(dst)
        self.val.append(val)
        self.kind.append(kind)
        if kind == ERC20:
            self._move(src, dst, val)

    def _move(self, src: int, dst: int, amount: int) -> None:
        if src >= 0:
            self.balances[src] -= amount
        if dst >= 0:
            self.balances[dst] += amount

    def _day_factor(self, day: int) -> float:
        factor = self._day_factors.get(day)
        if factor is None:
            rng = random.Random(f"{self._seed}:{self.timeline.spec.id}:day:{day}")
            factor = self._day_factors[day] = rng.lognormvariate(0.0, 0.45)
        return factor

    # -- reorgs -----------------------------------------------------------------------------

    def rewind(self, fork: int) -> None:
        """Drop everything above ``fork`` (regenerated on demand with a new seed salt)."""
        with self.lock:
            self._rewind(max(fork, self.genesis + len(GENESIS_SHARES)))

    def _rewind(self, fork: int) -> None:
        start = bisect.bisect_right(self.blk, fork)
        for i in range(len(self.blk) - 1, start - 1, -1):
            if self.kind[i] == ERC20:
                self._move(self.dst[i], self.src[i], self.val[i])
        for column in (self.blk, self.txi, self.logi, self.src, self.dst, self.val, self.kind):
            del column[start:]
        self.generated_to = min(self.generated_to, fork + 1)
        self.version += 1

    # -- queries ----------------------------------------------------------------------------

    def span(self, lo: int, hi: int) -> range:
        """Indices of the logs in blocks lo..hi (inclusive); history must be generated."""
        self.ensure(hi)
        return range(bisect.bisect_left(self.blk, lo), bisect.bisect_right(self.blk, hi))

    def balances_at(self, head: int) -> list[int]:
        """Balances after block ``head`` (a copy, cached per head)."""
        self.ensure(head)
        with self.lock:
            return self._balances_at(head)

    def _balances_at(self, head: int) -> list[int]:
        key = (head, self.version, len(self.blk))
        if self._truth_cache is not None and self._truth_cache[0] == key:
            return self._truth_cache[1]
        balances = list(self.balances)
        for i in range(len(self.blk) - 1, bisect.bisect_right(self.blk, head) - 1, -1):
            if self.kind[i] == ERC20:
                src, dst, amount = self.src[i], self.dst[i], self.val[i]
                if dst >= 0:
                    balances[dst] -= amount
                if src >= 0:
                    balances[src] += amount
        self._truth_cache = (key, balances)
        return balances

    def involving(self, holder: int, indices: range) -> Iterator[int]:
        src, dst = self.src, self.dst
        return (i for i in indices if src[i] == holder or dst[i] == holder)


def _skewed(rng: random.Random, n: int) -> int:
    """A holder index biased towards early holders: preferential attachment, heavy tail."""
    return min(n - 1, int(n * rng.random() ** 2.2))


def _amount(rng: random.Random, balance: int, treasury: bool) -> int:
    if treasury:
        raw = balance * 0.01 * rng.random() ** 4
    elif rng.random() < 0.08:
        return balance  # sells out: the holder leaves
    else:
        raw = balance * rng.random() ** 3
    amount = max(1, int(raw))
    scale = int(10 ** max(0, len(str(amount)) - 3))  # three significant digits, like real amounts
    return min(balance, max(1, amount // scale * scale))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
