"""Request size limits (413 for a body, 414 for a URL, JSON both) and the CORS allow-list:
an allowed origin gets its headers, another gets none and a refused preflight a coded 400."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from tests.api.conftest import offline_config

SMALL = {"TOKENPULSE_MAX_BODY_BYTES": "2048", "TOKENPULSE_MAX_URL_BYTES": "512"}


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with TestClient(create_app(offline_config(**SMALL))) as client:
        yield client


def query_of(size: int) -> bytes:
    """A POST /graphql body of exactly ``size`` bytes asking for the version."""
    text = json.dumps({"query": "{ version }", "operationName": None, "pad": ""})
    return text.replace('"pad": ""', '"pad": "' + "x" * (size - len(text)) + '"').encode()


def test_a_body_up_to_the_limit_is_served(api: TestClient) -> None:
    body = query_of(2048)
    assert len(body) == 2048
    response = api.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"data": {"version": response.json()["data"]["version"]}}


def test_a_larger_body_is_413_json(api: TestClient) -> None:
    response = api.post(
        "/graphql", content=query_of(2049), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_is_counted_as_it_arrives(api: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: only counting can tell
        yield b'{"query": "{ version }", "pad": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = api.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_lying_content_length_cannot_smuggle_a_bigger_body(api: TestClient) -> None:
    response = api.post(
        "/graphql",
        content=query_of(4000),
        headers={"Content-Type": "application/json", "Content-Length": "100"},
    )
    assert response.status_code in (400, 413)
    assert response.json()


def test_a_long_url_is_414_json(api: TestClient) -> None:
    response = api.get("/api/transfers", params={"address": "0x" + "a" * 600})
    assert response.status_code == 414
    assert response.json()["error"]["code"] == "uri_too_long"
    assert api.get("/graphql", params={"query": "{ version }" + " " * 600}).status_code == 414
    assert api.get("/" + "a" * 600).status_code == 414


def test_defaults_fit_real_requests() -> None:
    settings = offline_config().settings
    assert settings.max_body_bytes == 65_536
    assert settings.max_url_bytes == 4_096


ALLOWED = "http://localhost:5173"


def test_an_allowed_origin_gets_cors_headers(api: TestClient) -> None:
    response = api.get("/healthz", headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"


def test_another_origin_gets_none_and_its_preflight_a_coded_400(api: TestClient) -> None:
    response = api.get("/healthz", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = api.options(
        "/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert preflight.json()["error"]["code"] == "cors_origin_refused"
    assert "access-control-allow-origin" not in preflight.headers


def test_an_allowed_preflight_names_only_get_and_post(api: TestClient) -> None:
    preflight = api.options(
        "/graphql",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    refused = api.options(
        "/graphql", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "DELETE"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "cors_refused"
