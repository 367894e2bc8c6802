"""GraphQL limits: depth, aliases, cost (page sizes multiply, variables count), document size,
introspection (on by default, configurable) — each refused with 400 and its stable code before
anything runs. The app here has no database: a refused query never needs one, and an accepted
one answers 200 with ``database_unavailable`` from its resolver, which proves it ran."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import get_introspection_query
from starlette.testclient import TestClient

from app.asgi import create_app
from app.graphql import cost as cost_model
from app.graphql import limits
from app.graphql.schema import parsed, schema
from tests.api.conftest import offline_config

PAGE_FIELDS = "id chainId blockNumber blockTime txHash logIndex from to value"


def client(**env: str) -> TestClient:
    return TestClient(create_app(offline_config(**env)))


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with client() as test_client:
        yield test_client


def ask(api: TestClient, query: str, **variables: Any) -> tuple[int, list[str]]:
    response = api.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    return response.status_code, [e["extensions"]["code"] for e in body.get("errors") or []]


def refused(api: TestClient, query: str, code: str, **variables: Any) -> None:
    assert ask(api, query, **variables) == (400, [code])


def ran(api: TestClient, query: str, **variables: Any) -> None:
    status, codes = ask(api, query, **variables)
    assert status == 200, codes
    assert set(codes) <= {"database_unavailable"}, codes


def cost(query: str, **variables: Any) -> int:
    return cost_model.of_operation(schema._schema, parsed(query), None, variables)


def test_depth_over_the_limit_is_refused() -> None:
    deep = '{ search(query: "1") { address { balances { chain { coverage { ranges } } } } } }'
    with client(TOKENPULSE_GRAPHQL_MAX_DEPTH="5") as api:
        refused(api, deep, limits.QUERY_TOO_DEEP)
        ran(api, '{ search(query: "1") { address { balances { chain { name } } } } }')
    with client(TOKENPULSE_GRAPHQL_MAX_DEPTH="6") as api:
        ran(api, deep)


def test_depth_counts_through_fragments() -> None:
    query = (
        "fragment C on Chain { coverage { ranges } }"
        ' { search(query: "1") { address { balances { chain { ...C } } } } }'
    )
    with client(TOKENPULSE_GRAPHQL_MAX_DEPTH="5") as api:
        refused(api, query, limits.QUERY_TOO_DEEP)


def test_the_default_depth_fits_the_deepest_real_query(api: TestClient) -> None:
    ran(api, '{ search(query: "1") { address { balances { chain { coverage { ranges } } } } } }')


def test_aliases_over_the_limit_are_refused(api: TestClient) -> None:
    ran(api, "{ " + " ".join(f"v{i}: version" for i in range(15)) + " }")
    refused(api, "{ " + " ".join(f"v{i}: version" for i in range(16)) + " }", "too_many_aliases")


def test_aliases_hidden_in_a_fragment_spread_many_times_count_each_time(api: TestClient) -> None:
    query = "fragment F on Query { a: version b: version c: version }\n{ ...F x: chains { id } }"
    assert ask(api, query)[0] == 200
    spread = "fragment F on Query { a: version b: version c: version d: version }"
    nested = spread + "\nfragment G on Query { ...F }\n{ ...F ...G w: version z: version }"
    # graphql-core merges the same alias selected twice: 4 + 4 + 2 = 10 counted, under 15.
    assert ask(api, nested)[0] == 200
    many = "{ " + " ".join(f"x{i}: transfers {{ __typename }}" for i in range(16)) + " }"
    refused(api, many, limits.TOO_MANY_ALIASES)


def test_page_sizes_multiply_the_cost() -> None:
    page = f"{{ transfers(first: 100) {{ nodes {{ {PAGE_FIELDS} }} }} }}"
    assert cost(page) == 1 + 100 * (1 + 9)
    nested = "{ transfers(first: 10) { nodes { id chain { coverage { ranges } } } } }"
    assert cost(nested) == 1 + 10 * (1 + 1 + 1 + (1 + 1))
    assert cost("{ chains { id name } }") == 1 + cost_model.LIST_ESTIMATE * 2
    # Above 1000 counts as 1000, as the resolver clamps; absent: the argument's default.
    assert cost("{ transfers(first: 100000) { nodes { id } } }") == 1 + 1000 * 2
    assert cost("{ holders { nodes { address } } }") == 1 + 50 * 2


def test_the_cost_reads_variables() -> None:
    query = "query($n: Int) { transfers(first: $n) { edges { node { id } } } }"
    assert cost(query, n=5) == 1 + 5 * (1 + 1 + 1)
    assert cost(query, n=1000) == 1 + 1000 * 3
    assert cost(query) == 1 + cost_model.DEFAULT_PAGE * 3
    assert cost(query, n="lots") == 1 + cost_model.DEFAULT_PAGE * 3  # refused later as invalid


def test_a_costly_query_is_refused_before_it_runs(api: TestClient) -> None:
    one = (
        f"transfers(first: 1000) {{ edges {{ cursor node {{ {PAGE_FIELDS} chain {{ name }} }} }} }}"
    )
    ran(api, f"{{ {one} }}")
    # 1 + 1000 x 14 each: three fit under 50,000, four do not.
    ran(api, f"{{ a: {one} b: {one} c: {one} }}")
    refused(api, f"{{ a: {one} b: {one} c: {one} d: {one} }}", limits.QUERY_TOO_COMPLEX)
    # Six pages of 10 fields: 1 + n x 10 each, 60,006 at n=1000; the same text at n=100 runs.
    pages = " ".join(
        f"p{i}: transfers(first: $n) {{ nodes {{ {PAGE_FIELDS} }} }}" for i in range(6)
    )
    variables = f"query($n: Int) {{ {pages} }}"
    ran(api, variables, n=100)
    refused(api, variables, limits.QUERY_TOO_COMPLEX, n=1000)


def test_the_cost_limit_is_a_setting() -> None:
    with client(TOKENPULSE_GRAPHQL_MAX_COST="100") as api:
        refused(api, "{ transfers(first: 50) { nodes { id } } }", limits.QUERY_TOO_COMPLEX)
        ran(api, "{ transfers(first: 40) { nodes { id } } }")


def test_a_fragment_bomb_is_measured_once_per_fragment_and_refused(api: TestClient) -> None:
    fragments = ["fragment F0 on Query { version }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 40)]
    refused(api, "\n".join(fragments) + "\n{ ...F39 }", limits.QUERY_TOO_COMPLEX)


def test_a_huge_document_is_refused_while_parsing(api: TestClient) -> None:
    refused(api, "{ " + "version " * (limits.MAX_TOKENS + 10) + "}", limits.QUERY_TOO_LARGE)


def test_introspection_is_on_by_default_and_bounded(api: TestClient) -> None:
    response = api.post("/graphql", json={"query": get_introspection_query()})
    assert response.status_code == 200
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    cyclic = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    refused(api, cyclic, limits.QUERY_TOO_DEEP)


def test_introspection_can_be_turned_off() -> None:
    with client(TOKENPULSE_GRAPHQL_INTROSPECTION="false") as api:
        refused(api, get_introspection_query(), limits.INTROSPECTION_DISABLED)
        refused(api, '{ __type(name: "Query") { name } }', limits.INTROSPECTION_DISABLED)
        assert api.post("/graphql", json={"query": "{ __typename version }"}).status_code == 200


def test_limits_hold_over_get_too(api: TestClient) -> None:
    query = "{ " + " ".join(f"v{i}: version" for i in range(16)) + " }"
    response = api.get("/graphql", params={"query": query})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == limits.TOO_MANY_ALIASES


def subscribe(query: str, **env: str) -> dict[str, Any]:
    """The first answer to a subscription over graphql-transport-ws."""
    with (
        client(**env) as api,
        api.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        answer: dict[str, Any] = ws.receive_json()
        return answer


def test_limits_hold_over_the_websocket_too() -> None:
    aliased = "subscription { transferAdded { a: inserted b: inserted } }"
    answer = subscribe(aliased, TOKENPULSE_GRAPHQL_MAX_ALIASES="1")
    assert answer["type"] == "error"
    assert [e["extensions"]["code"] for e in answer["payload"]] == [limits.TOO_MANY_ALIASES]
    costly = "subscription { transferAdded { transfers { id from to value } } }"
    answer = subscribe(costly, TOKENPULSE_GRAPHQL_MAX_COST="10")
    assert answer["type"] in ("error", "next"), answer
    errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == [limits.QUERY_TOO_COMPLEX]
