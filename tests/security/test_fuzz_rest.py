"""Fuzzing every REST route: any value of any of its parameters (and unknown ones) is answered
below 500, in JSON, with a coded error envelope for a 4xx, and leaks nothing.

Values mix what breaks parsers: huge and negative integers, unicode, NUL and control
characters, ``0x`` garbage, SQL injection payloads and text that is almost valid.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.api.transfer_data import HOLDERS
from tests.security.conftest import FUZZ, ROWS, assert_safe

INJECTIONS = [
    "' OR 1=1 --",
    "'; DROP TABLE transfers; --",
    "1; DELETE FROM balances",
    "0x' UNION SELECT * FROM pg_user --",
    '" OR ""="',
    "%' OR '%'='",
    "1) OR (1=1",
    "$$; select pg_sleep(5); $$",
    "\\x00",
    "\x00",
    "\\",
    "%",
    "_",
]
ADDRESSISH = [
    "0x" + "0" * 40,
    "0x" + "f" * 40,
    "0x" + "G" * 40,
    "0x" + "a" * 39,
    "0x" + "a" * 41,
    "0x" + "b" * 64,
    "0X" + "A" * 40,
    "0x",
    "x" * 5000,
]
NUMBERISH = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(
        ["0", "-0", "1e309", "NaN", "inf", "-1", "1.5", " 7 ", "0x10", "\u0663", "\uff11"]
    ),
)
# Values the store holds, so that valid-looking inputs reach the queries, not only the checks.
WORDS = ["1", "56", "137", "25", "all", "asc", "desc", "7d", "30d", "90d", "custom", "tx"]
DAYS = ["2026-01-01", "2025-12-31", "9999-12-31", "0001-01-01"]
STORED = [*HOLDERS, *(r.tx_hash for r in ROWS[:20]), *(str(r.block_number) for r in ROWS[:20])]
REAL = st.sampled_from([*STORED, *WORDS, *DAYS])
VALUES = st.one_of(
    REAL,
    st.tuples(REAL, st.sampled_from(INJECTIONS)).map("".join),
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    NUMBERISH,
    st.sampled_from(INJECTIONS + ADDRESSISH),
    st.binary(max_size=20).map(lambda raw: "0x" + raw.hex()),
)
# Every parameter each route reads (app/rest/*), plus a few it does not.
ROUTES = {
    "/api/transfers": [
        "chainId", "page", "pageSize", "sort", "startBlock", "endBlock", "block", "address",
        "hash", "includeTotals", "cursor", "force",
    ],
    "/api/search": ["query", "type", "chainId"],
    "/api/chains": [],
    "/api/holders": ["chainId", "page", "pageSize", "search"],
    "/api/stats": ["chainId"],
    "/api/totals": ["chainId"],
    "/api/info": ["chainId", "force", "cb"],
    "/api/analytics": ["timeRange", "chainId", "from", "to"],
    "/api/health": [],
    "/api/cache-health": [],
    "/api/token-price": [],
    "/api/price": [],
    "/api/finality": ["chainId"],
    "/status": [],
}  # fmt: skip
HTML = {"/status"}
EXTRA = ["x", "chainid", "page[]", "__proto__"]


def params_for(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names + EXTRA), VALUES, max_size=len(names) + 2)


@pytest.mark.parametrize("path", list(ROUTES))
def test_any_parameters(api: TestClient, path: str) -> None:
    @FUZZ
    @given(params=params_for(ROUTES[path]))
    def run(params: dict[str, str]) -> None:
        response = api.get(path, params=params)
        assert_safe(response, params.values(), html=path in HTML)

    run()


PAIRS = [(path, name) for path, names in ROUTES.items() for name in names]


@pytest.mark.parametrize(("path", "name"), PAIRS, ids=[f"{p}?{n}" for p, n in PAIRS])
def test_each_parameter_alone(api: TestClient, path: str, name: str) -> None:
    """One parameter at a time, so that every one is reached past the others' checks."""

    @settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 2))
    @given(value=VALUES)
    def run(value: str) -> None:
        response = api.get(path, params={name: value})
        assert_safe(response, [value], html=path in HTML)

    run()


@FUZZ
@given(address=st.one_of(VALUES, st.sampled_from(ADDRESSISH)).filter(bool))
def test_any_address_path(api: TestClient, address: str) -> None:
    # Percent-encoded, so "/" or "?" in the value stay in the path segment.
    response = api.get("/api/address/" + quote(address, safe=""))
    assert_safe(response, [address])


@FUZZ
@given(
    etag=st.one_of(st.text(max_size=40), st.sampled_from(['W/"x"', '"', "*", "\x7f"])),
    request_id=st.text(max_size=200),
)
def test_any_conditional_and_request_id_headers(
    api: TestClient, etag: str, request_id: str
) -> None:
    headers = {"If-None-Match": etag, "X-Request-ID": request_id}
    # Header values must be latin-1 on the wire; others are a client-side error, not ours.
    headers = {k: v for k, v in headers.items() if v.isascii() and "\n" not in v and "\r" not in v}
    response = api.get("/api/transfers", params={"pageSize": "2"}, headers=headers)
    assert_safe(response, headers.values())


@pytest.mark.parametrize("path", ["/api/holders", "/api/transfers"])
@pytest.mark.parametrize("page", ["184467440737095517", "999999999999999999"])
def test_a_page_past_any_row_is_empty_not_an_overflow(
    api: TestClient, path: str, page: str
) -> None:
    """Found by fuzzing: page x pageSize beyond a bigint made /api/holders a 500."""
    for totals in ("true", "false"):
        response = api.get(path, params={"page": page, "pageSize": "500", "includeTotals": totals})
        assert response.status_code == 200, response.text[:300]
        assert response.json()["data"] == []
