"""With the database unreachable the API still starts and answers, quickly, with detail."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from app.asgi import create_app
from tests.api.conftest import OFFLINE_WAIT, offline_config

# The wait for a pooled connection, plus generous slack for a loaded CI machine.
QUICKLY = float(OFFLINE_WAIT) + 1.5


def test_health_says_down_quickly(offline: TestClient) -> None:
    started = time.perf_counter()
    response = offline.get("/api/health")
    assert time.perf_counter() - started < QUICKLY
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "down"
    assert body["database"]["ok"] is False
    assert body["database"]["error"]
    assert body["store"]["ready"] is False
    assert body["schemaMode"] is None
    assert [warning["code"] for warning in body["warnings"]] == ["DATABASE_UNAVAILABLE"]
    assert body["warnings"][0]["retryable"] is True
    assert len(body["chains"]) == 10  # from the configuration, even without a database


def test_readyz_is_503_and_healthz_200(offline: TestClient) -> None:
    started = time.perf_counter()
    ready = offline.get("/readyz")
    assert time.perf_counter() - started < QUICKLY
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/json"
    assert ready.json()["error"]["code"] == "database_unavailable"
    assert offline.get("/healthz").status_code == 200


def test_graphql_health_down_and_store_errors_coded(offline: TestClient) -> None:
    health = offline.post("/graphql", json={"query": "{ health { status database { ok } } }"})
    assert health.json() == {"data": {"health": {"status": "DOWN", "database": {"ok": False}}}}
    chains = offline.post("/graphql", json={"query": "{ chains { id } }"})
    assert chains.status_code == 200
    [error] = chains.json()["errors"]
    assert error["extensions"] == {"code": "database_unavailable"}
    assert error["message"] == "The database is unavailable."
    assert error["path"] == ["chains"]


def test_default_wait_is_bounded_too() -> None:
    # The default connect timeout is 5 s; health caps its own wait at 2 s.
    config = offline_config(TOKENPULSE_DB_CONNECT_TIMEOUT="5")
    with TestClient(create_app(config)) as client:
        started = time.perf_counter()
        assert client.get("/readyz").status_code == 503
        assert time.perf_counter() - started < 2.0 + 1.5
