"""Finality probes: each enabled chain's latest, safe and finalized blocks, recorded per run.

The ``finality`` job (schedulers.jobs) calls :func:`observe_all` every
TOKENPULSE_FINALITY_INTERVAL_SECONDS. Each chain is asked through the cheapest source it has,
on the ingestion gateways (same rate budget and breakers, priority RECONCILIATION: below the
tip cycles, above backfill):

================================  =====================================================  =====
source                            what is asked                                          calls
================================  =====================================================  =====
``rpc`` (the chain has rpc_url)   one JSON-RPC batch: latest, safe, finalized headers    1
``etherscan``                     proxy eth_getBlockByNumber latest, then the chain's    1-2
                                  finality tag (``finalized`` or ``safe``)
``explorer`` (no rpc_url)         block/eth_block_number: the latest number only         1
================================  =====================================================  =====

Where the source does not give a block, the chain's configured finality fills it: ``instant``
chains are final at the latest block, ``depth:N`` ones N blocks below it. Every probe is a
row of ``finality_observations``, failures included (``ok`` false, the upstream error's code
as ``outcome``): the API serves finality and the SLA statistics from those rows alone.
``latency_ms`` is the wall time of the whole probe as this worker waited for it, pacing and
retries included.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app import upstreams
from app.domain import Chain, FinalityKind
from app.errors import TokenpulseError
from app.ingest.runtime import Ingestor
from app.store import finality as store_finality
from app.store import pool as store_pool
from app.store.finality import Observation
from app.upstreams import errors as upstream_errors
from app.upstreams.parse import BlockHeader, parse_block

log = logging.getLogger(__name__)
PRIORITY = upstreams.Priority.RECONCILIATION
DETAIL_CHARS = 300


class Probe:
    """What one source said: headers by role (None: not asked, or unknown to the node)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.latest: int | None = None
        self.latest_time: datetime | None = None
        self.safe: BlockHeader | None = None
        self.finalized: BlockHeader | None = None


async def observe_all(ingestor: Ingestor) -> list[Observation]:
    """Probe every enabled chain (concurrently; the gateways pace them) and store the rows."""
    chains = ingestor.config.enabled_chains
    found = await asyncio.gather(*(observe_chain(ingestor, chain) for chain in chains))
    async with store_pool.transaction(ingestor.pool) as conn:
        await store_finality.insert_observations(conn, found)
    return list(found)


async def observe_chain(ingestor: Ingestor, chain: Chain) -> Observation:
    """One probe of ``chain``; an upstream failure is an observation too, never raised."""
    observed_at, started = datetime.now(UTC), time.perf_counter()
    probe = Probe(source_of(ingestor, chain))
    try:
        await _ask(ingestor, chain, probe)
    except TokenpulseError as exc:
        latency = (time.perf_counter() - started) * 1000
        return failed(chain, probe.source, observed_at, latency, exc)
    latency = (time.perf_counter() - started) * 1000
    return observation(chain, probe, observed_at, latency)


def source_of(ingestor: Ingestor, chain: Chain) -> str:
    if chain.rpc_url:
        return "rpc"
    return chain.provider.value


async def _ask(ingestor: Ingestor, chain: Chain, probe: Probe) -> None:
    wiring = ingestor.wiring
    if wiring is None:
        raise RuntimeError("this ingestor has no upstream wiring")
    rpc = wiring.rpc(chain)
    if rpc is not None:
        await _ask_rpc(rpc.client, probe)
        return
    client = wiring.envelope(chain)
    if isinstance(client, upstreams.EtherscanClient):
        await _ask_etherscan(client, chain, probe)
    elif client is not None:
        probe.latest = await client.block_number(priority=PRIORITY)
    else:
        raise upstream_errors.UpstreamRefused("no source for finality", provider=probe.source)


async def _ask_rpc(client: upstreams.RpcClient, probe: Probe) -> None:
    calls = [upstreams.RpcCall("eth_getBlockByNumber", [tag, False]) for tag in TAGS]
    members = await client.batch(calls, convert=parse_block, priority=PRIORITY)
    latest, safe, finalized = (
        member.payload if member.outcome is upstreams.Outcome.OK else None for member in members
    )
    if not isinstance(latest, BlockHeader):
        raise upstream_errors.UpstreamUnavailable("no latest block", provider="rpc")
    probe.latest, probe.latest_time = latest.number, latest.timestamp
    probe.safe = safe if isinstance(safe, BlockHeader) else None
    probe.finalized = finalized if isinstance(finalized, BlockHeader) else None


TAGS = ("latest", "safe", "finalized")


async def _ask_etherscan(client: upstreams.EtherscanClient, chain: Chain, probe: Probe) -> None:
    latest = await client.block("latest", priority=PRIORITY)
    if latest is None:
        raise upstream_errors.UpstreamUnavailable("no latest block", provider="etherscan")
    probe.latest, probe.latest_time = latest.number, latest.timestamp
    if chain.finality.kind is FinalityKind.FINALIZED:
        probe.finalized = await client.block("finalized", priority=PRIORITY)
    elif chain.finality.kind is FinalityKind.SAFE:
        probe.safe = await client.block("safe", priority=PRIORITY)


def observation(chain: Chain, probe: Probe, observed_at: datetime, latency: float) -> Observation:
    """The row of a successful probe; the configured finality fills what the source lacks."""
    assert probe.latest is not None  # _ask raised otherwise
    latest = probe.latest
    finalized_block, finalized_time = _header(probe.finalized)
    safe_block, _ = _header(probe.safe)
    kind = chain.finality.kind
    if finalized_block is None and kind is FinalityKind.INSTANT:
        finalized_block, finalized_time = latest, probe.latest_time
    elif finalized_block is None and kind is FinalityKind.DEPTH:
        finalized_block = max(0, latest - chain.finality.depth)
    return Observation(
        observed_at=observed_at,
        chain_id=chain.id,
        source=probe.source,
        ok=True,
        latency_ms=round(max(0.0, latency), 3),
        latest_block=latest,
        safe_block=None if safe_block is None else min(safe_block, latest),
        finalized_block=None if finalized_block is None else min(finalized_block, latest),
        latest_time=probe.latest_time,
        finalized_time=finalized_time,
        outcome="ok",
        detail=None,
    )


def failed(
    chain: Chain, source: str, observed_at: datetime, latency: float, exc: TokenpulseError
) -> Observation:
    # Upstream errors carry redacted messages (never a key or URL); truncate them all the same.
    return Observation(
        observed_at=observed_at,
        chain_id=chain.id,
        source=source,
        ok=False,
        latency_ms=round(max(0.0, latency), 3),
        outcome=exc.code,
        detail=exc.message[:DETAIL_CHARS],
    )


def _header(header: BlockHeader | None) -> tuple[int | None, datetime | None]:
    return (None, None) if header is None else (header.number, header.timestamp)


async def prune(ingestor: Ingestor, keep_days: int) -> int:
    """Delete observations older than ``keep_days``."""
    before = datetime.now(UTC) - timedelta(days=keep_days)
    async with store_pool.transaction(ingestor.pool) as conn:
        return await store_finality.delete_before(conn, before)


def summary(found: Sequence[Observation]) -> dict[str, object]:
    """The job's log fields: how many probes failed, and which chains."""
    failures = [row.chain_id for row in found if not row.ok]
    return {"chains": len(found), "failed": len(failures), "failed_chains": failures}
