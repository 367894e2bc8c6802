"""Window sizing and sealing: how many blocks to ask for, and how much of an answer to trust.

Pure functions and small state, no I/O.

**Sizing.** A range or size refusal (RangeTooLarge) shrinks the window: to the provider's
suggested range when it starts where we asked, else to its stated block limit (remembered as
a hard cap), else by half. A window that filled all 10 pages is split the same way. A clean
window doubles the size again, up to the cap. Rate and quota refusals never reach here: they
say nothing about the range.

**Sealing** (marking a window covered). Answers come in (block, log index) order, so a
short answer - the last page, or a page cut short in transit - is a prefix of the truth:
every block *before* the last block it mentions is complete, but that last block, and any
after it, may have lost rows. So:

- an *exact* answer (nothing sent, or proven whole by an empty page past its last item, see
  app.ingest.sources) seals the whole window;
- otherwise a window seals up to the block before its last row, and the next window starts
  *at* that block: re-reading it costs nothing (it starts the next window anyway), and a
  later row in that answer proves it complete;
- a window with nothing past its first block is proven with one more request (paged APIs),
  as is the last window of a range; JSON-RPC answers cannot be proven, so there two reads
  of the window that agree exactly stand in for the proof;
- a window with any rejected item or an inconsistent page seals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.ingest.sources import Fetched
from app.upstreams import errors as upstream_errors

Identity = tuple[str, int]  # (tx hash, log index)
Signature = tuple[frozenset[Identity], int]  # an answer's rows and how many items it had


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
    seen: Signature | None = None  # what to compare a re-read of the window with

    def progressed(self, lo: int) -> bool:
        return self.sealed_to >= lo


def signature(fetched: Fetched) -> Signature:
    rows = frozenset((entry.tx_hash, entry.log_index) for entry in fetched.logs)
    return rows, fetched.received


def stalls(fetched: Fetched) -> bool:
    """Whether the answer alone seals nothing: no row past the window's first block."""
    return all(entry.block_number == fetched.lo for entry in fetched.logs)


def needs_proof(fetched: Fetched, last_window: bool) -> bool:
    """Worth one more request to prove it whole: a clean, complete, unproven answer that
    ends a range or would otherwise seal nothing."""
    clean = not fetched.rejected and fetched.problem is None and fetched.complete
    return clean and not fetched.exact and (last_window or stalls(fetched))


def decide(fetched: Fetched, earlier: Signature | None) -> Decision:
    """How much of ``fetched`` is known complete. ``earlier`` is a previous read of the same
    window that sealed nothing, for answers that cannot be proven (JSON-RPC); None when
    there is none or the source can prove its answers (then only a proof counts)."""
    lo, hi = fetched.lo, fetched.hi
    if fetched.rejected or fetched.problem is not None:
        return Decision(lo - 1, store=False)
    if fetched.exact:
        return Decision(hi, store=True)
    if not stalls(fetched):
        return Decision(fetched.logs[-1].block_number - 1, store=True)
    if not fetched.complete:
        raise TooDense(f"block {lo} holds more transfers than 10 pages can list")
    seen = signature(fetched)
    if earlier is not None and earlier == seen:
        return Decision(hi, store=True)  # read twice alike: a cut would have to recur exactly
    return Decision(lo - 1, store=True, seen=seen)


def describe(fetched: Fetched) -> str:
    """Why a window was not sealed, for logs and ingest_status."""
    if fetched.problem is not None:
        return f"blocks {fetched.lo}-{fetched.hi}: {fetched.problem}"
    if fetched.rejected:
        reasons = ", ".join(f"{name}: {count}" for name, count in sorted(fetched.rejected.items()))
        return f"blocks {fetched.lo}-{fetched.hi}: rejected items ({reasons})"
    return f"blocks {fetched.lo}-{fetched.hi}: answers neither proven whole nor repeatable"
