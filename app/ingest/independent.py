"""The independent fetch of reconciliation: a chain's transfers of a block window read by
another path than the one ingestion uses (``logs/getLogs`` or the ingesting RPC's
``eth_getLogs``), so a bug or gap on that path shows as a difference.

- Etherscan chains (ingested from ``logs/getLogs``): the token's ``account/tokentx``, paged;
  source ``etherscan:tokentx``. Its rows carry no log index (compared as multisets).
- explorer chains (Cronos) with an ``rpc_url``: the chain's JSON-RPC ``eth_getLogs``;
  source ``rpc:eth_getLogs``. Without one: the explorer's tokentx (``explorer:tokentx``,
  whose rows carry ``logIndex``).
- JSON-RPC chains: the same method again, ``rpc:eth_getLogs:same`` - a second read, not an
  independent one (docs/ingestion.md says what that can and cannot catch).
- any chain with a URL in ``TOKENPULSE_RECONCILE_RPC_URLS``: ``eth_getLogs`` on that second
  endpoint, ``rpc2:eth_getLogs`` (unless the source setting says ``tokentx``).

``TOKENPULSE_RECONCILE_SOURCE`` can force ``tokentx`` or ``rpc`` where the chain has it.
Every call is made at priority RECONCILIATION in the shared rate budget. A window too large
for one answer (a range refusal, or more rows than 10 tokentx pages) is split in halves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from app import upstreams
from app.config import Settings
from app.ingest import wiring
from app.ingest.compare import Entry, duplicated, entries
from app.ingest.sources import MAX_PAGES, PAGE_SIZE, EnvelopeSource, Meter, RpcSource, Source
from app.upstreams import errors as upstream_errors

PRIORITY = upstreams.Priority.RECONCILIATION


class Inconsistent(upstream_errors.UpstreamError):
    """The independent answer had items that would not parse, or named a log twice."""

    code = "upstream_inconsistent"


class Independent(Protocol):
    @property
    def source(self) -> str:
        """What reconciliation_runs.source records."""

    async def fetch(self, lo: int, hi: int, meter: Meter) -> list[Entry]: ...


@dataclass(frozen=True, slots=True)
class TokenTx:
    """``account/tokentx`` of the token over [lo, hi], every page (sort asc)."""

    client: upstreams.EtherscanClient | upstreams.ExplorerClient
    source: str

    async def fetch(self, lo: int, hi: int, meter: Meter) -> list[Entry]:
        return await _split(self._read, lo, hi, meter)

    async def _read(self, lo: int, hi: int, meter: Meter) -> list[Entry]:
        found: list[Entry] = []
        for page in range(1, MAX_PAGES + 1):
            meter.calls += 1
            batch = await self.client.token_transfers(
                lo, hi, page=page, offset=PAGE_SIZE, sort="asc", priority=PRIORITY
            )
            _check(batch.rejected, self.source)
            found += entries(batch.items)
            if batch.received < PAGE_SIZE:
                return _checked(found, self.source)
        raise upstream_errors.RangeTooLarge(
            f"blocks {lo}-{hi} hold more than {MAX_PAGES} pages", provider=self.source
        )


@dataclass(frozen=True, slots=True)
class RpcLogs:
    """JSON-RPC ``eth_getLogs`` of the token over [lo, hi] (one answer, no pages)."""

    client: upstreams.RpcClient
    source: str

    async def fetch(self, lo: int, hi: int, meter: Meter) -> list[Entry]:
        return await _split(self._read, lo, hi, meter)

    async def _read(self, lo: int, hi: int, meter: Meter) -> list[Entry]:
        meter.calls += 1
        batch = await self.client.get_logs(lo, hi, priority=PRIORITY)
        _check(batch.rejected, self.source)
        return _checked(entries(batch.items), self.source)


class Read(Protocol):
    async def __call__(self, lo: int, hi: int, meter: Meter) -> list[Entry]: ...


async def _split(read: Read, lo: int, hi: int, meter: Meter) -> list[Entry]:
    """``read(lo, hi)``, in halves (recursively) while the upstream says it is too large."""
    try:
        return await read(lo, hi, meter)
    except upstream_errors.RangeTooLarge:
        if hi <= lo:
            raise
    middle = (lo + hi) // 2
    return [*await _split(read, lo, middle, meter), *await _split(read, middle + 1, hi, meter)]


def _check(rejected: object, source: str) -> None:
    if rejected:
        raise Inconsistent("items that would not parse", provider=source)


def _checked(found: list[Entry], source: str) -> list[Entry]:
    if duplicated(found):
        raise Inconsistent("a log named twice", provider=source)
    return found


def for_source(source: Source, settings: Settings) -> Independent:
    """The independent source of a chain whose ingestion reads ``source`` (see above)."""
    wanted = settings.reconcile_source
    client = source.client if isinstance(source, RpcSource | EnvelopeSource) else None
    second = settings.reconcile_rpc_url_map.get(client.chain_id) if client else None
    if client is not None and second is not None and wanted != "tokentx":
        return second_rpc(client.gateway, client.chain_id, client.token, second, settings)
    if isinstance(source, RpcSource):
        return RpcLogs(source.client, "rpc:eth_getLogs:same")
    if not isinstance(source, EnvelopeSource):
        raise TypeError(f"no independent source for {type(source).__name__}")
    explorer = isinstance(source.client, upstreams.ExplorerClient)
    rpc_first = wanted == "rpc" or (wanted == "auto" and explorer)
    if rpc_first and source.rpc is not None:
        return RpcLogs(source.rpc.client, "rpc:eth_getLogs")
    return TokenTx(source.client, f"{source.kind}:tokentx")


def second_rpc(
    gateway: upstreams.Gateway, chain_id: int, token: str, url: str, settings: Settings
) -> RpcLogs:
    """``eth_getLogs`` on a second endpoint: the same HTTP client, limiter, breakers and retry
    policy as ingestion, its own key (the URL, paced and fingerprinted like a key)."""
    keys = upstreams.make_keys(f"rpc2-{chain_id}", (url,), wiring.rate_config(settings))
    pool = upstreams.KeyPool(keys, max_wait=settings.upstream_max_wait_seconds)
    other = dataclasses.replace(gateway, name=f"rpc2:{chain_id}", keys=pool)
    return RpcLogs(upstreams.RpcClient(other, chain_id=chain_id, token=token), "rpc2:eth_getLogs")
