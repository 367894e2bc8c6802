"""Runtime settings through running API processes: admin mutations, refusals, and a TTL change
that reaches another running process (its lifespan's watcher) without a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.ops import settings as runtime
from app.store import pool as pool_module
from app.store import settings as store_settings
from tests.api.conftest import seed
from tests.conftest import make_config

TOKEN = "admin-token-for-tests-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SET = """mutation($key: String!, $value: String!) {
  setSetting(key: $key, value: $value) {
    changed setting { key value default overridden updatedBy }
  }
}"""
RESET = """mutation($key: String!) {
  resetSetting(key: $key) { changed setting { key value overridden } }
}"""
LIST = "{ runtimeSettings { key value default overridden } }"


@pytest.fixture
def admin_config(database_url: str) -> Config:
    config = make_config(database_url, TOKENPULSE_ADMIN_TOKEN=TOKEN)
    seed(config)
    return config


@pytest.fixture
def two_apps(admin_config: Config) -> Iterator[tuple[TestClient, TestClient]]:
    """Two API processes on one database, lifespans (and settings watchers) running."""
    with TestClient(create_app(admin_config)) as one, TestClient(create_app(admin_config)) as two:
        _wait(lambda: _serving(one) and _serving(two))
        yield one, two


def _serving(client: TestClient) -> bool:
    # No wait for the watcher's LISTEN is needed: it loads every row once it listens, so a
    # change committed before that is applied all the same.
    return "errors" not in _gql(client, LIST) and _max_age(client) is not None


def _gql(
    client: TestClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> Any:
    answer = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _max_age(client: TestClient) -> int | None:
    answer = client.get("/api/chains")
    if answer.status_code != 200:
        return None
    control = answer.headers["cache-control"]
    return int(control.split("max-age=")[1]) if "max-age=" in control else 0


def _wait(ready: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def _ttl(client: TestClient) -> float:
    return float(client.app.state.tokenpulse.config.settings.cache_ttl_chains_seconds)  # type: ignore[attr-defined]


def test_a_ttl_set_on_one_process_reaches_the_other_without_restart(
    two_apps: tuple[TestClient, TestClient],
) -> None:
    one, two = two_apps
    assert (_max_age(two) or 0) > 5  # TOKENPULSE_CACHE_TTL_CHAINS_SECONDS's default: 30
    answer = _gql(one, SET, AUTH, key="cache_ttl_chains_seconds", value="5")
    assert answer["data"]["setSetting"] == {
        "changed": True,
        "setting": {
            "key": "cache_ttl_chains_seconds",
            "value": "5",
            "default": "30",
            "overridden": True,
            "updatedBy": "graphql",
        },
    }
    assert _ttl(one) == 5.0  # the writing process applies it at once
    _wait(lambda: _ttl(two) == 5.0)  # the other through LISTEN/NOTIFY
    assert (_max_age(two) or 99) <= 5  # the served answer shows it
    assert two.get("/api/cache-health").json()["caches"]["rest_chains"]["ttlMs"] == 5000
    reset = _gql(one, RESET, AUTH, key="TOKENPULSE_CACHE_TTL_CHAINS_SECONDS")
    assert reset["data"]["resetSetting"]["changed"] is True
    _wait(lambda: _ttl(two) == 30.0)
    assert reset["data"]["resetSetting"]["setting"] == {
        "key": "cache_ttl_chains_seconds",
        "value": "30",
        "overridden": False,
    }


async def _store_set(config: Config, key: str, value: str) -> None:
    conn = await pool_module.connect(config.settings)
    async with conn, conn.transaction():
        await runtime.set_value(conn, config.settings, key, value, "cli")


def test_mutations_need_the_admin_token(admin_config: Config) -> None:
    refusals = [(None, "UNAUTHENTICATED"), ({"Authorization": "Bearer wrong"}, "FORBIDDEN")]
    with TestClient(create_app(admin_config)) as client:
        for headers, code in refusals:
            for query, variables in ((SET, {"value": "1"}), (RESET, {})):
                answer = _gql(client, query, headers, key="cache_ttl_chains_seconds", **variables)
                assert answer["data"] is None
                assert [e["extensions"]["code"] for e in answer["errors"]] == [code]
                assert TOKEN not in str(answer)
        without = make_config(admin_config.settings.database_url.get_secret_value())  # type: ignore[union-attr]
        with TestClient(create_app(without)) as unconfigured:
            answer = _gql(unconfigured, SET, AUTH, key="cache_ttl_chains_seconds", value="1")
            assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert "TOKENPULSE_ADMIN_TOKEN is not set" in answer["errors"][0]["message"]
        assert _ttl(client) == 30.0
    assert _stored(admin_config) == []


REFUSED = [
    ("database_url", "postgresql://x", "unknown_setting"),
    ("no_such_key", "1", "unknown_setting"),
    ("cache_ttl_chains_seconds", "-1", "invalid_setting"),
    ("cache_ttl_chains_seconds", "soon", "invalid_setting"),
    ("cache_ttl_chains_seconds", "1e12", "invalid_setting"),
    ("warm_fresh_seconds", "901", "invalid_setting"),  # above warm_stale_seconds (900)
]


def test_invalid_keys_and_values_are_refused_and_nothing_is_stored(admin_config: Config) -> None:
    with TestClient(create_app(admin_config)) as client:
        for key, value, code in REFUSED:
            answer = _gql(client, SET, AUTH, key=key, value=value)
            assert answer["data"] is None
            assert answer["errors"][0]["extensions"]["code"] == code, (key, value)
            assert key in answer["errors"][0]["message"]
        assert _ttl(client) == 30.0
    assert _stored(admin_config) == []


def _stored(config: Config) -> list[store_settings.StoredSetting]:
    async def read() -> list[store_settings.StoredSetting]:
        conn = await pool_module.connect(config.settings, autocommit=True)
        async with conn:
            return await store_settings.list_settings(conn)

    return asyncio.run(read())


def test_a_change_written_like_the_cli_does_reaches_a_running_process_even_after_a_lost_session(
    admin_config: Config,
) -> None:
    with TestClient(create_app(admin_config)) as client:
        _wait(lambda: _serving(client) and _watcher_sessions(admin_config) == 1)
        asyncio.run(_store_set(admin_config, "cache_ttl_totals_seconds", "12"))
        _wait(lambda: client.app.state.tokenpulse.config.settings.cache_ttl_totals_seconds == 12)  # type: ignore[attr-defined]
        listed = {item["key"]: item for item in _gql(client, LIST)["data"]["runtimeSettings"]}
        assert listed["cache_ttl_totals_seconds"] == {
            "key": "cache_ttl_totals_seconds",
            "value": "12",
            "default": "300",
            "overridden": True,
        }
        assert _terminate_watcher(admin_config) >= 1  # the watcher (and a pooled reader)
        # Written while the watcher is away: its reload after reconnecting picks it up.
        asyncio.run(_store_set(admin_config, "cache_ttl_search_seconds", "3"))
        _wait(lambda: client.app.state.tokenpulse.config.settings.cache_ttl_search_seconds == 3)  # type: ignore[attr-defined]


WATCHER_SESSION = (
    "from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
    " and query like '%%from runtime_settings order by key%%'"
)


def _watcher_sessions(config: Config) -> int:
    return int(_scalar(config, "select count(*) as n " + WATCHER_SESSION))


def _terminate_watcher(config: Config) -> int:
    return int(_scalar(config, "select count(pg_terminate_backend(pid)) as n " + WATCHER_SESSION))


def _scalar(config: Config, query: str) -> Any:
    async def run() -> Any:
        conn = await pool_module.connect(config.settings, autocommit=True)
        async with conn:
            cur = await conn.execute(query.encode())
            row = await cur.fetchone()
            return None if row is None else row["n"]

    return asyncio.run(run())
