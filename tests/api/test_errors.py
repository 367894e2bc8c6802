"""Every failure answers JSON with a stable code; nothing internal leaks; never a bare 500."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.errors import InvalidInput, NotFound, StoreError
from app.ops import health

SECRET = "s3cr3t-connection-string-password"


def _boom(exc: BaseException) -> Any:
    async def collect(*args: object) -> None:
        raise exc

    return collect


def _error(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "field"}
    return error


def _graphql_error(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert SECRET not in response.text
    return {str(key): value for key, value in error.items()}


# -- REST and routing --------------------------------------------------------------------------


def test_unknown_route_is_json_404(offline: TestClient) -> None:
    response = offline.get("/no/such/route")
    assert response.status_code == 404
    assert _error(response) == {"code": "not_found", "message": "Not Found", "field": None}


def test_wrong_method_is_json_405(offline: TestClient) -> None:
    response = offline.delete("/api/health")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


def test_unexpected_exception_is_masked_500(
    offline: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "collect", _boom(RuntimeError(SECRET)))
    response = offline.get("/api/health")
    assert response.status_code == 500
    assert _error(response) == {"code": "internal", "message": "Internal error.", "field": None}
    assert SECRET not in response.text
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("exc", "status", "expected"),
    [
        (InvalidInput("bad chain id", field="chainId"), 400, ("invalid_input", "bad chain id")),
        (NotFound("no such chain"), 404, ("not_found", "no such chain")),
        # A 5xx application error keeps its code but only its class's default message.
        (StoreError(f"database error 42P01: {SECRET}"), 500, ("store_error", "Database error.")),
    ],
)
def test_application_errors_map_status_and_code(
    offline: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    exc: Exception,
    status: int,
    expected: tuple[str, str],
) -> None:
    monkeypatch.setattr(health, "collect", _boom(exc))
    response = offline.get("/api/health")
    assert response.status_code == status
    error = _error(response)
    assert (error["code"], error["message"]) == expected
    assert SECRET not in response.text


# -- GraphQL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ version ", "graphql_parse_failed"),
        ("{ versio }", "graphql_validation_failed"),
        ("mutation { anything }", "graphql_validation_failed"),
    ],
)
def test_graphql_request_errors_are_400_with_codes(
    offline: TestClient, query: str, code: str
) -> None:
    response = offline.post("/graphql", json={"query": query})
    assert response.status_code == 400
    error = _graphql_error(response)
    assert error["extensions"] == {"code": code}
    assert error["locations"]


def test_graphql_variable_errors_are_invalid_input(offline: TestClient) -> None:
    query = "query ($q: String!) { __type(name: $q) { name } }"
    response = offline.post("/graphql", json={"query": query, "variables": {"q": 5}})
    assert response.status_code == 400
    assert _graphql_error(response)["extensions"] == {"code": "invalid_input"}


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        (
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            "bad_request",
        ),
        ({"content": b"", "headers": {"content-type": "application/json"}}, 400, "bad_request"),
        ({"content": b"42", "headers": {"content-type": "application/json"}}, 400, "bad_request"),
        ({"content": b"[]", "headers": {"content-type": "application/json"}}, 400, "bad_request"),
        ({"json": {}}, 400, "bad_request"),
        ({"json": {"query": 7}}, 400, "bad_request"),
        (
            {"content": b"{ version }", "headers": {"content-type": "text/plain"}},
            400,
            "bad_request",
        ),
    ],
    ids=[
        "invalid-json",
        "empty-body",
        "json-number",
        "batch",
        "no-query",
        "query-not-string",
        "text-plain",
    ],
)
def test_malformed_graphql_bodies_are_json_errors(
    offline: TestClient, request_kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = offline.post("/graphql", **request_kwargs)
    assert response.status_code == status
    assert _graphql_error(response)["extensions"] == {"code": code}


def test_graphql_mutation_over_get_is_405(offline: TestClient) -> None:
    response = offline.get("/graphql", params={"query": "mutation { anything }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert _graphql_error(response)["extensions"] == {"code": "method_not_allowed"}


def test_graphql_other_methods_are_405(offline: TestClient) -> None:
    response = offline.put("/graphql", json={"query": "{ version }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert _graphql_error(response)["extensions"] == {"code": "method_not_allowed"}


def test_resolver_exception_is_masked_and_logged(
    offline: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(health, "collect", _boom(RuntimeError(SECRET)))
    response = offline.post("/graphql", json={"query": "{ version health { status } }"})
    assert response.status_code == 200
    assert response.json()["data"] is None  # health is non-null, so the null reaches the root
    error = _graphql_error(response)
    assert error["message"] == "Internal error."
    assert error["extensions"] == {"code": "internal"}
    assert error["path"] == ["health"]
    assert "Traceback" not in response.text
    masked = [record for record in caplog.records if record.name == "app.graphql.errors"]
    assert masked
    assert masked[0].exc_info is not None
    assert SECRET in str(masked[0].exc_info[1])  # the log keeps what the client may not see


def test_resolver_application_error_keeps_its_code(
    offline: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "collect", _boom(InvalidInput("no such field", field="chainId")))
    response = offline.post("/graphql", json={"query": "{ health { status } }"})
    error = _graphql_error(response)
    assert error["message"] == "no such field"
    assert error["extensions"] == {"code": "invalid_input", "field": "chainId"}
