"""The simulated world: every chain's blocks and token history, seen through the clock.

Everything is a function of ``(seed, density, chains file)`` plus the clock and the reorgs
asked for: two worlds built alike answer every query alike. The head is whatever block the
simulated clock has reached, so blocks appear in real time (or faster with ``speed``), and no
query ever sees a log above the head even when its segment was generated ahead of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from app.domain import TRANSFER_TOPIC0
from app.simulator import chainspec
from app.simulator.blocks import Timeline
from app.simulator.chainspec import ChainSpec, TokenSpec
from app.simulator.clock import Clock
from app.simulator.ledger import ERC721, GENESIS_SHARES, SUPPLY_UNITS, Ledger

ZERO_ADDRESS = "0x" + "0" * 40
MIN_HISTORY_DAYS = 125


@dataclass(frozen=True, slots=True)
class Block:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Log:
    """One Transfer log of the token (ERC-20, or the odd ERC-721-style one with 4 topics)."""

    chain_id: int
    block: int
    block_hash: str
    timestamp: int
    tx_hash: str
    tx_index: int
    log_index: int
    from_address: str
    to_address: str
    value: int  # raw units (ERC-721: the token id)
    erc721: bool

    @property
    def topics(self) -> list[str]:
        topics = [TRANSFER_TOPIC0, _pad(self.from_address), _pad(self.to_address)]
        if self.erc721:
            topics.append("0x" + format(self.value, "064x"))
        return topics

    @property
    def data(self) -> str:
        return "0x" if self.erc721 else "0x" + format(self.value, "064x")


@dataclass(frozen=True, slots=True)
class TxExtras:
    """Gas and nonce of a transaction, derived from its hash so they look real and stay put."""

    nonce: int
    gas: int
    gas_price: int
    gas_used: int
    cumulative_gas_used: int


class World:
    def __init__(
        self,
        *,
        seed: int,
        clock: Clock,
        density: float | Mapping[int, float] = 1.0,
        chains_file: Path | None = None,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.token, specs = chainspec.load(chains_file)
        self.chains: dict[int, ChainSpec] = {spec.id: spec for spec in specs}
        self.timelines = {spec.id: Timeline(spec, seed) for spec in specs}
        self.ledgers = {
            spec.id: Ledger(
                self.timelines[spec.id], seed, _rate(spec, density), self._genesis(spec)
            )
            for spec in specs
        }
        self.unit = int(10 ** max(0, self.token.decimals - 7))
        self._addresses: list[str] = []
        self._index: dict[str, int] = {}

    def _genesis(self, spec: ChainSpec) -> int:
        timeline = self.timelines[spec.id]
        jitter = int(hashlib.sha256(f"{self.seed}:{spec.id}:genesis".encode()).hexdigest(), 16)
        genesis = spec.first_block + 1 + jitter % max(1, int(3600 / spec.block_time))
        latest_allowed = timeline.block_at(self.clock.start - MIN_HISTORY_DAYS * 86_400)
        return min(genesis, latest_allowed)

    # -- blocks -----------------------------------------------------------------------------

    def spec(self, chain_id: int) -> ChainSpec:
        return self.chains[chain_id]

    def head(self, chain_id: int) -> int:
        ledger = self.ledgers[chain_id]
        floor = ledger.genesis + len(GENESIS_SHARES)
        return max(floor, self.timelines[chain_id].block_at(self.clock.now()))

    def finalized(self, chain_id: int) -> int:
        return self.head(chain_id) - self.chains[chain_id].finalized_lag

    def safe(self, chain_id: int) -> int:
        return self.head(chain_id) - self.chains[chain_id].safe_lag

    def block(self, chain_id: int, number: int) -> Block:
        timeline = self.timelines[chain_id]
        return Block(
            number=number,
            hash=timeline.block_hash(number),
            parent_hash=timeline.block_hash(number - 1),
            timestamp=timeline.timestamp(number),
        )

    def block_by_time(self, chain_id: int, ts: int, closest: str) -> int | None:
        """Etherscan getblocknobytime: the last block at/before ``ts`` or the first at/after."""
        timeline = self.timelines[chain_id]
        number = (
            timeline.block_at(ts) if closest == "before" else timeline.first_block_at_or_after(ts)
        )
        return number if number <= self.head(chain_id) else None

    def tx_extras(self, chain_id: int, tx_hash: str, tx_index: int) -> TxExtras:
        digest = bytes.fromhex(tx_hash[2:18])
        gas_used = 45_000 + int.from_bytes(digest[0:2]) % 40_000
        gwei = self.chains[chain_id].gas_gwei * (0.7 + digest[2] / 255 * 0.8)
        return TxExtras(
            nonce=int.from_bytes(digest[3:5]) % 20_000,
            gas=gas_used * 13 // 10,
            gas_price=max(1, int(gwei * 1e9)),
            gas_used=gas_used,
            cumulative_gas_used=gas_used + tx_index * 61_000 + digest[5] * 100,
        )

    # -- token history ----------------------------------------------------------------------

    def logs(
        self, chain_id: int, lo: int, hi: int, *, erc20_only: bool = False, reverse: bool = False
    ) -> Iterator[Log]:
        """Token logs in blocks lo..hi, capped at the head, in (block, logIndex) order."""
        hi = min(hi, self.head(chain_id))
        if hi < lo:
            return iter(())
        ledger = self.ledgers[chain_id]
        indices = ledger.span(lo, hi)
        if reverse:
            indices = indices[::-1]
        return (
            self._log(chain_id, i) for i in indices if not (erc20_only and ledger.kind[i] == ERC721)
        )

    def count_logs(self, chain_id: int, lo: int, hi: int, *, erc20_only: bool = False) -> int:
        """How many logs ``logs`` would yield, without building them."""
        hi = min(hi, self.head(chain_id))
        if hi < lo:
            return 0
        ledger = self.ledgers[chain_id]
        span = ledger.span(lo, hi)
        if not erc20_only:
            return len(span)
        return len(span) - ledger.kind[span.start : span.stop].count(ERC721)

    def transfers_of(
        self, chain_id: int, address: str, lo: int, hi: int, *, reverse: bool = False
    ) -> Iterator[Log]:
        """ERC-20 transfers from or to ``address`` in blocks lo..hi."""
        hi = min(hi, self.head(chain_id))
        self.ledgers[chain_id].ensure(hi)
        holder = self.holder_index(chain_id, address)
        if holder is None or hi < lo:
            return iter(())
        ledger = self.ledgers[chain_id]
        span = ledger.span(lo, hi)
        indices = ledger.involving(holder, span[::-1] if reverse else span)
        return (self._log(chain_id, i) for i in indices if ledger.kind[i] != ERC721)

    def _log(self, chain_id: int, i: int) -> Log:
        ledger, timeline = self.ledgers[chain_id], self.timelines[chain_id]
        block, tx_index, erc721 = ledger.blk[i], ledger.txi[i], ledger.kind[i] == ERC721
        value = ledger.val[i]
        return Log(
            chain_id=chain_id,
            block=block,
            block_hash=timeline.block_hash(block),
            timestamp=timeline.timestamp(block),
            tx_hash=timeline.tx_hash(block, tx_index),
            tx_index=tx_index,
            log_index=ledger.logi[i],
            from_address=self.address(ledger.src[i]),
            to_address=self.address(ledger.dst[i]),
            value=value if erc721 else value * self.unit,
            erc721=erc721,
        )

    # -- ground truth at the head -----------------------------------------------------------

    def balances(self, chain_id: int) -> list[tuple[str, int]]:
        """Positive raw balances at the head, largest first (ties by address)."""
        units = self.ledgers[chain_id].balances_at(self.head(chain_id))
        rows = [(self.address(i), amount * self.unit) for i, amount in enumerate(units) if amount]
        rows.sort(key=lambda row: (-row[1], row[0]))
        return rows

    def holder_count(self, chain_id: int) -> int:
        units = self.ledgers[chain_id].balances_at(self.head(chain_id))
        return sum(1 for amount in units if amount > 0)

    def supply(self, chain_id: int) -> int:
        return SUPPLY_UNITS * self.unit  # minted once at genesis; nothing is burnt

    def balance_of(self, chain_id: int, address: str) -> int:
        self.ledgers[chain_id].ensure(self.head(chain_id))
        holder = self.holder_index(chain_id, address)
        if holder is None:
            return 0
        return self.ledgers[chain_id].balances_at(self.head(chain_id))[holder] * self.unit

    # -- reorgs -----------------------------------------------------------------------------

    def reorg(self, chain_id: int, depth: int) -> tuple[int, int]:
        """Replace the top ``depth`` blocks; return (fork point, head). Raises ValueError."""
        head = self.head(chain_id)
        fork = head - depth
        ledger = self.ledgers[chain_id]
        if depth < 1 or fork < ledger.genesis + len(GENESIS_SHARES):
            raise ValueError(
                f"depth must be from 1 to {head - ledger.genesis - len(GENESIS_SHARES)}"
            )
        self.timelines[chain_id].fork(fork)
        ledger.rewind(fork)
        return fork, head

    # -- addresses --------------------------------------------------------------------------

    def address(self, index: int) -> str:
        """Holder ``index`` -> address; the same index is the same address on every chain."""
        if index < 0:
            return ZERO_ADDRESS
        while len(self._addresses) <= index:
            n = len(self._addresses)
            address = "0x" + hashlib.sha256(f"{self.seed}:holder:{n}".encode()).hexdigest()[:40]
            self._addresses.append(address)
            self._index[address] = n
        return self._addresses[index]

    def holder_index(self, chain_id: int, address: str) -> int | None:
        known = len(self.ledgers[chain_id].balances)
        if known:
            self.address(known - 1)
        index = self._index.get(address.lower())
        return index if index is not None and index < known else None


def _pad(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


def _rate(spec: ChainSpec, density: float | Mapping[int, float]) -> float:
    if isinstance(density, Mapping):
        return float(density.get(spec.id, spec.rate))
    return spec.rate * density


__all__ = ["Block", "Log", "TokenSpec", "TxExtras", "World"]
