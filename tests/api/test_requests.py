"""Per-request plumbing: X-Request-ID, the access log line, Prometheus metrics."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from app import logging as app_logging
from app.ops import health

HEX32 = re.compile(r"[0-9a-f]{32}")


class _Grab(logging.Handler):
    """Keeps each record with the request id in force when it was logged."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[logging.LogRecord, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record, app_logging.request_id.get()))


@pytest.fixture
def access_log() -> Iterator[_Grab]:
    logger = logging.getLogger("app.requests")
    handler, level = _Grab(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_incoming_request_id_is_echoed(offline: TestClient) -> None:
    response = offline.get("/healthz", headers={"X-Request-ID": "edge-42.a_b-C"})
    assert response.headers["x-request-id"] == "edge-42.a_b-C"


@pytest.mark.parametrize(
    "incoming", [None, b"", b"x" * 129, b"has space", b"semi;colon", "\u00fcn\u00ef".encode()]
)
def test_missing_or_unsafe_request_id_is_replaced(
    offline: TestClient, incoming: bytes | None
) -> None:
    headers = {} if incoming is None else {b"X-Request-ID": incoming}
    response = offline.get("/healthz", headers=headers)
    assert HEX32.fullmatch(response.headers["x-request-id"])


def test_request_id_on_errors_too(offline: TestClient) -> None:
    assert offline.get("/nowhere", headers={"X-Request-ID": "r1"}).headers["x-request-id"] == "r1"
    graphql = offline.post("/graphql", content=b"{", headers={"X-Request-ID": "r2"})
    assert graphql.headers["x-request-id"] == "r2"


def test_one_access_log_line_per_request(offline: TestClient, access_log: _Grab) -> None:
    offline.get("/healthz", headers={"X-Request-ID": "log-me"})
    [(record, request_id)] = [(r, rid) for r, rid in access_log.seen if r.getMessage() == "request"]
    assert request_id == "log-me"
    assert record.__dict__["method"] == "GET"
    assert record.__dict__["path"] == "/healthz"
    assert record.__dict__["route"] == "/healthz"
    assert record.__dict__["status"] == 200
    assert record.__dict__["duration_ms"] >= 0
    assert app_logging.request_id.get() is None  # reset after the request


def test_unhandled_error_is_logged_with_its_request_id(
    offline: TestClient, access_log: _Grab, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(health, "collect", broken)
    offline.get("/api/health", headers={"X-Request-ID": "fails"})
    messages = [(r.getMessage(), rid, r.__dict__.get("status")) for r, rid in access_log.seen]
    assert ("unhandled error", "fails", None) in messages
    assert ("request", "fails", 500) in messages


def test_metrics_count_requests_by_route_template(offline: TestClient) -> None:
    offline.get("/healthz")
    offline.get("/healthz")
    offline.get("/no/such/thing/123")
    offline.post("/graphql", json={"query": "{ version }"})
    response = offline.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'tokenpulse_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert 'tokenpulse_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'tokenpulse_http_requests_total{method="POST",route="/graphql",status="200"} 1.0' in text
    assert "/no/such/thing" not in text  # raw paths never become labels
    assert 'tokenpulse_http_request_duration_seconds_bucket{le="0.005",method="GET"' in text
    assert re.search(r'tokenpulse_build_info\{python="[^"]+",version="0.1.0"\} 1.0', text)
    assert "tokenpulse_db_pool_max 10.0" in text
    assert 'tokenpulse_db_pool_events_total{event="' in text


def test_each_app_has_its_own_registry(offline: TestClient) -> None:
    from app.asgi import create_app
    from tests.api.conftest import offline_config

    offline.get("/healthz")
    with TestClient(create_app(offline_config())) as other:
        text = other.get("/metrics").text
    assert 'route="/healthz"' not in text
