"""Where a chain's Transfer logs, head and block headers come from, behind one interface.

- :class:`EnvelopeSource`: Etherscan V2 and Blockscout-style explorers (``logs/getLogs``,
  1,000 records a page, at most 10 pages because ``page x offset`` may not pass 10,000);
- :class:`RpcSource`: JSON-RPC ``eth_getLogs`` (a whole range in one answer), with block
  headers fetched in batches when logs lack their time or hash.

A source only fetches and validates (the upstreams parsers run inside the gateway); whether a
window's answer may be trusted and sealed is decided by :mod:`app.ingest.windows`.

**Proving an answer whole** (envelope sources). An answer that looks complete may still be a
page cut short in transit. Pagination settles it with one request: after ``R`` items, the
page that starts at item ``R`` (offset ``k`` dividing ``R``, page ``R/k + 1``) must be
empty. An empty page cannot be a cut-short one, so the truth holds at most ``R`` items: the
``R`` we have. JSON-RPC has no pages, so an RPC answer is never proven this way.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from app import upstreams
from app.domain import Finality, FinalityKind
from app.upstreams import errors as upstream_errors
from app.upstreams.etherscan import BlockTag
from app.upstreams.logs import ParsedLog
from app.upstreams.parse import BlockHeader, ParsedBatch, parse_block

log = logging.getLogger(__name__)
PAGE_SIZE = 1_000  # records per getLogs page (Etherscan Free since 2026-07; Blockscout)
RESULT_WINDOW = 10_000  # page x offset may not pass it (upstreams.md §1.2)
MAX_PAGES = RESULT_WINDOW // PAGE_SIZE
# When a node does not know its finalized/safe block: re-check this many blocks below the head.
FALLBACK_DEPTH = 128


class Meter(Protocol):
    """Counts upstream requests for a run's report (SyncReport has this field)."""

    calls: int


@dataclass(frozen=True, slots=True)
class Tip:
    head: int
    head_hash: str | None  # None: the source cannot say (no header call available)
    head_time: datetime | None
    safe_head: int  # the finality point: blocks at or below it are final


@dataclass(slots=True)
class Fetched:
    """A window's answer, every page together, not yet judged."""

    lo: int
    hi: int
    logs: list[ParsedLog] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    skipped_erc721: int = 0
    complete: bool = True  # False: the page limit ended the read before the last page
    problem: str | None = None  # why the answer is inconsistent; None when it is not
    pages: int = 0
    received: int = 0  # items the upstream sent, every page (skipped and rejected included)
    proven: bool = False  # an empty page past the last item proved nothing is missing

    @property
    def exact(self) -> bool:
        """Known to be the whole truth of [lo, hi]: nothing sent (a cut-short answer is never
        empty), or proven by an empty page."""
        return self.received == 0 or self.proven

    def add(self, batch: ParsedBatch[ParsedLog]) -> None:
        self.logs.extend(batch.items)
        self.rejected.update(r.reason.value for r in batch.rejected)
        self.skipped_erc721 += batch.skipped_erc721
        self.received += batch.received
        self.pages += 1

    def check_order(self) -> None:
        """Answers come in (block, log index) order; anything else cannot be trusted, since
        sealing relies on a short answer being a prefix of the full one."""
        keys = [(entry.block_number, entry.log_index) for entry in self.logs]
        if any(a >= b for a, b in itertools.pairwise(keys)):
            self.problem = self.problem or "logs out of order or repeated across pages"


class Source(Protocol):
    @property
    def kind(self) -> str:
        """What transfers.source records: "etherscan", "explorer" or "rpc"."""

    @property
    def header_batch(self) -> int:
        """Headers one request can fetch (1: one call per header)."""

    @property
    def can_check_headers(self) -> bool: ...

    @property
    def can_prove(self) -> bool:
        """Whether :meth:`prove` can show an answer whole (paged APIs only)."""

    async def prove(self, fetched: Fetched, priority: upstreams.Priority, meter: Meter) -> None:
        """Ask for the page right after ``fetched``'s last item; empty sets ``proven``."""

    async def tip(self, finality: Finality, priority: upstreams.Priority, meter: Meter) -> Tip: ...

    async def logs(
        self, lo: int, hi: int, priority: upstreams.Priority, meter: Meter
    ) -> Fetched: ...

    async def headers(
        self, numbers: Sequence[int], priority: upstreams.Priority, meter: Meter
    ) -> dict[int, BlockHeader]: ...


def depth_safe_head(head: int, finality: Finality) -> int | None:
    """The finality point when no call is needed (depth:N, instant); None for a tag."""
    if finality.kind is FinalityKind.INSTANT:
        return head
    if finality.kind is FinalityKind.DEPTH:
        return max(0, head - finality.depth)
    return None


def probe_offset(received: int) -> int | None:
    """The page size whose next page starts right after ``received`` items: the largest
    divisor of ``received`` that keeps within 1,000 a page and page x offset <= 10,000."""
    room = min(PAGE_SIZE, RESULT_WINDOW - received)
    if received < 1 or room < 1:
        return None
    return next(k for k in range(min(room, received), 0, -1) if received % k == 0)


def tag_of(finality: Finality) -> BlockTag:
    return "finalized" if finality.kind is FinalityKind.FINALIZED else "safe"


def tagged_safe_head(head: int, found: BlockHeader | None, finality: Finality) -> int:
    if found is None:
        log.warning(
            "finality tag unknown to the upstream; using a fixed depth",
            extra={"tag": str(finality), "depth": FALLBACK_DEPTH},
        )
        return max(0, head - FALLBACK_DEPTH)
    return min(found.number, head)


async def fill_blocks(
    fetched: Fetched, source: Source, priority: upstreams.Priority, meter: Meter
) -> None:
    """Give logs that lack their block time or hash the block's header (batched for RPC)."""
    if fetched.problem is not None or fetched.rejected:
        return  # the window will not be stored: spare the header requests
    wanted = sorted({entry.block_number for entry in fetched.logs if entry.needs_block})
    if not wanted:
        return
    if not source.can_check_headers:
        fetched.problem = "logs lack block time or hash and no header source is configured"
        return
    found = await source.headers(wanted, priority, meter)
    filled = []
    for entry in fetched.logs:
        if not entry.needs_block:
            filled.append(entry)
            continue
        header = found.get(entry.block_number)
        if header is None:
            fetched.problem = f"no header for block {entry.block_number}"
            return
        try:
            filled.append(entry.with_block(header))
        except ValueError as exc:  # the log's hash is not the header's: a reorg in between
            fetched.problem = str(exc)
            return
    fetched.logs = filled


class EnvelopeSource:
    """Etherscan V2 (``EtherscanClient``) or an explorer (``ExplorerClient``) for logs; the
    explorer has no header endpoint of its own, so headers come from ``rpc`` when given."""

    header_batch = 1
    can_prove = True

    def __init__(
        self,
        kind: str,
        client: upstreams.EtherscanClient | upstreams.ExplorerClient,
        rpc: RpcSource | None = None,
    ) -> None:
        self.kind = kind
        self.client = client
        self.rpc = rpc

    @property
    def can_check_headers(self) -> bool:
        return isinstance(self.client, upstreams.EtherscanClient) or self.rpc is not None

    async def tip(self, finality: Finality, priority: upstreams.Priority, meter: Meter) -> Tip:
        if isinstance(self.client, upstreams.ExplorerClient):
            return await self._explorer_tip(finality, priority, meter)
        meter.calls += 1
        head = await self.client.block("latest", priority=priority)
        if head is None:
            raise upstream_errors.UpstreamUnavailable("no latest block", provider=self.kind)
        safe = depth_safe_head(head.number, finality)
        if safe is None:
            meter.calls += 1
            tagged = await self.client.block(tag_of(finality), priority=priority)
            safe = tagged_safe_head(head.number, tagged, finality)
        return Tip(head.number, head.hash, head.timestamp, safe)

    async def _explorer_tip(
        self, finality: Finality, priority: upstreams.Priority, meter: Meter
    ) -> Tip:
        if self.rpc is not None and finality.kind is not FinalityKind.INSTANT:
            return await self.rpc.tip(finality, priority, meter)
        meter.calls += 1
        head = await self.client.block_number(priority=priority)
        safe = depth_safe_head(head, finality)
        return Tip(head, None, None, head if safe is None else safe)

    async def logs(self, lo: int, hi: int, priority: upstreams.Priority, meter: Meter) -> Fetched:
        fetched = Fetched(lo, hi, complete=False)
        for page in range(1, MAX_PAGES + 1):
            meter.calls += 1
            batch = await self.client.get_logs(
                lo, hi, page=page, offset=PAGE_SIZE, priority=priority
            )
            fetched.add(batch)
            # `received` counts what was sent, skipped NFTs and rejected items included:
            # a page is the last one only when the upstream sent fewer than asked.
            if batch.received < PAGE_SIZE:
                fetched.complete = True
                break
        fetched.check_order()
        await fill_blocks(fetched, self, priority, meter)
        return fetched

    async def prove(self, fetched: Fetched, priority: upstreams.Priority, meter: Meter) -> None:
        offset = probe_offset(fetched.received)
        if offset is None:
            return
        meter.calls += 1
        page = fetched.received // offset + 1
        batch = await self.client.get_logs(
            fetched.lo, fetched.hi, page=page, offset=offset, priority=priority
        )
        fetched.proven = batch.received == 0

    async def headers(
        self, numbers: Sequence[int], priority: upstreams.Priority, meter: Meter
    ) -> dict[int, BlockHeader]:
        if self.rpc is not None:
            return await self.rpc.headers(numbers, priority, meter)
        if not isinstance(self.client, upstreams.EtherscanClient):
            raise upstream_errors.UpstreamRefused("no header source", provider=self.kind)
        found = {}
        for number in numbers:
            meter.calls += 1
            header = await self.client.block(number, priority=priority)
            if header is not None:
                found[header.number] = header
        return found


class RpcSource:
    """JSON-RPC ``eth_getLogs``; headers and the tip come in batches (one request each)."""

    kind = "rpc"
    can_check_headers = True
    can_prove = False

    async def prove(self, fetched: Fetched, priority: upstreams.Priority, meter: Meter) -> None:
        return None  # eth_getLogs has no pages: see app.ingest.windows for RPC answers

    def __init__(self, client: upstreams.RpcClient, header_batch: int = 50) -> None:
        self.client = client
        self.header_batch = header_batch

    async def tip(self, finality: Finality, priority: upstreams.Priority, meter: Meter) -> Tip:
        meter.calls += 1
        if finality.kind in (FinalityKind.FINALIZED, FinalityKind.SAFE):
            head, tagged = await self._head_and_tag(tag_of(finality), priority)
            safe_head = tagged_safe_head(head.number, tagged, finality)
            return Tip(head.number, head.hash, head.timestamp, safe_head)
        found = await self.client.block("latest", priority=priority)
        if found is None:
            raise upstream_errors.UpstreamUnavailable("no latest block", provider="rpc")
        safe = depth_safe_head(found.number, finality)
        safe_head = found.number if safe is None else safe
        return Tip(found.number, found.hash, found.timestamp, safe_head)

    async def _head_and_tag(
        self, tag: BlockTag, priority: upstreams.Priority
    ) -> tuple[BlockHeader, BlockHeader | None]:
        # One batch for both: a node may not know the tag (an error member), which is not fatal.
        calls = [
            upstreams.RpcCall("eth_getBlockByNumber", ["latest", False]),
            upstreams.RpcCall("eth_getBlockByNumber", [tag, False]),
        ]
        members = await self.client.batch(calls, convert=parse_block, priority=priority)
        head = members[0].payload if members[0].outcome is upstreams.Outcome.OK else None
        if head is None:
            raise upstream_errors.UpstreamUnavailable("no latest block", provider="rpc")
        tagged = members[1].payload if members[1].outcome is upstreams.Outcome.OK else None
        return head, tagged

    async def logs(self, lo: int, hi: int, priority: upstreams.Priority, meter: Meter) -> Fetched:
        meter.calls += 1
        fetched = Fetched(lo, hi)
        fetched.add(await self.client.get_logs(lo, hi, priority=priority))
        fetched.check_order()
        await fill_blocks(fetched, self, priority, meter)
        return fetched

    async def headers(
        self, numbers: Sequence[int], priority: upstreams.Priority, meter: Meter
    ) -> dict[int, BlockHeader]:
        meter.calls += -(-len(set(numbers)) // self.header_batch)  # one request per batch
        return await self.client.blocks(numbers, batch_size=self.header_batch, priority=priority)
