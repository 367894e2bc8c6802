"""Fuzzing every GraphQL argument, generated from the schema itself: each root field of Query
and Mutation is called with any subset of its arguments, as variables of their declared
types, holding values of that type (huge, negative, unicode, injections, ``0x`` garbage, NUL)
or of another JSON type. Every answer is JSON, never a 5xx, every error has a code and none
is ``internal`` (a masked crash); nothing leaks. Raw texts and literal arguments too.

A field added to the schema is fuzzed without touching this file.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from app.graphql.schema import schema
from tests.api.transfer_data import HOLDERS
from tests.security.conftest import ADMIN_TOKEN, FUZZ, ROWS, assert_coded, assert_safe
from tests.security.test_fuzz_rest import INJECTIONS, REAL, VALUES

GRAPHQL = schema._schema
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    VALUES,
)
BIG_INTS = st.integers(min_value=-(2**80), max_value=2**80)
INTS = st.one_of(
    st.integers(min_value=-5, max_value=1_100),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    BIG_INTS,
    st.sampled_from([2**31, -(2**31) - 1, 2**53, 2**53 - 1, -(2**53)]),
)
STRINGS = st.one_of(VALUES, REAL, st.sampled_from(INJECTIONS))
DATES = st.one_of(
    st.dates().map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.sampled_from(["2026-01-01T00:00:00Z", "2026-13-01", "0000-00-00", "+275760-09-13"]),
    VALUES,
)
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "String": STRINGS,
    "ID": STRINGS,
    "Int": INTS,
    "SafeInt": INTS,
    "Float": st.floats(allow_nan=False, allow_infinity=False),
    "Boolean": st.booleans(),
    "BigInt": st.one_of(BIG_INTS.map(str), BIG_INTS, STRINGS),
    "Date": DATES,
    "DateTime": DATES,
}


def value_of(kind: Any) -> st.SearchStrategy[Any]:
    """Values of a GraphQL input type, and now and then of another JSON type."""
    named = get_named_type(kind)
    if isinstance(named, GraphQLEnumType):
        typed: st.SearchStrategy[Any] = st.one_of(st.sampled_from(list(named.values)), STRINGS)
    else:
        typed = SCALARS.get(named.name, STRINGS)
    return st.one_of(*[typed] * 7, JUNK)


def selection(kind: Any, depth: int = 2) -> str:
    """Every leaf field reachable in ``depth`` levels without required arguments."""
    named = get_named_type(kind)
    if is_leaf_type(named) or not isinstance(named, GraphQLObjectType):
        return ""
    parts = []
    for name, field in named.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values()):
            continue
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            parts.append(name)
        elif depth > 0 and (sub := selection(inner, depth - 1)):
            parts.append(f"{name} {sub}")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


def operation(kind: str, name: str, field: GraphQLField, chosen: dict[str, Any]) -> str:
    """``kind`` calling ``name`` with the chosen arguments as variables of their own types."""
    required = {a for a, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull)}
    used = sorted(required | set(chosen))
    declared = ", ".join(f"${a}: {field.args[a].type}" for a in used)
    passed = ", ".join(f"{a}: ${a}" for a in used)
    head = f"{kind} Fuzz({declared})" if used else kind
    call = f"{name}({passed})" if used else name
    return f"{head} {{ {call} {selection(field.type)} }}"


def targets() -> list[tuple[str, str, GraphQLField]]:
    found = []
    for kind, root in (("query", GRAPHQL.query_type), ("mutation", GRAPHQL.mutation_type)):
        if root is not None:
            found += [(kind, name, field) for name, field in root.fields.items()]
    return found


TARGETS = targets()


def post(api: TestClient, query: str, variables: Any, headers: dict[str, str]) -> Any:
    response = api.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    sent = [query, json.dumps(variables)]
    body = assert_safe(response, sent)
    assert response.status_code in (200, 400), response.text[:300]
    if body.get("errors"):
        assert_coded(body)
    return body


# Mutations twice: without a token (refused with a code) and with the admin's.
CALLS = [(*target, False) for target in TARGETS] + [
    (*target, True) for target in TARGETS if target[0] == "mutation"
]
# Valid values of required arguments, so that one fuzzed argument reaches the resolver.
VALID = {
    "chainId": 137,
    "txHash": ROWS[0].tx_hash,
    "logIndex": ROWS[0].log_index,
    "address": HOLDERS[0],
    "query": HOLDERS[0],
    "key": "cache_ttl_transfers_seconds",
    "value": "15",
}
ALONE = [
    (kind, name, field, arg, admin) for kind, name, field, admin in CALLS for arg in field.args
]


def headers_for(admin: bool) -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"} if admin else {}


@pytest.mark.parametrize(
    ("kind", "name", "field", "admin"),
    CALLS,
    ids=[f"{name}{'-admin' if admin else ''}" for _, name, _, admin in CALLS],
)
def test_any_arguments(
    api: TestClient, kind: str, name: str, field: GraphQLField, admin: bool
) -> None:
    """Any subset of a field's arguments at once."""
    arguments = st.fixed_dictionaries(
        {}, optional={arg: value_of(spec.type) for arg, spec in field.args.items()}
    )

    @settings(FUZZ, max_examples=FUZZ.max_examples if field.args else 1)
    @given(chosen=arguments)
    def run(chosen: dict[str, Any]) -> None:
        post(api, operation(kind, name, field, chosen), chosen, headers_for(admin))

    run()


@pytest.mark.parametrize(
    ("kind", "name", "field", "arg", "admin"),
    ALONE,
    ids=[f"{name}.{arg}{'-admin' if admin else ''}" for _, name, _, arg, admin in ALONE],
)
def test_each_argument_alone(
    api: TestClient, kind: str, name: str, field: GraphQLField, arg: str, admin: bool
) -> None:
    """One argument fuzzed, the required others valid: every argument reaches its resolver."""
    required = [a for a, spec in field.args.items() if isinstance(spec.type, GraphQLNonNull)]
    others = {a: VALID[a] for a in required if a != arg and a in VALID}

    @settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 2))
    @given(value=value_of(field.args[arg].type))
    def run(value: Any) -> None:
        chosen = {**others, arg: value}
        post(api, operation(kind, name, field, chosen), chosen, headers_for(admin))

    run()


@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.sampled_from(INJECTIONS)))
def test_any_document_text(api: TestClient, text: str) -> None:
    post(api, text, None, {})


@FUZZ
@given(payload=STRINGS, field=st.sampled_from(["search(query: %s)", "address(address: %s)"]))
def test_literal_string_arguments(api: TestClient, payload: str, field: str) -> None:
    # json.dumps makes a GraphQL string literal (or one the parser refuses: also a coded 400).
    call = field % json.dumps(payload)
    post(api, f"{{ {call} {{ __typename }} }}", None, {})


@FUZZ
@given(variables=JUNK, operation_name=st.one_of(st.none(), st.text(max_size=10), st.integers()))
def test_any_envelope(api: TestClient, variables: Any, operation_name: Any) -> None:
    """The request envelope itself: variables and operationName of any JSON type."""
    body = {"query": "query Q { version }", "variables": variables, "operationName": operation_name}
    response = api.post("/graphql", json=body)
    assert_safe(response, [json.dumps(body)])
