"""app.config.load: the built-in chains file, and one ConfigError naming the setting per mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import config
from app.domain import FinalityKind, ProviderKind
from app.errors import ConfigError
from tests.conftest import TEST_ENV

LEGACY_IDS = [1, 10, 56, 137, 324, 5000, 42161, 43114, 8453, 25]
TOKEN: dict[str, Any] = {
    "address": "0x85Cb098bdcD3Ca929d2cD18Fc7A2669fF0362242",
    "name": "Bazaars",
    "symbol": "BZR",
    "decimals": 18,
}
ETHERSCAN: dict[str, Any] = {
    "id": 1,
    "name": "Ethereum",
    "slug": "eth",
    "provider": "etherscan",
    "base_url": "https://api.etherscan.io/v2/api",
    "api_keys_env": "TOKENPULSE_ETHERSCAN_API_KEYS",
    "first_block": 100,
    "finality": "finalized",
    "block_time_seconds": 12,
}
RPC: dict[str, Any] = {
    "id": 137,
    "name": "Polygon",
    "slug": "pol",
    "provider": "rpc",
    "rpc_url": "https://polygon.example/rpc",
    "finality": "depth:128",
    "block_time_seconds": 2,
}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _table(header: str, values: dict[str, Any]) -> str:
    lines = [header] + [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n\n"


def write_chains(tmp_path: Path, *chains: dict[str, Any], token: dict[str, Any] = TOKEN) -> Path:
    """A chains file with the given [token] and [[chains]] tables."""
    text = _table("[token]", token) + "".join(_table("[[chains]]", c) for c in chains)
    path = tmp_path / "chains.toml"
    path.write_text(text)
    return path


def load_file(path: Path, **env: str) -> config.Config:
    return config.load({**TEST_ENV, "TOKENPULSE_CHAINS_FILE": str(path), **env})


def setting_of(excinfo: pytest.ExceptionInfo[ConfigError]) -> str:
    return excinfo.value.setting


def test_builtin_chains_are_the_ten_legacy_chains() -> None:
    cfg = config.load(TEST_ENV)
    assert [chain.id for chain in cfg.chains] == LEGACY_IDS
    assert cfg.token.address == TOKEN["address"].lower()
    assert cfg.token.symbol == "BZR"
    assert all(chain.token_address == TOKEN["address"].lower() for chain in cfg.chains)
    assert all(chain.decimals == 18 for chain in cfg.chains)
    by_id = {chain.id: chain for chain in cfg.chains}
    assert by_id[25].provider is ProviderKind.EXPLORER
    assert by_id[25].api_keys == ("test-cronos-key-1",)
    assert {by_id[i].provider for i in LEGACY_IDS if i != 25} == {ProviderKind.ETHERSCAN}
    assert by_id[1].api_keys == ("test-etherscan-key-1", "test-etherscan-key-2")
    assert by_id[43114].finality.kind is FinalityKind.INSTANT
    assert cfg.enabled_chains == cfg.chains


def test_settings_defaults() -> None:
    settings = config.load(TEST_ENV).settings
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.schema_mode == "auto"
    assert settings.database_url is None


def test_settings_come_from_the_given_environment_only() -> None:
    cfg = config.load({**TEST_ENV, "TOKENPULSE_PORT": "9001", "TOKENPULSE_SCHEMA_MODE": "portable"})
    assert cfg.settings.port == 9001
    assert cfg.settings.schema_mode == "portable"


def test_overrides_win_over_the_environment() -> None:
    cfg = config.load({**TEST_ENV, "TOKENPULSE_PORT": "9001"}, port=9002)
    assert cfg.settings.port == 9002


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOKENPULSE_PORT", "0"),
        ("TOKENPULSE_PORT", "70000"),
        ("TOKENPULSE_PORT", "eighty"),
        ("TOKENPULSE_SCHEMA_MODE", "mysql"),
        ("TOKENPULSE_LOG_LEVEL", "LOUD"),
        ("TOKENPULSE_DB_POOL_MAX_SIZE", "0"),
    ],
)
def test_bad_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        config.load({**TEST_ENV, name: value})
    assert setting_of(excinfo) == name
    assert str(excinfo.value).startswith(f"{name}: ")


def test_pool_min_size_cannot_exceed_max_size() -> None:
    env = {**TEST_ENV, "TOKENPULSE_DB_POOL_MIN_SIZE": "5", "TOKENPULSE_DB_POOL_MAX_SIZE": "4"}
    with pytest.raises(ConfigError, match="exceeds TOKENPULSE_DB_POOL_MAX_SIZE") as excinfo:
        config.load(env)
    assert setting_of(excinfo) == "TOKENPULSE_DB_POOL_MIN_SIZE"


def test_custom_chains_file(tmp_path: Path) -> None:
    cfg = load_file(write_chains(tmp_path, ETHERSCAN, RPC))
    assert [chain.id for chain in cfg.chains] == [1, 137]
    rpc = cfg.chains[1]
    assert rpc.provider is ProviderKind.RPC
    assert rpc.rpc_url == "https://polygon.example/rpc"
    assert str(rpc.finality) == "depth:128"
    assert rpc.api_keys == ()


def test_unknown_provider(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown provider 'covalent'") as excinfo:
        load_file(write_chains(tmp_path, {**ETHERSCAN, "provider": "covalent"}))
    assert setting_of(excinfo) == "chains[0] (id 1).provider"


def test_enabled_chain_without_its_key_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in TEST_ENV.items() if k != "TOKENPULSE_ETHERSCAN_API_KEYS"}
    with pytest.raises(ConfigError, match="needs an API key") as excinfo:
        config.load(env)
    assert setting_of(excinfo) == "TOKENPULSE_ETHERSCAN_API_KEYS"


def test_blank_key_list_counts_as_unset() -> None:
    with pytest.raises(ConfigError) as excinfo:
        config.load({**TEST_ENV, "TOKENPULSE_CRONOS_API_KEYS": " , "})
    assert setting_of(excinfo) == "TOKENPULSE_CRONOS_API_KEYS"


def test_disabled_chain_needs_no_key(tmp_path: Path) -> None:
    path = write_chains(tmp_path, {**ETHERSCAN, "enabled": False})
    cfg = config.load({"TOKENPULSE_CHAINS_FILE": str(path)})
    assert cfg.chains[0].enabled is False
    assert cfg.enabled_chains == ()


def test_enabled_rpc_chain_without_rpc_url(tmp_path: Path) -> None:
    chain = {k: v for k, v in RPC.items() if k != "rpc_url"}
    with pytest.raises(ConfigError, match="needs an rpc_url") as excinfo:
        load_file(write_chains(tmp_path, chain))
    assert setting_of(excinfo) == "chains[0] (id 137).rpc_url"


def test_malformed_token_address(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="malformed address") as excinfo:
        load_file(write_chains(tmp_path, ETHERSCAN, token={**TOKEN, "address": "0x85cb"}))
    assert setting_of(excinfo) == "token.address"


def test_malformed_chain_token_address(tmp_path: Path) -> None:
    chain = {**ETHERSCAN, "token": "85Cb098bdcD3Ca929d2cD18Fc7A2669fF0362242"}
    with pytest.raises(ConfigError, match="malformed address") as excinfo:
        load_file(write_chains(tmp_path, chain))
    assert setting_of(excinfo) == "chains[0] (id 1).token"


def test_per_chain_token_overrides_are_lowercased(tmp_path: Path) -> None:
    chain = {**ETHERSCAN, "token": "0xABCDEF0123456789ABCDEF0123456789ABCDEF01", "decimals": 6}
    cfg = load_file(write_chains(tmp_path, chain))
    assert cfg.chains[0].token_address == "0xabcdef0123456789abcdef0123456789abcdef01"
    assert cfg.chains[0].decimals == 6


@pytest.mark.parametrize("finality", ["soon", "depth:0", "depth:x", "depth", "finalized:3", ""])
def test_bad_finality(tmp_path: Path, finality: str) -> None:
    with pytest.raises(ConfigError, match="finalized, safe, instant or depth:N") as excinfo:
        load_file(write_chains(tmp_path, {**ETHERSCAN, "finality": finality}))
    assert setting_of(excinfo) == "chains[0] (id 1).finality"


@pytest.mark.parametrize("finality", ["finalized", "safe", "instant", "depth:12"])
def test_good_finality(tmp_path: Path, finality: str) -> None:
    cfg = load_file(write_chains(tmp_path, {**ETHERSCAN, "finality": finality}))
    assert str(cfg.chains[0].finality) == finality


def test_duplicate_chain_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="chain id 1 appears twice") as excinfo:
        load_file(write_chains(tmp_path, ETHERSCAN, {**ETHERSCAN, "slug": "eth2"}))
    assert setting_of(excinfo) == "chains"


def test_duplicate_chain_slug(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="slug 'eth' appears twice"):
        load_file(write_chains(tmp_path, ETHERSCAN, {**ETHERSCAN, "id": 2}))


def test_unknown_chain_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key") as excinfo:
        load_file(write_chains(tmp_path, {**ETHERSCAN, "first_blok": 5}))
    assert setting_of(excinfo) == "chains[0] (id 1).first_blok"


def test_unknown_token_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key") as excinfo:
        load_file(write_chains(tmp_path, ETHERSCAN, token={**TOKEN, "symbool": "X"}))
    assert setting_of(excinfo) == "token.symbool"


def test_enabled_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="true or false") as excinfo:
        load_file(write_chains(tmp_path, {**ETHERSCAN, "enabled": "false"}))
    assert setting_of(excinfo) == "chains[0] (id 1).enabled"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("first_block", -1),
        ("block_time_seconds", 0),
        ("base_url", "ftp://example"),
        ("name", " "),
        ("api_keys_env", 7),
    ],
)
def test_bad_chain_values_name_the_key(tmp_path: Path, key: str, value: object) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_file(write_chains(tmp_path, {**ETHERSCAN, key: value}))
    assert setting_of(excinfo) == f"chains[0] (id 1).{key}"


def test_missing_chains_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read") as excinfo:
        load_file(tmp_path / "nowhere.toml")
    assert setting_of(excinfo) == "TOKENPULSE_CHAINS_FILE"


def test_unreadable_chains_file(tmp_path: Path) -> None:
    # A directory stands in for an unreadable file: it fails the same way even for root.
    with pytest.raises(ConfigError, match="cannot read") as excinfo:
        load_file(tmp_path)
    assert setting_of(excinfo) == "TOKENPULSE_CHAINS_FILE"


def test_invalid_toml_chains_file(tmp_path: Path) -> None:
    path = tmp_path / "chains.toml"
    path.write_text("[token\naddress = ")
    with pytest.raises(ConfigError, match="not valid TOML") as excinfo:
        load_file(path)
    assert setting_of(excinfo) == "TOKENPULSE_CHAINS_FILE"


def test_chains_file_without_chains(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \[\[chains\]\]"):
        load_file(write_chains(tmp_path))


def test_chains_file_without_token(tmp_path: Path) -> None:
    path = tmp_path / "chains.toml"
    path.write_text(_table("[[chains]]", ETHERSCAN))
    with pytest.raises(ConfigError, match=r"\[token\] table") as excinfo:
        load_file(path)
    assert setting_of(excinfo) == "token"


def test_demo_fills_keys_and_simulator_urls() -> None:
    cfg = config.load({}, demo=True)
    simulator = "http://127.0.0.1:9545"
    assert cfg.settings.simulator_url == simulator
    assert [chain.id for chain in cfg.chains] == LEGACY_IDS
    for chain in cfg.chains:
        assert chain.api_keys == (config.DEMO_KEY,)
        assert chain.rpc_url == f"{simulator}/rpc/{chain.id}"
    by_id = {chain.id: chain for chain in cfg.chains}
    assert by_id[1].base_url == f"{simulator}/v2/api"
    assert by_id[25].base_url == f"{simulator}/cronos/api"


def test_demo_keeps_real_keys_and_an_explicit_simulator() -> None:
    env = {**TEST_ENV, "TOKENPULSE_SIMULATOR_URL": "http://127.0.0.1:7000"}
    cfg = config.load(env, demo=True)
    by_id = {chain.id: chain for chain in cfg.chains}
    assert by_id[1].api_keys == ("test-etherscan-key-1", "test-etherscan-key-2")
    assert by_id[1].base_url == "http://127.0.0.1:7000/v2/api"


def test_without_demo_an_empty_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs an API key"):
        config.load({})


def test_secrets_stay_out_of_repr_and_are_listed() -> None:
    dsn = "postgresql://tp:hunter2-password@db/tokenpulse"
    cfg = config.load({**TEST_ENV, "TOKENPULSE_DATABASE_URL": dsn})
    secrets = ["test-etherscan-key-1", "test-etherscan-key-2", "test-cronos-key-1"]
    for chain in cfg.chains:
        assert not any(secret in repr(chain) for secret in secrets)
    assert "hunter2" not in repr(cfg.settings)
    assert set(cfg.secrets) == {*secrets, dsn}
    assert [len(s) for s in cfg.secrets] == sorted((len(s) for s in cfg.secrets), reverse=True)


def cors(value: str) -> tuple[str, ...]:
    return config.load({**TEST_ENV, "TOKENPULSE_CORS_ORIGINS": value}).settings.cors_origin_list


def test_cors_origins_default_is_the_legacy_allow_list() -> None:
    assert config.load(TEST_ENV).settings.cors_origin_list == (
        "http://localhost:5173",
        "http://localhost:3000",
    )


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("*", ("*",)),
        ("https://app.example.org", ("https://app.example.org",)),
        (" https://a.example.org , http://localhost:5173 ,", ("https://a.example.org", "http://localhost:5173")),
        ("http://127.0.0.1:3000", ("http://127.0.0.1:3000",)),
        ("http://[::1]:8080", ("http://[::1]:8080",)),
        # As browsers send Origin: lower case, no default port (else nothing would match).
        ("HTTPS://App.Example.ORG:443", ("https://app.example.org",)),
        ("http://example.org:80,https://example.org:8443", ("http://example.org", "https://example.org:8443")),
        ("", ()),
    ],
)  # fmt: skip
def test_cors_origins_accepted_as_browsers_send_them(value: str, origins: tuple[str, ...]) -> None:
    assert cors(value) == origins


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("https://app.example.org/", "has '/' after the origin"),
        ("https://app.example.org/path", "has '/path' after the origin"),
        ("https://app.example.org?x=1", "has '?x=1' after the origin"),
        ("http://localhost:5173,https://ok.example.org/app", "'https://ok.example.org/app' has"),
        ("app.example.org", "is not an origin"),
        ("ftp://files.example.org", "is not an origin"),
        ("https:/app.example.org", "is not an origin"),
        ("https://exa mple.org", "is not an origin"),
        ("https://-bad.example.org", "is not an origin"),
        ("https://a..example.org", "is not an origin"),
        ("https://app.example.org:", "is not an origin"),
        ("https://app.example.org:99999", "port 99999 is not from 1 to 65535"),
        ("https://app.example.org:0", "port 0 is not from 1 to 65535"),
        ("http://[1::2::3]:80", "[1::2::3] is not an IPv6 address"),
        ("null", "is not an origin"),
        ("http://localhost:5173 http://localhost:3000", "is not an origin"),
    ],
)
def test_bad_cors_origin_names_the_setting(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        cors(value)
    assert setting_of(excinfo) == "TOKENPULSE_CORS_ORIGINS"
    assert problem in str(excinfo.value)
    # Our message only, on one line: not pydantic's "Value error, ..." wrapper.
    assert str(excinfo.value).startswith("TOKENPULSE_CORS_ORIGINS: '")
    assert "\n" not in str(excinfo.value)
