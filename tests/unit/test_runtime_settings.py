"""Runtime settings without a database: keys, values, consistency, what a process applies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from app.ops import settings as runtime
from app.ops.cache import CacheRegistry
from app.ops.metrics import Metrics
from app.ops.state import AppState
from app.store.settings import StoredSetting
from tests.conftest import make_config

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def row(key: str, value: str) -> StoredSetting:
    return StoredSetting(key, value, NOW, "cli")


def test_keys_are_found_by_field_or_environment_name() -> None:
    for text in (
        "cache_ttl_totals_seconds",
        "TOKENPULSE_CACHE_TTL_TOTALS_SECONDS",
        " Cache_TTL_totals_seconds ",
    ):
        assert runtime.knob(text).key == "cache_ttl_totals_seconds"


@pytest.mark.parametrize("key", ["database_url", "admin_token", "nope", "", "cache_ttl"])
def test_unknown_or_unsafe_keys_are_refused(key: str) -> None:
    with pytest.raises(runtime.UnknownSetting) as caught:
        runtime.knob(key)
    assert caught.value.code == "unknown_setting"
    assert "cache_ttl_totals_seconds" in caught.value.message  # says what is known


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("cache_ttl_totals_seconds", "5", 5.0),
        ("cache_ttl_totals_seconds", " 0.5 ", 0.5),
        ("cache_ttl_totals_seconds", "0", 0.0),
        ("cache_max_entries", "250", 250),
    ],
)
def test_valid_values_are_parsed_with_the_field_type(key: str, text: str, value: object) -> None:
    assert runtime.parse(key, text) == value


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("cache_ttl_totals_seconds", "-1"),
        ("cache_ttl_totals_seconds", "abc"),
        ("cache_ttl_totals_seconds", "nan"),
        ("cache_ttl_totals_seconds", "inf"),
        ("cache_ttl_totals_seconds", "86401"),
        ("cache_max_entries", "0"),
        ("cache_max_entries", "1.5"),
        ("cache_max_entries", ""),
    ],
)
def test_invalid_values_are_refused(key: str, text: str) -> None:
    with pytest.raises(runtime.InvalidSetting) as caught:
        runtime.parse(key, text)
    assert caught.value.code == "invalid_setting"
    assert key in caught.value.message


def test_overrides_must_keep_the_warm_thresholds_in_order() -> None:
    base = make_config().settings
    with pytest.raises(runtime.InvalidSetting, match="may not exceed"):
        runtime.effective(base, {"warm_fresh_seconds": "1000"})  # stale stays 900
    merged = runtime.effective(base, {"warm_fresh_seconds": "1000", "warm_stale_seconds": "2000"})
    assert (merged.warm_fresh_seconds, merged.warm_stale_seconds) == (1000.0, 2000.0)


def test_apply_replaces_the_settings_requests_read_and_reset_restores_them() -> None:
    config = make_config()
    metrics = Metrics(version="t", pool_stats=dict)
    state = AppState(config=config, pool=None, metrics=metrics)  # type: ignore[arg-type]
    runtime.apply(state, [row("cache_ttl_chains_seconds", "5")])
    assert state.config.settings.cache_ttl_chains_seconds == 5.0
    assert state.config.chains == config.chains
    assert state.base_settings is config.settings  # the environment's kept
    runtime.apply(state, [])
    assert state.config.settings == config.settings


def test_a_stored_value_this_version_refuses_is_skipped_not_fatal() -> None:
    base = make_config().settings
    applied = runtime.tolerant(
        base, [row("cache_ttl_search_seconds", "-3"), row("cache_ttl_holders_seconds", "7")]
    )
    assert applied.cache_ttl_search_seconds == base.cache_ttl_search_seconds
    assert applied.cache_ttl_holders_seconds == 7.0


def test_views_show_value_default_and_source() -> None:
    base = dataclasses.replace(make_config()).settings
    views = {view.key: view for view in runtime.views(base, [row("cache_ttl_totals_seconds", "5")])}
    assert set(views) == set(runtime.BY_KEY)
    totals = views["cache_ttl_totals_seconds"]
    assert (totals.value, totals.default, totals.overridden, totals.updated_by) == (
        "5",
        "300",
        True,
        "cli",
    )
    assert not views["cache_ttl_chains_seconds"].overridden


def test_a_section_adopts_the_ttl_its_caller_now_passes() -> None:
    clock = [0.0]
    registry = CacheRegistry(clock=lambda: clock[0])
    section = registry.section("s", 60)
    section.put("k", "v")
    clock[0] = 10.0
    assert section.get("k") == "v"
    assert registry.section("s", 5) is section
    assert section.get("k") is None  # 10 s old, past the new 5 s TTL


def test_every_knob_is_a_settings_field_documented_in_settings_md() -> None:
    from pathlib import Path

    from app.config import Settings

    text = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
    for item in runtime.KNOBS:
        assert item.key in Settings.model_fields
        assert f"`{item.key}`" in text, item.key
