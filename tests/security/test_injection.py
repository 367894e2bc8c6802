"""SQL injection is harmless: every text parameter of every REST route and every string
argument of GraphQL gets classic payloads, alone and after a valid value; each is refused
with a coded 4xx or answered without effect, and afterwards every table holds exactly the
rows, and the sums, it held before. Queries are parameterised: this proves it end to end."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from graphql import GraphQLNonNull, get_named_type
from starlette.testclient import TestClient

from app.config import Config
from tests.api.transfer_data import HOLDERS
from tests.security.conftest import ROWS, assert_safe, row_counts
from tests.security.test_fuzz_graphql import TARGETS, VALID, operation

PAYLOADS = [
    "' OR 1=1 --",
    "' OR '1'='1",
    "'; DROP TABLE transfers; --",
    "'; DELETE FROM balances; --",
    "'; UPDATE balances SET received = 0; --",
    "'; TRUNCATE chains CASCADE; --",
    "1; DROP TABLE coverage",
    "' UNION SELECT table_name, null FROM information_schema.tables --",
    "'); INSERT INTO chains (chain_id) VALUES (999); --",
    "$$; DROP TABLE transfers; $$",
    "\\'; DROP TABLE transfers; --",
    "%' AND pg_sleep(0) IS NOT NULL --",
]
# Every REST parameter that is text (addresses, hashes, searches, cursors, names...).
REST = {
    "/api/transfers": ["address", "hash", "cursor", "sort", "chainId", "startBlock", "block"],
    "/api/search": ["query", "type", "chainId"],
    "/api/holders": ["search", "chainId", "page"],
    "/api/totals": ["chainId"],
    "/api/analytics": ["timeRange", "chainId", "from", "to"],
}
IGNORING = ["/api/info", "/api/stats"]
LENIENT = {("/api/analytics", "timeRange")}  # legacy: an unknown range is the 30-day one
VALID_TEXT = {"address": HOLDERS[0], "hash": ROWS[0].tx_hash, "query": HOLDERS[0]}


def fingerprint(config: Config) -> dict[str, Any]:
    """Row counts of every table, and the sums a tampering would move."""
    assert config.settings.database_url is not None
    with psycopg.connect(config.settings.database_url.get_secret_value()) as conn:
        sums = conn.execute(
            "select (select sum(value) from transfers), (select sum(balance) from balances),"
            " (select string_agg(chain_id::text, ',' order by chain_id) from chains)"
        ).fetchone()
    return {"rows": row_counts(config), "sums": sums}


@pytest.fixture(scope="module")
def before(seeded: Config) -> dict[str, Any]:
    found = fingerprint(seeded)
    assert found["rows"]["transfers"] == len(ROWS), "precondition: the data is there"
    return found


def rest_cases() -> list[tuple[str, str, str]]:
    cases = []
    for path, names in REST.items():
        for name in names:
            prefix = VALID_TEXT.get(name, "")
            cases += [(path, name, payload) for payload in PAYLOADS]
            if prefix:
                cases += [(path, name, prefix + payload) for payload in PAYLOADS[:4]]
    return cases


def test_rest_parameters(api: TestClient, seeded: Config, before: dict[str, Any]) -> None:
    for path, name, payload in rest_cases():
        response = api.get(path, params={name: payload})
        assert_safe(response, [payload])
        # A payload is never a valid address, hash or number: refused, never read as SQL.
        expected = 200 if (path, name) in LENIENT else 400
        assert response.status_code == expected, (path, name, payload, response.text[:200])
    for path in IGNORING:  # parameters these routes never read: served as if absent
        plain = api.get(path).json()
        for payload in PAYLOADS:
            response = api.get(path, params={"chainId": payload, "force": payload})
            assert _stable(assert_safe(response, [payload])) == _stable(plain)
    response = api.get("/api/address/" + "' OR 1=1 --")
    assert response.status_code == 400
    assert fingerprint(seeded) == before


def _stable(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if "updated" not in key.lower()}


def graphql_string_arguments() -> list[tuple[str, str, Any, str]]:
    found = []
    for kind, name, field in TARGETS:
        for arg, spec in field.args.items():
            if get_named_type(spec.type).name in ("String", "ID", "BigInt", "Date", "DateTime"):
                found.append((kind, name, field, arg))
    return found


def test_graphql_string_arguments(api: TestClient, seeded: Config, before: dict[str, Any]) -> None:
    cases = graphql_string_arguments()
    assert {name for _, name, _, _ in cases} >= {"transfers", "address", "search", "holders"}
    for kind, name, field, arg in cases:
        required = [a for a, s in field.args.items() if isinstance(s.type, GraphQLNonNull)]
        others = {a: VALID[a] for a in required if a != arg and a in VALID}
        for payload in PAYLOADS:
            variables = {**others, arg: payload}
            response = api.post(
                "/graphql",
                json={"query": operation(kind, name, field, variables), "variables": variables},
            )
            body = assert_safe(response, [payload])
            assert body.get("errors") or not _rows(body), (name, arg, payload, body)
    assert fingerprint(seeded) == before


def _rows(body: dict[str, Any]) -> bool:
    """Whether an answer lists any transfer or holder (an injection that matched rows)."""
    data = body.get("data") or {}
    text = str(data)
    return any(holder in text for holder in HOLDERS[:2]) and "edges': [{" in text


def test_literal_payloads_inside_the_document(
    api: TestClient, seeded: Config, before: dict[str, Any]
) -> None:
    for payload in PAYLOADS:
        literal = payload.replace("\\", "\\\\").replace('"', '\\"')
        query = f'{{ search(query: "{literal}") {{ found kind }} address(address: "{literal}")'
        query += " { address } }"
        response = api.post("/graphql", json={"query": query})
        body = assert_safe(response, [payload])
        assert body["errors"], body
    assert fingerprint(seeded) == before
