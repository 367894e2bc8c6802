"""How many transfers of the token an upstream holds in a block window: the explorer's side of
the validation suite's transfer count.

- Envelope APIs (Etherscan ``account/tokentx``, the Cronos explorer's): pages of 1,000 rows are
  followed until a short one; the total ``R`` is then proven whole by one request for the page
  that starts at row ``R``, which must be empty (a page cut short in transit looks like a
  last page, an empty page cannot be cut). A window whose rows fill the 10,000-row result
  window, or that the provider refuses as too big, is halved and each half counted.
- JSON-RPC (``eth_getLogs``): the window's ERC-20 logs in one answer (ERC-721 ``Transfer``s
  with 4 topics are not counted); a range refusal halves it. An answer is not provable here.

Rows the parser refuses as another contract's or outside the window are not counted; any other
refused row makes the count untrustworthy, so it raises instead of guessing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.upstreams._budget import Priority
from app.upstreams._envelope import MAX_OFFSET, RESULT_WINDOW, EnvelopeClient
from app.upstreams.errors import RangeTooLarge, UpstreamUnavailable
from app.upstreams.parse import ParsedBatch, RejectReason
from app.upstreams.rpc import RpcClient

NOT_OURS = frozenset({RejectReason.WRONG_CONTRACT, RejectReason.OUT_OF_RANGE})
PROOF_TRIES = 3  # reads of a window whose count an empty page would not confirm
Count = Callable[[int, int], Awaitable[int]]


def probe_offset(received: int) -> int | None:
    """The page size whose next page starts right after ``received`` rows (the largest
    divisor within 1,000 a page and page x offset <= 10,000), or None when none fits."""
    room = min(MAX_OFFSET, RESULT_WINDOW - received)
    if received < 1 or room < 1:
        return None
    return next(k for k in range(min(room, received), 0, -1) if received % k == 0)


def counted(batch: ParsedBatch[Any], where: str) -> int:
    """Rows of the token in the window; raises when a row could not be read."""
    broken = [r for r in batch.rejected if r.reason not in NOT_OURS]
    if broken:
        raise UpstreamUnavailable(
            f"{len(broken)} unreadable row(s): {broken[0].detail}", **_at(where)
        )
    return len(batch.items)


async def count_token_transfers(
    client: EnvelopeClient, lo: int, hi: int, *, priority: Priority = Priority.RECONCILIATION
) -> int:
    """tokentx rows of the token in [lo, hi], every page, proven whole; halves dense windows."""

    async def one(a: int, b: int) -> int:
        for _ in range(PROOF_TRIES):
            total, proven = await _read_window(client, a, b, priority)
            if proven:
                return total
        where = f"{client.gateway.name} account/tokentx"
        raise UpstreamUnavailable("the count could not be proven whole", **_at(where))

    return await bisect(one, lo, hi)


async def count_rpc_transfers(
    client: RpcClient, lo: int, hi: int, *, priority: Priority = Priority.RECONCILIATION
) -> int:
    """ERC-20 Transfer logs of the token in [lo, hi] (eth_getLogs); halves refused ranges."""

    async def one(a: int, b: int) -> int:
        batch = await client.get_logs(a, b, priority=priority)
        return counted(batch, f"{client.gateway.name} rpc/eth_getLogs")

    return await bisect(one, lo, hi)


async def bisect(count: Count, lo: int, hi: int) -> int:
    """``count(lo, hi)``, halving the range (depth first, low half first) while refused."""
    pending, total = [(lo, hi)], 0
    while pending:
        a, b = pending.pop()
        try:
            total += await count(a, b)
        except RangeTooLarge:
            if a >= b:
                raise  # one block too dense to count: nothing left to split
            mid = (a + b) // 2
            pending += [(mid + 1, b), (a, mid)]
    return total


async def _read_window(
    client: EnvelopeClient, lo: int, hi: int, priority: Priority
) -> tuple[int, bool]:
    """(rows counted, proven whole) for one read of every page of [lo, hi]."""
    where = f"{client.gateway.name} account/tokentx"
    total = received = 0
    for page in range(1, RESULT_WINDOW // MAX_OFFSET + 1):
        batch = await client.token_transfers(lo, hi, page=page, priority=priority)
        total += counted(batch, where)
        received += batch.received
        if batch.received < MAX_OFFSET:
            return total, await _proven(client, lo, hi, received, priority)
    raise RangeTooLarge(f"more than {RESULT_WINDOW} rows in the window", **_at(where))


async def _proven(
    client: EnvelopeClient, lo: int, hi: int, received: int, priority: Priority
) -> bool:
    offset = probe_offset(received)
    if offset is None:
        return received == 0  # nothing was sent: an empty answer is never a cut one
    batch = await client.token_transfers(
        lo, hi, page=received // offset + 1, offset=offset, priority=priority
    )
    return batch.received == 0


def _at(where: str) -> dict[str, Any]:
    provider, _, endpoint = where.partition(" ")
    return {"provider": provider, "endpoint": endpoint}
