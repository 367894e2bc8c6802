"""The GraphQL endpoint over HTTP: GraphiQL switch, GET queries, the committed SDL, scalars."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.graphql import schema
from app.graphql.types import scalars
from tests.api.conftest import offline_config

HTML = {"accept": "text/html"}


def test_graphiql_served_when_enabled(offline: TestClient) -> None:
    response = offline.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_graphiql_not_served_when_disabled() -> None:
    with TestClient(create_app(offline_config(TOKENPULSE_GRAPHIQL="false"))) as client:
        page = client.get("/graphql", headers=HTML)
        query = client.post("/graphql", json={"query": "{ version }"})
    assert page.status_code == 404
    assert page.headers["content-type"] == "application/json"
    assert "graphiql" not in page.text.lower()
    assert page.json()["errors"][0]["extensions"] == {"code": "not_found"}
    assert query.json() == {"data": {"version": "0.1.0"}}


def test_queries_over_get(offline: TestClient) -> None:
    response = offline.get("/graphql", params={"query": "{ version }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"version": "0.1.0"}}


def test_committed_sdl_is_current() -> None:
    committed = schema.SDL_PATH.read_text(encoding="utf-8")
    assert committed == schema.sdl(), (
        "docs/schema.graphql is stale: run `python -m app.graphql.schema > docs/schema.graphql`"
    )


def test_sdl_names_follow_the_conventions() -> None:
    sdl = schema.sdl()
    assert "tokenAddress: String!" in sdl  # camelCase on the wire
    names = re.findall(r"^(?:type|enum|input|scalar|interface|union) (\w+)", sdl, re.MULTILINE)
    assert names
    assert not [name for name in names if name.endswith("Type")]
    fields = re.findall(r"^  (\w+)[:(]", sdl, re.MULTILINE)
    assert not [field for field in fields if "_" in field]


@pytest.mark.parametrize("value", [2**53, -(2**53), True, "12", 1.5])
def testsafe_int_refuses_what_javascript_cannot_hold(value: object) -> None:
    with pytest.raises(ValueError, match="SafeInt cannot represent"):
        scalars.safe_int(value)


def testsafe_int_keepssafe_integers() -> None:
    assert scalars.safe_int(2**53 - 1) == 2**53 - 1
    assert scalars.safe_int(-(2**53 - 1)) == -(2**53 - 1)
