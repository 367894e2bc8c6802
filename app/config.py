"""Settings from the environment (prefix ``TOKENPULSE_``) plus the chains file.

This is the only module that reads ``os.environ``. Every problem is reported as a
:class:`~app.errors.ConfigError` naming the setting, so the CLI can stop with one line.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain import ADDRESS_RE, Chain, Finality, ProviderKind, Token
from app.errors import ConfigError

ENV_PREFIX = "TOKENPULSE_"
# An origin as a browser sends it: http(s), a DNS name, IPv4 or bracketed IPv6, a port.
_ORIGIN = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])"
    r"(:(?P<port>[0-9]{1,5}))?",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
DEMO_KEY = "demo-free-key"  # what the embedded simulator accepts; never a real credential
DEMO_SIMULATOR_URL = "http://127.0.0.1:9545"  # where `tokenpulse demo` serves its simulator
PRICE_SOURCES = ("coingecko", "coinmarketcap", "dexscreener", "coinpaprika")
# Every key the chains file may hold (docs/configuration.md documents each; a test checks).
# Anything else is refused: a misspelt `first_blok` must not silently fall back to a default.
TOKEN_KEYS = frozenset({"address", "name", "symbol", "decimals"})
CHAIN_KEYS = frozenset(
    {
        "id", "name", "slug", "enabled", "provider", "token", "decimals", "base_url", "rpc_url",
        "api_keys_env", "first_block", "finality", "block_time_seconds",
    }
)  # fmt: skip


class Settings(BaseSettings):
    """Process settings; each field is documented in docs/configuration.md (a test checks)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: SecretStr | None = None
    schema_mode: Literal["auto", "timescale", "portable"] = "auto"
    chains_file: Path | None = None
    data_dir: Path = Path(".tokenpulse")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    graphiql: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    log_file: Path | None = None
    log_max_bytes: int = Field(default=50_000_000, ge=0)
    log_backup_count: int = Field(default=5, ge=0)
    # Rotate the log file by time instead of size: TimedRotatingFileHandler's `when`
    # (S, M, H, D or midnight, and W0-W6 for a weekday), every log_rotate_interval of them.
    log_rotate_when: (
        Literal["S", "M", "H", "D", "midnight", "W0", "W1", "W2", "W3", "W4", "W5", "W6"] | None
    ) = None
    log_rotate_interval: int = Field(default=1, ge=1)
    db_pool_min_size: int = Field(default=1, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    leader_lock_key: int = 0x746F6B70  # "tokp"
    leader_poll_seconds: float = Field(default=2.0, gt=0, le=10)
    worker_heartbeat_seconds: float = Field(default=5.0, gt=0)
    simulator_url: str | None = None
    demo_pg_port: int | None = Field(default=None, ge=1, le=65535)
    ingest_interval_seconds: float = Field(default=30.0, gt=0)
    ingest_jitter_seconds: float = Field(default=5.0, ge=0)
    backfill_interval_seconds: float = Field(default=60.0, gt=0)
    backfill_run_seconds: float = Field(default=45.0, gt=0)
    # Rows a backfill buffers before it commits them with their coverage (app/ingest/ranges.py).
    backfill_commit_rows: int = Field(default=20_000, ge=1, le=200_000)
    warm_fresh_seconds: float = Field(default=120.0, gt=0)
    warm_stale_seconds: float = Field(default=900.0, gt=0)
    # Upstream pacing and resilience (app.ingest.wiring turns these into upstreams policies).
    upstream_calls_per_second: float = Field(default=1.0, gt=0)
    upstream_daily_quota: int | None = Field(default=None, ge=1)
    upstream_pacing_margin_seconds: float = Field(default=0.05, ge=0, le=1)
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    upstream_max_wait_seconds: float = Field(default=60.0, gt=0)
    retry_max_attempts: int = Field(default=5, ge=1, le=20)
    retry_base_seconds: float = Field(default=1.0, ge=0)
    retry_cap_seconds: float = Field(default=60.0, ge=0)
    breaker_fail_max: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=30.0, gt=0)
    # Ingestion windows, the tip's cold start, the reorg check, the log source per chain.
    ingest_initial_window_blocks: int = Field(default=10_000, ge=1)
    ingest_max_window_blocks: int = Field(default=1_000_000, ge=1)
    ingest_tip_start_blocks: int = Field(default=10_000, ge=0)
    ingest_reorg_check_blocks: int = Field(default=12, ge=1, le=1000)
    ingest_failure_backoff_seconds: float = Field(default=30.0, ge=0)
    ingest_failure_backoff_cap_seconds: float = Field(default=900.0, ge=0)
    ingest_rpc_chains: str | None = None
    # Reconciliation (app.ingest.reconcile): sampled final windows re-read from another source.
    reconcile_interval_seconds: float = Field(default=900.0, gt=0)
    reconcile_windows: int = Field(default=3, ge=0, le=100)  # per chain and run; 0: off
    reconcile_window_blocks: int = Field(default=1_000, ge=1, le=1_000_000)
    reconcile_seed: int | None = None
    reconcile_source: Literal["auto", "tokentx", "rpc"] = "auto"
    reconcile_rpc_urls: SecretStr | None = None  # "137=https://…,25=https://…": URLs embed keys
    # Upstream token figures (app.ingest.figures) and the validation suite (app.ops.validation).
    figures_interval_seconds: float = Field(default=900.0, gt=0)
    figures_window_hours: float = Field(default=24.0, gt=0)
    validate_hour_utc: int = Field(default=3, ge=0, le=23)
    validate_threshold: float = Field(default=0.02, ge=0, le=1)
    # Analytics aggregates (app.ingest.aggregates): refresh job interval, hourly retention.
    analytics_refresh_seconds: float = Field(default=60.0, gt=0)
    analytics_hourly_retention_days: int = Field(default=90, ge=1)
    # The analytics refresh's own statement timeout: after UTC midnight it rebuilds the
    # precomputed windows, one statement grouping up to 90 days of per-address rows per window
    # (26 s at 10 M transfers: docs/performance.md), which the requests' 15 s cancelled.
    analytics_refresh_timeout_ms: int = Field(default=900_000, ge=0)
    # Prices (app.ingest.prices, docs/prices.md): the sources the worker's prices job polls.
    price_sources: str = "coingecko,coinmarketcap,dexscreener,coinpaprika"
    price_interval_seconds: float = Field(default=60.0, ge=5)
    price_timeout_seconds: float = Field(default=10.0, gt=0)
    price_max_attempts: int = Field(default=2, ge=1, le=5)
    price_stale_seconds: float = Field(default=600.0, gt=0)
    price_max_deviation: float = Field(default=0.05, gt=0, le=1)
    price_coingecko_url: str = "https://api.coingecko.com/api/v3"
    price_coingecko_id: str = "bazaars"
    price_coingecko_api_key: SecretStr | None = None
    price_cmc_url: str = "https://pro-api.coinmarketcap.com"
    price_cmc_id: int = Field(default=29_452, ge=1)
    price_cmc_api_key: SecretStr | None = None
    price_dexscreener_url: str = "https://api.dexscreener.com"
    price_coinpaprika_url: str = "https://api.coinpaprika.com"
    price_coinpaprika_id: str = "bzr-bazaars"
    # The API's response caches (app.ops.transfer_service): how long an entry may be served.
    # Entries are also dropped as soon as the worker announces a batch of their chain.
    cache_ttl_transfers_seconds: float = Field(default=15.0, ge=0)
    cache_ttl_totals_seconds: float = Field(default=300.0, ge=0)
    cache_ttl_address_seconds: float = Field(default=60.0, ge=0)
    cache_ttl_search_seconds: float = Field(default=30.0, ge=0)
    cache_ttl_chains_seconds: float = Field(default=30.0, ge=0)
    cache_ttl_holders_seconds: float = Field(default=60.0, ge=0)
    cache_ttl_analytics_seconds: float = Field(default=60.0, ge=0)
    cache_max_entries: int = Field(default=10_000, ge=1)
    # Alerting (app.alerting, docs/alerts.md): evaluation by the leader, Slack and email delivery.
    alert_evaluate_seconds: float = Field(default=15.0, gt=0, le=30)
    alert_deliver_seconds: float = Field(default=5.0, gt=0)
    alert_pending_seconds: float = Field(default=60.0, ge=0)  # a condition holds this long first
    alert_renotify_seconds: float = Field(default=0.0, ge=0)  # critical ones again; 0: never
    alert_rate_limit_window_seconds: float = Field(default=300.0, gt=0)
    alert_rate_limit_hits: int = Field(default=20, ge=1)
    alert_worker_heartbeat_seconds: float = Field(default=60.0, gt=0)
    alert_worker_stalled_seconds: float = Field(default=900.0, gt=0)
    alert_breaker_open_seconds: float = Field(default=300.0, ge=0)
    alert_price_window_seconds: float = Field(default=600.0, gt=0)
    alert_db_unreachable_seconds: float = Field(default=30.0, ge=0)
    alert_retry_base_seconds: float = Field(default=10.0, gt=0)
    alert_retry_cap_seconds: float = Field(default=600.0, gt=0)
    alert_max_attempts: int = Field(default=12, ge=1)
    alert_timeout_seconds: float = Field(default=10.0, gt=0)
    alert_slack_webhook_url: SecretStr | None = None
    alert_smtp_host: str | None = None
    alert_smtp_port: int = Field(default=587, ge=1, le=65535)
    alert_smtp_user: str | None = None
    alert_smtp_password: SecretStr | None = None
    alert_smtp_from: str | None = None
    alert_smtp_to: str | None = None  # comma-separated addresses
    alert_smtp_starttls: bool = True
    cors_origins: str = "http://localhost:5173,http://localhost:3000"
    # API hardening (docs/security.md): GraphQL limits, request sizes, per-client rate limit.
    graphql_max_depth: int = Field(default=10, ge=1, le=100)
    graphql_max_aliases: int = Field(default=15, ge=0)
    graphql_max_cost: int = Field(default=50_000, ge=1)
    graphql_introspection: bool = True
    max_body_bytes: int = Field(default=65_536, ge=1_024)
    max_url_bytes: int = Field(default=4_096, ge=256)
    rate_limit_per_second: float = Field(default=20.0, ge=0)  # per client; 0: no limit
    rate_limit_burst: int = Field(default=200, ge=1)
    trusted_proxies: str = ""  # IPs/CIDRs whose X-Forwarded-For is believed; empty: none
    # Admin operations (app.ops.admin_auth): a bearer token; unset turns them off.
    admin_token: SecretStr | None = None
    # Finality probes (app.ingest.finality), their API cache, the SLA log line (app.ops.sla).
    finality_interval_seconds: float = Field(default=60.0, gt=0)
    finality_retention_days: int = Field(default=30, ge=1)
    cache_ttl_finality_seconds: float = Field(default=15.0, ge=0)
    sla_log_interval_seconds: float = Field(default=300.0, gt=0)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        # "*" or scheme://host[:port] each: a path or a typo must stop the process at start,
        # not leave a browser refused with no explanation.
        parts = (part.strip() for part in value.split(","))
        return ",".join(origin(part) for part in parts if part)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        # A typo must stop the process at start, not leave every client behind one proxy
        # sharing one rate-limit bucket. "10.0.0.1, 10.1.0.0/16" -> "10.0.0.1/32,10.1.0.0/16".
        parts = (part.strip() for part in value.split(","))
        return ",".join(str(ipaddress.ip_network(part, strict=False)) for part in parts if part)

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Peers whose X-Forwarded-For names the client (docs/security.md)."""
        return tuple(ipaddress.ip_network(part) for part in self.trusted_proxies.split(",") if part)

    @field_validator("price_sources")
    @classmethod
    def _price_sources(cls, value: str) -> str:
        # A misspelt source would silently never be polled: refuse it at start.
        parts = [part.strip().lower() for part in value.split(",") if part.strip()]
        unknown = sorted(set(parts) - set(PRICE_SOURCES))
        if unknown:
            raise ValueError(f"unknown price source {unknown[0]!r} (expected {PRICE_SOURCES})")
        return ",".join(dict.fromkeys(parts))

    @property
    def price_source_list(self) -> tuple[str, ...]:
        """The enabled price sources, in configuration order."""
        return tuple(part for part in self.price_sources.split(",") if part)

    @field_validator("ingest_rpc_chains")
    @classmethod
    def _chain_id_list(cls, value: str | None) -> str | None:
        # "25, 137" -> "25,137"; anything but comma-separated chain ids is refused.
        if value is None or not value.strip():
            return None
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() and int(part) > 0 for part in parts):
            raise ValueError("expected comma-separated chain ids, e.g. 25,137")
        return ",".join(str(int(part)) for part in parts)

    @field_validator("reconcile_rpc_urls")
    @classmethod
    def _chain_urls(cls, value: SecretStr | None) -> SecretStr | None:
        # Refused here rather than at the first reconcile run; the message never shows a URL.
        if value is not None and value.get_secret_value().strip():
            _chain_url_map(value.get_secret_value())
            return value
        return None

    @property
    def reconcile_rpc_url_map(self) -> dict[int, str]:
        """A second JSON-RPC URL per chain for reconciliation's independent fetch."""
        if self.reconcile_rpc_urls is None:
            return {}
        return _chain_url_map(self.reconcile_rpc_urls.get_secret_value())

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        """Origins allowed by CORS (``*``: any)."""
        return tuple(part.strip() for part in self.cors_origins.split(",") if part.strip())

    @property
    def rpc_log_chains(self) -> frozenset[int]:
        """Chains whose transfer logs come from their rpc_url (JSON-RPC eth_getLogs)."""
        text = self.ingest_rpc_chains or ""
        return frozenset(int(part) for part in text.split(",") if part)


def _chain_url_map(text: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for part in (part.strip() for part in text.split(",") if part.strip()):
        chain, _, url = part.partition("=")
        chain, url = chain.strip(), url.strip()
        if not (chain.isdigit() and int(chain) > 0 and url.startswith(("http://", "https://"))):
            raise ValueError("expected chain id=http(s) URL pairs, e.g. 137=https://rpc.example")
        found[int(chain)] = url.rstrip("/")
    return found


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a process needs to start: settings, the token and its chains."""

    settings: Settings
    token: Token
    chains: tuple[Chain, ...]

    @property
    def enabled_chains(self) -> tuple[Chain, ...]:
        return tuple(chain for chain in self.chains if chain.enabled)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, so logs can redact them."""
        keys = [key for chain in self.chains for key in chain.api_keys]
        if self.settings.database_url is not None:
            keys.append(self.settings.database_url.get_secret_value())
        keys += self.settings.reconcile_rpc_url_map.values()
        price_keys = (self.settings.price_coingecko_api_key, self.settings.price_cmc_api_key)
        keys += [key.get_secret_value() for key in price_keys if key is not None]
        keys += alert_secrets(self.settings)
        if self.settings.admin_token is not None:
            keys.append(self.settings.admin_token.get_secret_value())
        return tuple(sorted(set(keys), key=len, reverse=True))


def alert_secrets(settings: Settings) -> list[str]:
    """The alert channels' secrets: the webhook URL (it is the credential) and SMTP password."""
    found = (settings.alert_slack_webhook_url, settings.alert_smtp_password)
    return [secret.get_secret_value() for secret in found if secret is not None]


def origin(text: str) -> str:
    """``text`` as browsers send it in ``Origin`` (``*`` stays), or ValueError saying why.

    Browsers send the scheme and host in lower case and leave out a default port, and both the
    CORS middleware and the GraphQL WebSocket check compare with what they send: a configured
    ``https://App.example.org:443`` is stored as ``https://app.example.org``.
    """
    if text == "*":
        return text
    found = _ORIGIN.match(text)
    rest = text[found.end() :] if found else ""
    if found is not None and rest[:1] in ("/", "?", "#"):
        raise ValueError(
            f"{text!r} has {rest!r} after the origin: an origin is scheme://host[:port],"
            " with no path, not even a trailing /"
        )
    if found is None or rest:
        raise ValueError(f"{text!r} is not an origin like https://example.org:8080 (or *)")
    scheme, host = found["scheme"].lower(), found["host"].lower()
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{text!r}: {host} is not an IPv6 address") from None
    port = None if found["port"] is None else int(found["port"])
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{text!r}: port {port} is not from 1 to 65535")
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def load(
    environ: Mapping[str, str] | None = None, *, demo: bool = False, **overrides: Any
) -> Config:
    """Load and validate the whole configuration, or raise ConfigError naming the setting.

    ``demo`` fills what a fresh machine lacks (simulator URL and its demo keys) so that
    ``tokenpulse demo`` starts with no environment at all; real deployments never set it.
    """
    env = dict(os.environ if environ is None else environ)
    settings = _settings(env, overrides)
    if settings.db_pool_min_size > settings.db_pool_max_size:
        raise ConfigError(
            "TOKENPULSE_DB_POOL_MIN_SIZE",
            f"{settings.db_pool_min_size} exceeds TOKENPULSE_DB_POOL_MAX_SIZE"
            f" ({settings.db_pool_max_size})",
        )
    if settings.warm_fresh_seconds > settings.warm_stale_seconds:
        raise ConfigError(
            "TOKENPULSE_WARM_FRESH_SECONDS",
            f"{settings.warm_fresh_seconds} exceeds TOKENPULSE_WARM_STALE_SECONDS"
            f" ({settings.warm_stale_seconds})",
        )
    if settings.ingest_initial_window_blocks > settings.ingest_max_window_blocks:
        raise ConfigError(
            "TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS",
            f"{settings.ingest_initial_window_blocks} exceeds TOKENPULSE_INGEST_MAX_WINDOW_BLOCKS"
            f" ({settings.ingest_max_window_blocks})",
        )
    if demo and settings.simulator_url is None:
        settings = settings.model_copy(update={"simulator_url": DEMO_SIMULATOR_URL})
    token, raw_chains = _read_chains_file(settings.chains_file)
    chains = tuple(
        _chain(index, raw, token, env, settings.simulator_url, demo)
        for index, raw in enumerate(raw_chains)
    )
    _check_unique(chains)
    return Config(settings=settings, token=token, chains=chains)


def _settings(env: Mapping[str, str], overrides: Mapping[str, Any]) -> Settings:
    # pydantic-settings reads os.environ itself; hand it an explicit mapping instead so that
    # tests and the demo can pass their own environment without mutating the process's.
    values: dict[str, Any] = {
        name: env[ENV_PREFIX + name.upper()]
        for name in Settings.model_fields
        if ENV_PREFIX + name.upper() in env
    }
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        # A validator's ValueError reads "Value error, <our message>": keep our message only.
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(ENV_PREFIX + name.upper(), message) from None


def _read_chains_file(path: Path | None) -> tuple[Token, list[dict[str, Any]]]:
    where = str(path) if path else "chains.toml (built in)"
    try:
        if path is None:
            text = resources.files("app").joinpath("chains.toml").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(
            "TOKENPULSE_CHAINS_FILE", f"cannot read {where}: {exc.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("TOKENPULSE_CHAINS_FILE", f"{where} is not valid TOML: {exc}") from None
    token = _token(data.get("token"))
    chains = data.get("chains")
    if not isinstance(chains, list) or not chains:
        raise ConfigError("chains", f"{where} defines no [[chains]]")
    return token, chains


def _token(raw: object) -> Token:
    if not isinstance(raw, dict):
        raise ConfigError("token", "the chains file needs a [token] table")
    _check_keys("token", raw, TOKEN_KEYS)
    return Token(
        address=_address("token.address", raw.get("address")),
        name=_text("token.name", raw.get("name")),
        symbol=_text("token.symbol", raw.get("symbol")),
        decimals=_int("token.decimals", raw.get("decimals"), 0, 36),
    )


def _chain(
    index: int,
    raw: dict[str, Any],
    token: Token,
    env: Mapping[str, str],
    simulator_url: str | None,
    demo: bool,
) -> Chain:
    where = f"chains[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(where, "must be a table ([[chains]])")
    chain_id = _int(f"{where}.id", raw.get("id"), 1, 2**53)
    where = f"chains[{index}] (id {chain_id})"
    _check_keys(where, raw, CHAIN_KEYS)
    provider_text = raw.get("provider")
    try:
        provider = ProviderKind(str(provider_text))
    except ValueError:
        kinds = ", ".join(kind.value for kind in ProviderKind)
        raise ConfigError(
            f"{where}.provider", f"unknown provider {provider_text!r} (expected one of {kinds})"
        ) from None
    try:
        finality = Finality.parse(str(raw.get("finality", "")))
    except ValueError as exc:
        raise ConfigError(
            f"{where}.finality", f"{exc} (expected finalized, safe, instant or depth:N)"
        ) from None
    base_url, rpc_url = _urls(where, raw, provider, chain_id, simulator_url)
    keys_env = raw.get("api_keys_env")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.enabled", f"must be true or false, got {enabled!r}")
    chain = Chain(
        id=chain_id,
        name=_text(f"{where}.name", raw.get("name")),
        slug=_text(f"{where}.slug", raw.get("slug")),
        enabled=enabled,
        token_address=_address(f"{where}.token", raw.get("token", token.address)),
        decimals=_int(f"{where}.decimals", raw.get("decimals", token.decimals), 0, 36),
        provider=provider,
        base_url=base_url,
        rpc_url=rpc_url,
        first_block=_int(f"{where}.first_block", raw.get("first_block", 0), 0, 2**62),
        finality=finality,
        block_time_seconds=_float(f"{where}.block_time_seconds", raw.get("block_time_seconds")),
        api_keys_env=keys_env,
        api_keys=_keys(f"{where}.api_keys_env", keys_env, env, demo),
    )
    if enabled:
        _check_enabled(where, chain)
    return chain


def _urls(
    where: str,
    raw: dict[str, Any],
    provider: ProviderKind,
    chain_id: int,
    simulator_url: str | None,
) -> tuple[str | None, str | None]:
    base_url = _optional_url(f"{where}.base_url", raw.get("base_url"))
    rpc_url = _optional_url(f"{where}.rpc_url", raw.get("rpc_url"))
    if simulator_url:
        # The simulator serves every upstream under fixed paths (see app/simulator).
        root = simulator_url.rstrip("/")
        paths = {ProviderKind.ETHERSCAN: "/v2/api", ProviderKind.EXPLORER: "/cronos/api"}
        base_url = root + paths[provider] if provider in paths else None
        rpc_url = f"{root}/rpc/{chain_id}"
    return base_url, rpc_url


def _check_enabled(where: str, chain: Chain) -> None:
    if chain.provider is ProviderKind.RPC:
        if not chain.rpc_url:
            raise ConfigError(f"{where}.rpc_url", "an enabled rpc chain needs an rpc_url")
        return
    if not chain.base_url:
        raise ConfigError(
            f"{where}.base_url", f"an enabled {chain.provider} chain needs a base_url"
        )
    if not chain.api_keys_env:
        raise ConfigError(f"{where}.api_keys_env", "names no environment variable for API keys")
    if not chain.api_keys:
        raise ConfigError(
            chain.api_keys_env, f"is not set, but enabled chain {chain.name} needs an API key"
        )


def _keys(setting: str, keys_env: object, env: Mapping[str, str], demo: bool) -> tuple[str, ...]:
    if keys_env is None:
        return ()
    if not isinstance(keys_env, str) or not keys_env:
        raise ConfigError(setting, "must be the name of an environment variable")
    raw = env.get(keys_env, "")
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    return keys or ((DEMO_KEY,) if demo else ())


def _check_unique(chains: tuple[Chain, ...]) -> None:
    ids: set[int] = set()
    slugs: set[str] = set()
    for chain in chains:
        if chain.id in ids:
            raise ConfigError("chains", f"chain id {chain.id} appears twice")
        if chain.slug in slugs:
            raise ConfigError("chains", f"chain slug {chain.slug!r} appears twice")
        ids.add(chain.id)
        slugs.add(chain.slug)


def _check_keys(where: str, raw: Mapping[str, object], known: frozenset[str]) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        expected = ", ".join(sorted(known))
        raise ConfigError(f"{where}.{unknown[0]}", f"unknown key (expected one of {expected})")


def _address(setting: str, value: object) -> str:
    if not isinstance(value, str) or not ADDRESS_RE.match(value):
        raise ConfigError(setting, f"malformed address {value!r} (expected 0x and 40 hex digits)")
    return value.lower()


def _text(setting: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(setting, "must be a non-empty string")
    return value.strip()


def _int(setting: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(setting, f"must be an integer from {low} to {high}, got {value!r}")
    return value


def _float(setting: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(setting, f"must be a positive number, got {value!r}")
    return float(value)


def _optional_url(setting: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ConfigError(setting, f"must be an http(s) URL, got {value!r}")
    return value.rstrip("/")
