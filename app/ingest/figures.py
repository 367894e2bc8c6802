"""Fetch what the upstreams say about the token, per enabled chain, and append it to
``upstream_figures`` (app.store.figures): the explorers' side of the validation suite and the
last-known-good values the API falls back on.

Per chain, three figures, each one attempt row whether it worked or not:

| figure | etherscan chains | explorer (Cronos) | rpc chains |
| --- | --- | --- | --- |
| supply | ``stats/tokensupply`` | ``stats/tokensupply`` | ``eth_call totalSupply()`` |
| holders | ``token/tokenholdercount`` (PRO) | not offered | not offered |
| transfers | ``account/tokentx`` rows in a window | the explorer's ``tokentx`` | ``eth_getLogs`` |

An upstream failure is never raised and never becomes a 0: it is a row with ``ok = false`` and
the error's stable code (``upstream_not_on_plan`` for a Free key asking a PRO endpoint,
``not_offered`` where the provider has no such figure). Calls go through the ingestor's
gateways, so they share the rate budget, at priorities below the tip's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from app import upstreams
from app.domain import Chain, Figure, ProviderKind
from app.ingest.runtime import Ingestor
from app.store import coverage, figures, ingest_status
from app.store import pool as store_pool
from app.store.figures import FigureAttempt
from app.upstreams import counts
from app.upstreams.errors import UpstreamError

log = logging.getLogger(__name__)
NOT_OFFERED = "not_offered"  # the provider has no such figure: not a failure to retry
Window = tuple[int, int]  # inclusive blocks


@dataclass(slots=True)
class _Meter:
    calls: int = 0


@dataclass(frozen=True, slots=True)
class Clients:
    """Who can answer for one chain: its explorer API client and/or its node."""

    envelope: upstreams.EtherscanClient | upstreams.ExplorerClient | None
    rpc: upstreams.RpcClient | None


def pick_window(ranges: Sequence[Window], safe_head: int, span: int, first_block: int) -> Window:
    """The block window whose transfers both sides count: it ends at our highest covered block
    at or below the finality point (both sides final there) and stays inside that covered
    range, so our count is complete; with no coverage, the span below the finality point."""
    below = [(lo, min(hi, safe_head)) for lo, hi in ranges if lo <= safe_head]
    if below:
        lo, hi = below[-1]
        return max(lo, hi - span + 1), hi
    hi = max(first_block, safe_head)
    return max(first_block, hi - span + 1), hi


def window_blocks(chain: Chain, hours: float) -> int:
    return max(1, math.ceil(hours * 3600 / chain.block_time_seconds))


async def fetch_all(
    ingestor: Ingestor, chain_ids: Sequence[int] | None = None
) -> list[FigureAttempt]:
    """Fetch and append every figure of the enabled chains (or of ``chain_ids``), chains side
    by side (the gateways pace them), then prune history past its keep; returns the attempts
    appended."""
    chains = [c for c in ingestor.config.enabled_chains if chain_ids is None or c.id in chain_ids]
    done = await asyncio.gather(*(fetch_chain(ingestor, chain) for chain in chains))
    async with store_pool.transaction(ingestor.pool) as conn:
        await figures.prune(conn)
    return [attempt for attempts in done for attempt in attempts]


async def fetch_chain(ingestor: Ingestor, chain: Chain) -> list[FigureAttempt]:
    """One chain's figures, appended in one transaction; store errors are raised."""
    clients = clients_of(ingestor, chain)
    attempts = [
        await supply(chain, clients),
        await holders(chain, clients),
        await transfers(ingestor, chain, clients),
    ]
    async with store_pool.transaction(ingestor.pool) as conn:
        for attempt in attempts:
            await figures.append(conn, attempt)
    failed = {a.figure.value: a.error for a in attempts if not a.ok}
    log.info("token figures", extra={"chain_id": chain.id, "failed": failed})
    return attempts


def clients_of(ingestor: Ingestor, chain: Chain) -> Clients:
    wiring = ingestor.wiring
    if wiring is None:
        raise RuntimeError("this ingestor has no upstream wiring")
    rpc = wiring.rpc(chain)
    return Clients(wiring.envelope(chain), None if rpc is None else rpc.client)


async def supply(chain: Chain, clients: Clients) -> FigureAttempt:
    if clients.envelope is not None:
        return await attempt(chain, Figure.SUPPLY, source_of(chain), clients.envelope.token_supply)
    if clients.rpc is not None:
        return await attempt(chain, Figure.SUPPLY, "rpc", clients.rpc.total_supply)
    return not_offered(chain, Figure.SUPPLY)


async def holders(chain: Chain, clients: Clients) -> FigureAttempt:
    if isinstance(clients.envelope, upstreams.EtherscanClient):
        return await attempt(chain, Figure.HOLDERS, "etherscan", clients.envelope.holder_count)
    return not_offered(chain, Figure.HOLDERS)


async def transfers(ingestor: Ingestor, chain: Chain, clients: Clients) -> FigureAttempt:
    source = source_of(chain) if clients.envelope is not None else "rpc"
    try:
        lo, hi = await window(ingestor, chain)
    except UpstreamError as exc:  # no finality point known and none to be had
        return failed(chain, Figure.TRANSFERS, source, exc)
    count: Callable[[], Awaitable[int]]
    if clients.envelope is not None:
        count = functools.partial(counts.count_token_transfers, clients.envelope, lo, hi)
    elif clients.rpc is not None:
        count = functools.partial(counts.count_rpc_transfers, clients.rpc, lo, hi)
    else:
        return not_offered(chain, Figure.TRANSFERS)
    return await attempt(chain, Figure.TRANSFERS, source, count, (lo, hi))


async def window(ingestor: Ingestor, chain: Chain) -> Window:
    """The window to count (see :func:`pick_window`); the finality point comes from the last
    tip cycle, or from the upstream when no cycle ran yet."""
    async with store_pool.transaction(ingestor.pool) as conn:
        status = await ingest_status.find(conn, chain.id)
        ranges = await coverage.list_ranges(conn, chain.id)
    safe = None if status is None else status.safe_head
    if safe is None:
        source = ingestor.sources[chain.id]
        tip = await source.tip(chain.finality, upstreams.Priority.RECONCILIATION, _Meter())
        safe = tip.safe_head
    span = window_blocks(chain, ingestor.config.settings.figures_window_hours)
    return pick_window(ranges, safe, span, chain.first_block)


async def attempt(
    chain: Chain,
    figure: Figure,
    source: str,
    fetch: Callable[[], Awaitable[int]],
    blocks: Window | None = None,
) -> FigureAttempt:
    """``fetch()`` as an attempt row: its value, or the upstream error's code and text."""
    lo, hi = blocks or (None, None)
    try:
        value = await fetch()
    except UpstreamError as exc:
        return failed(chain, figure, source, exc, blocks)
    return FigureAttempt(chain.id, figure, source, value=value, block_lo=lo, block_hi=hi)


def failed(
    chain: Chain, figure: Figure, source: str, exc: UpstreamError, blocks: Window | None = None
) -> FigureAttempt:
    # The message is built from redacted text only (app.upstreams.errors); redact again
    # anyway: it is about to be stored.
    detail = upstreams.redact(str(exc))
    log.warning(
        "token figure failed",
        extra={"chain_id": chain.id, "figure": figure.value, "code": exc.code, "error": detail},
    )
    lo, hi = blocks or (None, None)
    return FigureAttempt(
        chain.id, figure, source, error=exc.code, detail=detail, block_lo=lo, block_hi=hi
    )


def not_offered(chain: Chain, figure: Figure) -> FigureAttempt:
    detail = f"{chain.provider.value} chains offer no {figure.value} figure"
    return FigureAttempt(chain.id, figure, source_of(chain), error=NOT_OFFERED, detail=detail)


def source_of(chain: Chain) -> str:
    return "rpc" if chain.provider is ProviderKind.RPC else chain.provider.value
