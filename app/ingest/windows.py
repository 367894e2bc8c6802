"""Window sizing and sealing: how many blocks to ask for, and how much of an answer to trust.

Pure functions and small state, no I/O.

**Sizing.** A range or size refusal (RangeTooLarge) shrinks the window: to the provider's
suggested range when it starts where we asked, else to its stated block limit (remembered as
a hard cap), else by half. A window that filled all 10 pages is split the same way. A clean
window doubles the size again, up to the cap. Rate and quota refusals never reach here: they
say nothing about the range.

**Sealing** (marking a window covered). Answers are read in (block, log index) order, so a
short answer - the last page, or a page cut short in transit - is a prefix of the truth:
every block *before* the last block it mentions is complete, but the last block itself may
have lost rows. So a window with rows seals only up to the block before its last one, and
the next window starts *at* that block (re-reading it costs no extra request: it is the
start of the next window anyway). A window whose only rows are in its first block seals
whole only when those rows agree with an earlier read of that block (the ``carry``), which
at the end of a range costs one more request. Empty answers seal whole: a cut-short page is
never empty. A window with any rejected item or an inconsistent page seals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.ingest.sources import Fetched
from app.upstreams import errors as upstream_errors

Identity = tuple[str, int]  # (tx hash, log index)


class TooDense(upstream_errors.UpstreamError):
    """One block holds more transfers than the upstream's result window can page through."""

    code = "upstream_too_dense"


@dataclass(slots=True)
class WindowSizer:
    size: int
    cap: int

    def __post_init__(self) -> None:
        self.cap = max(1, self.cap)
        self.size = max(1, min(self.size, self.cap))

    def grow(self) -> None:
        self.size = min(self.cap, self.size * 2)

    def refused(self, lo: int, hi: int, exc: upstream_errors.RangeTooLarge) -> None:
        """Shrink after a refusal of [lo, hi]; re-raise when one block is already too much."""
        span = hi - lo + 1
        if span <= 1:
            raise exc
        if exc.suggested is not None and exc.suggested[0] == lo and lo <= exc.suggested[1] < hi:
            wanted = exc.suggested[1] - lo + 1  # the provider knows what fits from `lo`
        elif exc.max_span is not None and exc.max_span >= 1:
            self.cap = min(self.cap, exc.max_span)  # a stated limit holds for every window
            wanted = exc.max_span
        else:
            wanted = span // 2
        self.size = max(1, min(wanted, span - 1, self.cap))

    def split(self, lo: int, last_block: int) -> None:
        """A window filled every page: its rows ended at ``last_block``; aim below that."""
        self.size = max(1, min(self.size // 2, last_block - lo))


@dataclass(frozen=True, slots=True)
class Decision:
    sealed_to: int  # covered through this block (lo - 1: nothing)
    store: bool  # whether the window's rows may be written
    tail: tuple[int, frozenset[Identity]] | None = None  # the last block read and its rows

    def progressed(self, lo: int) -> bool:
        return self.sealed_to >= lo


def identities(fetched: Fetched, block: int) -> frozenset[Identity]:
    return frozenset(
        (entry.tx_hash, entry.log_index) for entry in fetched.logs if entry.block_number == block
    )


def decide(fetched: Fetched, carry: frozenset[Identity] | None) -> Decision:
    """How much of ``fetched`` is known complete; ``carry`` is an earlier read of its first
    block (None if there is none)."""
    lo, hi = fetched.lo, fetched.hi
    if fetched.rejected or fetched.problem is not None:
        return Decision(lo - 1, store=False)
    if not fetched.logs:
        return Decision(hi, store=True)
    last = fetched.logs[-1].block_number
    tail = (last, identities(fetched, last))
    if last > lo:
        return Decision(last - 1, store=True, tail=tail)
    if not fetched.complete:
        raise TooDense(f"block {lo} holds more transfers than 10 pages can list")
    if carry is not None and carry == tail[1]:
        return Decision(hi, store=True)  # a second read of block lo agrees: it is whole
    return Decision(lo - 1, store=True, tail=tail)


def describe(fetched: Fetched) -> str:
    """Why a window was not sealed, for logs and ingest_status."""
    if fetched.problem is not None:
        return f"blocks {fetched.lo}-{fetched.hi}: {fetched.problem}"
    if fetched.rejected:
        reasons = ", ".join(f"{name}: {count}" for name, count in sorted(fetched.rejected.items()))
        return f"blocks {fetched.lo}-{fetched.hi}: rejected items ({reasons})"
    return f"blocks {fetched.lo}-{fetched.hi}: block {fetched.lo} read twice without agreement"
