"""Holders over GraphQL (holders) and REST (/api/holders, /api/stats, legacy shapes), from
balances kept by the write path: order, paging, search, counts, accuracy and bad input."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.domain import Transfer
from app.store import coverage as store_coverage
from app.store import pool as pool_module
from tests.api import transfer_data
from tests.api.transfer_data import CHAINS, transfer

ZERO = "0x" + "00" * 20
MINT = 10**26
QUERY = """
query($chainId: SafeInt, $first: Int! = 50, $after: String, $search: String) {
  holders(chainId: $chainId, first: $first, after: $after, search: $search) {
    edges { cursor node { address chainId chainName balance share transferCount } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount totalCountAccuracy
  }
}
"""


def dataset(seed: int = 11) -> list[Transfer]:
    """Per chain: a mint from the zero address, then transfers that never overspend, some
    to new addresses, self-transfers, a holder emptied, a burn."""
    rng = random.Random(seed)
    rows: list[Transfer] = []
    for chain_id, first in CHAINS.items():
        rows += _chain_rows(rng, chain_id, first)
    return rows


def _chain_rows(rng: random.Random, chain_id: int, first: int) -> list[Transfer]:
    people = ["0x" + rng.randbytes(20).hex() for _ in range(25)]
    people.append("0xabcd" + "00" * 18)  # a prefix to search for
    held: Counter[str] = Counter()
    moves: list[tuple[str, str, int]] = [(ZERO, people[0], MINT)]
    held[people[0]] = MINT
    for _ in range(120):
        sender = rng.choice([p for p in people if held[p] > 0])
        receiver = sender if rng.random() < 0.05 else rng.choice(people)
        value = rng.randint(1, held[sender])
        moves.append((sender, receiver, value))
        held[sender] -= value
        held[receiver] += value
    emptied = next(p for p in people if held[p] > 0 and p != people[0])
    moves.append((emptied, people[0], held[emptied]))
    burnt = min(12345, held[people[0]] + held[emptied])
    moves.append((people[0], ZERO, burnt))  # a burn
    return [
        transfer(chain_id, first + i + 1, 0, sender=sender, receiver=receiver, value=value)
        for i, (sender, receiver, value) in enumerate(moves)
    ]


ROWS = dataset()


def balances(rows: list[Transfer] = ROWS) -> dict[int, dict[str, int]]:
    found: dict[int, Counter[str]] = {}
    for row in rows:
        chain = found.setdefault(row.chain_id, Counter())
        chain[row.from_address] -= int(row.value)
        chain[row.to_address] += int(row.value)
    return {chain_id: dict(held) for chain_id, held in found.items()}


def expected(chain_id: int | None = None) -> list[tuple[str, int, int]]:
    """(address, balance, chain id) of every holder, in the API's order."""
    found = [
        (address, balance, cid)
        for cid, held in balances().items()
        for address, balance in held.items()
        if address != ZERO and balance > 0 and (chain_id is None or cid == chain_id)
    ]
    return sorted(found, key=lambda item: (-item[1], item[0], item[2]))


def supply(chain_id: int) -> int:
    return -balances()[chain_id][ZERO]


@pytest.fixture
def api(config: Config) -> Iterator[TestClient]:
    transfer_data.load(config, ROWS)
    with TestClient(create_app(config)) as client:
        yield client


def run(client: TestClient, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": QUERY, "variables": variables})
    body: dict[str, Any] = response.json()
    return body


def connection(client: TestClient, **variables: Any) -> dict[str, Any]:
    body = run(client, **variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["holders"]
    return result


def walk(client: TestClient, first: int, **variables: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(1000):
        page = connection(client, first=first, after=after, **variables)
        nodes += [edge["node"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("chain_id", [137, None])
def test_graphql_pages_cover_every_holder_once(api: TestClient, chain_id: int | None) -> None:
    nodes = walk(api, 7, chainId=chain_id)
    want = expected(chain_id)
    assert [(n["address"], int(n["balance"]), n["chainId"]) for n in nodes] == want
    first = connection(api, chainId=chain_id, first=3)
    assert (first["totalCount"], first["totalCountAccuracy"]) == (len(want), "EXACT")
    node = first["edges"][0]["node"]
    assert isinstance(node["balance"], str)  # BigInt: raw units as a decimal string
    assert node["share"] == pytest.approx(int(node["balance"]) / supply(node["chainId"]))
    names = {1: "Ethereum", 56: "BNB Smart Chain", 137: "Polygon"}
    assert node["chainName"] == names.get(node["chainId"], node["chainName"])


def test_graphql_first_defaults_and_clamps(api: TestClient) -> None:
    assert len(connection(api, chainId=137)["edges"]) == min(50, len(expected(137)))
    assert len(connection(api, first=5000)["edges"]) == len(expected())  # clamped to 1000
    assert connection(api, first=0)["edges"] == []


def test_graphql_search(api: TestClient) -> None:
    target = expected(56)[3]
    exact = connection(api, chainId=56, search=target[0].upper().replace("0X", "0x"))
    assert [e["node"]["address"] for e in exact["edges"]] == [target[0]]
    assert exact["totalCount"] == 1
    prefix = connection(api, search="0xabcd")  # the same address on every chain
    want = [item for item in expected() if item[0].startswith("0xabcd")]
    assert [(e["node"]["address"], e["node"]["chainId"]) for e in prefix["edges"]] == [
        (a, c) for a, _, c in want
    ]
    assert prefix["totalCount"] == len(want)
    odd = connection(api, chainId=137, search=target[0][:5])  # an odd number of digits
    assert all(e["node"]["address"].startswith(target[0][:5]) for e in odd["edges"])
    assert odd["totalCount"] == sum(1 for a, _, _ in expected(137) if a.startswith(target[0][:5]))


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"after": "nonsense!"}, "invalid_cursor", "after"),
        ({"after": "A" * 40}, "invalid_cursor", "after"),
        ({"search": "0xzz"}, "invalid_search", "search"),
        ({"search": "0x" + "1" * 41}, "invalid_search", "search"),
        ({"chainId": 999}, "invalid_chain", "chainId"),
        ({"first": -1}, "invalid_page_size", "first"),
    ],
)
def test_graphql_bad_input(
    api: TestClient, variables: dict[str, Any], code: str, field: str
) -> None:
    body = run(api, **variables)
    [error] = body["errors"]
    assert error["extensions"] == {"code": code, "field": field}


def test_graphql_cursor_of_another_query_is_refused(api: TestClient) -> None:
    cursor = connection(api, chainId=137, first=2)["pageInfo"]["endCursor"]
    for other in ({"chainId": 56}, {"chainId": 137, "search": "0xab"}, {}):
        [error] = run(api, after=cursor, **other)["errors"]
        assert error["extensions"]["code"] == "invalid_cursor"
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    [error] = run(api, chainId=137, after=tampered)["errors"]
    assert error["extensions"]["code"] == "invalid_cursor"


def test_accuracy_partial_when_coverage_has_a_gap(config: Config) -> None:
    transfer_data.load(config, ROWS, cover=False)
    first = CHAINS[137]
    asyncio.run(_cover(config, [(137, first, first + 10), (137, first + 20, first + 10_000)]))
    with TestClient(create_app(config)) as client:
        page = connection(client, chainId=137, first=1)
        assert page["totalCountAccuracy"] == "PARTIAL"
        assert page["totalCount"] == len(expected(137))  # the stored transfers' figure
        body = client.get("/api/holders?chainId=137").json()
        assert body["accuracy"] == "partial"
        assert "Polygon" in body["warning"]
        assert body["supply"] == {"totalSupply": None, "totalSupplyRaw": None}
        assert all(row["share"] is None for row in body["data"])
        stats = client.get("/api/stats").json()
        polygon = next(c for c in stats["chains"] if c["chainId"] == 137)
        assert (polygon["accuracy"], polygon["complete"]) == ("partial", False)
        assert polygon["supply"] is None  # part of the history bounds no supply
        assert stats["accuracy"] == "partial"


async def _cover(config: Config, ranges: list[tuple[int, int, int]]) -> None:
    conn = await pool_module.connect(config.settings)
    async with conn, conn.transaction():
        for chain_id, lo, hi in ranges:
            await store_coverage.add_range(conn, chain_id, lo, hi)


def tokens(raw: int) -> float:
    return float(round(Fraction(raw, 10**18), 6))


def test_rest_holders_document(api: TestClient) -> None:
    response = api.get("/api/holders?chainId=137&pageSize=10")
    assert response.status_code == 200
    assert response.headers["etag"]
    assert response.headers["cache-control"].startswith("public, max-age=")
    body = response.json()
    assert set(body) == {
        "data", "chain", "pagination", "supply", "lastUpdated", "timestamp", "accuracy",
        "stale", "source",
    }  # fmt: skip
    want = expected(137)
    assert body["data"] == [
        {
            "TokenHolderAddress": address,
            "TokenHolderQuantity": str(balance),
            "chainId": 137,
            "chainName": "Polygon",
            "share": pytest.approx(balance / supply(137)),
        }
        for address, balance, _ in want[:10]
    ]
    assert body["chain"] == {"id": 137, "name": "Polygon"}
    assert body["pagination"] == {
        "page": 1, "pageSize": 10, "resultCount": 10, "totalRaw": len(want),
        "total": len(want), "hasMore": True,
    }  # fmt: skip
    assert body["supply"] == {
        "totalSupply": tokens(supply(137)),
        "totalSupplyRaw": str(supply(137)),
    }
    assert (body["accuracy"], body["source"]) == ("exact", "store")
    assert isinstance(body["timestamp"], int)
    assert body["lastUpdated"].endswith("Z")
    again = api.get(
        "/api/holders?chainId=137&pageSize=10", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


def test_rest_holders_pages_defaults_and_all_chains(api: TestClient) -> None:
    default = api.get("/api/holders").json()  # chainId 1, pageSize 50
    assert default["chain"] == {"id": 1, "name": "Ethereum"}
    assert default["pagination"]["pageSize"] == 50
    assert [r["TokenHolderAddress"] for r in default["data"]] == [a for a, _, _ in expected(1)]
    assert api.get("/api/holders?pageSize=3").json()["pagination"]["pageSize"] == 10
    assert api.get("/api/holders?pageSize=9999").json()["pagination"]["pageSize"] == 500
    every = api.get("/api/holders?chainId=0&pageSize=10&page=2").json()
    assert every["chain"] == {"id": 0, "name": "All Chains"}
    want = expected()
    assert [(r["TokenHolderAddress"], r["chainId"]) for r in every["data"]] == [
        (a, c) for a, _, c in want[10:20]
    ]
    assert every["pagination"]["total"] == len(want)
    assert every["supply"]["totalSupplyRaw"] == str(sum(supply(c) for c in CHAINS))
    past = api.get(f"/api/holders?chainId=0&pageSize=10&page={len(want) // 10 + 2}").json()
    assert past["data"] == []
    assert past["pagination"]["hasMore"] is False


def test_rest_holders_search(api: TestClient) -> None:
    found = api.get("/api/holders?chainId=all&search=0xABCD").json()
    assert {r["TokenHolderAddress"] for r in found["data"]} == {"0xabcd" + "00" * 18}
    target = expected(56)[0][0]
    inside = target[10:16]  # digits from the middle: the legacy substring search
    body = api.get(f"/api/holders?chainId=56&search={inside}").json()
    assert target in [r["TokenHolderAddress"] for r in body["data"]]
    assert all(inside in r["TokenHolderAddress"][2:] for r in body["data"])


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("chainId=999", "invalid_chain", "chainId"),
        ("chainId=abc", "invalid_chain", "chainId"),
        ("page=0", "invalid_page", "page"),
        ("page=x", "invalid_page", "page"),
        ("pageSize=ten", "invalid_page_size", "pageSize"),
        ("search=hello", "invalid_search", "search"),
    ],
)
def test_rest_holders_bad_input(api: TestClient, query: str, code: str, field: str) -> None:
    response = api.get(f"/api/holders?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


def test_rest_stats_document(api: TestClient, config: Config) -> None:
    response = api.get("/api/stats")
    assert response.status_code == 200
    assert response.headers["etag"]
    body = response.json()
    assert set(body) == {"totalHolders", "chains", "accuracy", "stale", "timestamp", "source"}
    counts = {c: len(expected(c)) for c in CHAINS}
    assert body["totalHolders"] == sum(counts.values())
    assert [c["chainId"] for c in body["chains"]] == [
        chain.id
        for chain in sorted(config.enabled_chains, key=lambda c: (-counts.get(c.id, 0), c.id))
    ]
    for item in body["chains"]:
        assert set(item) == {
            "chainName", "chainId", "holderCount", "supply", "accuracy", "complete", "coveredTo",
            "stale",
        }  # fmt: skip
        chain_id = item["chainId"]
        assert item["holderCount"] == counts.get(chain_id, 0)
        # Every chain is covered from its first block (transfer_data.load): exact, even
        # where it holds no transfer (holderCount 0, never the legacy "unsupported").
        assert (item["supply"], item["accuracy"], item["complete"]) == (
            str(supply(chain_id)) if chain_id in CHAINS else "0", "exact", True,
        )  # fmt: skip
    cronos = next(c for c in body["chains"] if c["chainId"] == 25)
    assert "unsupported" not in cronos
    assert body["accuracy"] == "exact"
