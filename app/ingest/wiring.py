"""Build the upstream side of an Ingestor from the configuration: policies from Settings,
one gateway per provider and key set (Etherscan limits are per key, whatever the chain),
one per RPC endpoint, and each enabled chain's log source."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app import upstreams
from app.config import Config, Settings
from app.domain import Chain, ProviderKind
from app.ingest.sources import EnvelopeSource, RpcSource, Source


def rate_config(settings: Settings) -> upstreams.RateConfig:
    # The margin keeps two calls of one key more than a second apart at the provider even
    # when the network delays the first one more than the second.
    interval = 1.0 / settings.upstream_calls_per_second + settings.upstream_pacing_margin_seconds
    return upstreams.RateConfig(upstreams.KeyRate(interval, settings.upstream_daily_quota))


def retry_policy(settings: Settings) -> upstreams.RetryPolicy:
    return upstreams.RetryPolicy(
        max_attempts=settings.retry_max_attempts,
        base_seconds=settings.retry_base_seconds,
        cap_seconds=settings.retry_cap_seconds,
    )


def breaker_policy(settings: Settings) -> upstreams.BreakerPolicy:
    return upstreams.BreakerPolicy(
        fail_max=settings.breaker_fail_max, reset_seconds=settings.breaker_reset_seconds
    )


class Closable(Protocol):
    async def aclose(self) -> None: ...


NewGateway = Callable[[str, upstreams.KeyPool], upstreams.Gateway]


class Wiring:
    """One gateway per provider and key set, shared by the chains that use it."""

    def __init__(self, settings: Settings, new_gateway: NewGateway) -> None:
        self.settings = settings
        self._new_gateway = new_gateway
        self.gateways: dict[tuple[str, tuple[str, ...]], upstreams.Gateway] = {}

    def gateway(self, name: str, provider: str, secrets: tuple[str, ...]) -> upstreams.Gateway:
        """The gateway of one provider and key set, created once and then shared."""
        found = self.gateways.get((provider, secrets))
        if found is None:
            keys = upstreams.make_keys(provider, secrets, rate_config(self.settings))
            pool = upstreams.KeyPool(keys, max_wait=self.settings.upstream_max_wait_seconds)
            found = self.gateways[(provider, secrets)] = self._new_gateway(name, pool)
        return found

    def rpc(self, chain: Chain) -> RpcSource | None:
        if not chain.rpc_url:
            return None
        # The URL plays the key (it often embeds one): paced and fingerprinted like a key.
        gateway = self.gateway(f"rpc:{chain.id}", f"rpc-{chain.id}", (chain.rpc_url,))
        client = upstreams.RpcClient(gateway, chain_id=chain.id, token=chain.token_address)
        return RpcSource(client)

    def source(self, chain: Chain) -> Source:
        """Where ``chain``'s logs come from: JSON-RPC for rpc chains and those listed in
        TOKENPULSE_INGEST_RPC_CHAINS, else the chain's explorer API."""
        rpc = self.rpc(chain)
        wants_rpc = chain.provider is ProviderKind.RPC or chain.id in self.settings.rpc_log_chains
        if wants_rpc:
            if rpc is None:
                raise ValueError(
                    f"chain {chain.id} takes its logs from JSON-RPC but has no rpc_url"
                )
            return rpc
        client = self.envelope(chain)
        if client is None:
            raise ValueError(f"chain {chain.id} has no base_url")
        return EnvelopeSource(chain.provider.value, client, rpc)

    def envelope(self, chain: Chain) -> upstreams.EtherscanClient | upstreams.ExplorerClient | None:
        """The chain's explorer API client on its provider's shared gateway (None for rpc
        chains and when no base_url is configured)."""
        if chain.provider is ProviderKind.RPC or chain.base_url is None:
            return None
        kind = chain.provider.value
        gateway = self.gateway(kind, kind, chain.api_keys)
        client_type = (
            upstreams.EtherscanClient
            if chain.provider is ProviderKind.ETHERSCAN
            else upstreams.ExplorerClient
        )
        return client_type(
            gateway, base_url=chain.base_url, chain_id=chain.id, token=chain.token_address
        )


def build(
    config: Config,
    ledger: upstreams.BudgetLedger,
    transport: upstreams.Transport | None = None,
) -> tuple[Closable, Wiring, dict[int, Source]]:
    """The HTTP client (close it when done), the gateways and every enabled chain's source."""
    settings = config.settings
    http = upstreams.new_http_client(timeout=settings.upstream_timeout_seconds, transport=transport)
    limiter = upstreams.Limiter(ledger, max_wait=settings.upstream_max_wait_seconds)
    breakers = upstreams.Breakers(breaker_policy(settings))
    policy = retry_policy(settings)

    def new_gateway(name: str, keys: upstreams.KeyPool) -> upstreams.Gateway:
        return upstreams.Gateway(name, http, keys, limiter, breakers, policy)

    wiring = Wiring(settings, new_gateway)
    return http, wiring, {chain.id: wiring.source(chain) for chain in config.enabled_chains}
