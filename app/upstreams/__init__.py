"""The upstream access layer: the only package that talks to explorers and nodes.

Layering: this package imports app.config/app.domain/app.errors only; the store is a
sibling, so the PostgreSQL rate ledger is wired in by app.ingest through the
:class:`BudgetLedger` protocol. Only this package imports httpx, aiolimiter and aiobreaker.

Wiring, once per process (in the worker's lifespan)::

    http = upstreams.new_http_client()
    ledger = <a BudgetLedger: app.ingest's adapter over app.store.budget, or InMemoryLedger()>
    limiter = upstreams.Limiter(ledger)
    breakers = upstreams.Breakers()
    keys = upstreams.KeyPool(upstreams.make_keys("etherscan", chain.api_keys, rate))
    gateway = upstreams.Gateway("etherscan", http, keys, limiter, breakers)
    client = upstreams.EtherscanClient(gateway, base_url=..., chain_id=..., token=...)
    batch = await client.get_logs(from_block, to_block, priority=upstreams.Priority.TIP)

One Gateway (and KeyPool) per provider, shared by all chains that use it: Etherscan limits
are per key, whatever the chain. One Limiter and one Breakers for the whole process.
"""

from app.upstreams._budget import (
    ApiKey,
    BudgetLedger,
    InMemoryLedger,
    KeyRate,
    Priority,
    RateConfig,
    Reservation,
    fingerprint,
    make_keys,
    seconds_to_midnight,
)
from app.upstreams._classify import Classified, Outcome
from app.upstreams._gateway import Gateway, Transport, new_http_client
from app.upstreams._keys import BackoffReason, KeyPool, KeyStatus
from app.upstreams._limiter import Limiter, PriorityGate
from app.upstreams._redact import redact
from app.upstreams._resilience import BreakerPolicy, Breakers, BreakerState, RetryPolicy
from app.upstreams.errors import NotOnPlan
from app.upstreams.etherscan import EtherscanClient
from app.upstreams.explorer import ExplorerClient
from app.upstreams.rpc import RpcCall, RpcClient

__all__ = [
    "ApiKey",
    "BackoffReason",
    "BreakerPolicy",
    "BreakerState",
    "Breakers",
    "BudgetLedger",
    "Classified",
    "EtherscanClient",
    "ExplorerClient",
    "Gateway",
    "InMemoryLedger",
    "KeyPool",
    "KeyRate",
    "KeyStatus",
    "Limiter",
    "NotOnPlan",
    "Outcome",
    "Priority",
    "PriorityGate",
    "RateConfig",
    "Reservation",
    "RetryPolicy",
    "RpcCall",
    "RpcClient",
    "Transport",
    "fingerprint",
    "make_keys",
    "new_http_client",
    "redact",
    "seconds_to_midnight",
]
