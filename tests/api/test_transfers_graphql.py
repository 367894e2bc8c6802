"""GraphQL transfers: the Relay connection over every filter and order (forwards and
backwards), pageInfo, opt-in totalCount and its accuracy, transfer(), DataLoaders, and every
refusal as an error with extensions.code."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.ops import transfer_service
from app.store import transfer_pages
from app.store.transfer_sql import Order, TransferFilter
from tests.api import transfer_data
from tests.api.test_transfers_pages import FILTERS, MID, ROWS
from tests.api.test_transfers_rest import listening, wait_for
from tests.api.transfer_data import HOLDERS, dataset, expected
from tests.conftest import make_config

QUERY = """
query($chainId: SafeInt, $address: String, $from: String, $to: String, $txHash: String,
      $fromBlock: SafeInt, $toBlock: SafeInt, $since: DateTime, $until: DateTime,
      $minValue: BigInt, $maxValue: BigInt, $first: Int, $after: String, $last: Int,
      $before: String, $orderBy: TransferOrder! = NEWEST_FIRST) {
  transfers(chainId: $chainId, address: $address, from: $from, to: $to, txHash: $txHash,
            fromBlock: $fromBlock, toBlock: $toBlock, since: $since, until: $until,
            minValue: $minValue, maxValue: $maxValue, first: $first, after: $after,
            last: $last, before: $before, orderBy: $orderBy) {
    edges { cursor node { id chainId blockNumber blockTime txHash logIndex from to value } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
ARGUMENTS = {
    "chain_id": "chainId", "address": "address", "from_address": "from", "to_address": "to",
    "tx_hash": "txHash", "from_block": "fromBlock", "to_block": "toBlock", "since": "since",
    "until": "until", "min_value": "minValue", "max_value": "maxValue",
}  # fmt: skip


@pytest.fixture
def api(config: Config) -> Iterator[TestClient]:
    transfer_data.load(config, ROWS)
    with TestClient(create_app(config)) as client:
        yield client


def variables(f: TransferFilter) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, argument in ARGUMENTS.items():
        value = getattr(f, name)
        if value is None:
            continue
        if name in {"min_value", "max_value"}:
            value = str(value)
        elif name in {"since", "until"}:
            value = value.isoformat()
        found[argument] = value
    return found


def run(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    return body


def connection(client: TestClient, **variables: Any) -> dict[str, Any]:
    body = run(client, QUERY, **variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["transfers"]
    return result


def ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


def reference(f: TransferFilter, order: Order) -> list[str]:
    return [f"{r.chain_id}:{r.tx_hash}:{r.log_index}" for r in expected(ROWS, f, order)]


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("order", list(Order))
def test_every_filter_and_order_pages_forward(api: TestClient, name: str, order: Order) -> None:
    f = FILTERS[name]
    seen: list[str] = []
    after = None
    while True:
        page = connection(api, **variables(f), first=11, after=after, orderBy=order.name)
        seen += ids(page)
        info = page["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert seen == reference(f, order)


@pytest.mark.parametrize("order", list(Order))
def test_last_and_before_page_backwards_to_the_same_rows(api: TestClient, order: Order) -> None:
    f = TransferFilter(address=HOLDERS[1])
    seen: list[str] = []
    before = None
    while True:
        page = connection(api, **variables(f), last=8, before=before, orderBy=order.name)
        seen = ids(page) + seen
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == reference(f, order)


def test_after_and_before_cut_a_window(api: TestClient) -> None:
    full = connection(api, chainId=137, first=30)
    cursors = [edge["cursor"] for edge in full["edges"]]
    window = connection(api, chainId=137, after=cursors[4], before=cursors[20], first=100)
    assert ids(window) == ids(full)[5:20]
    assert window["pageInfo"]["hasNextPage"] is False


def test_node_fields(api: TestClient) -> None:
    row = expected(ROWS, TransferFilter(chain_id=137), Order.NEWEST_FIRST)[0]
    node = connection(api, chainId=137, first=1)["edges"][0]["node"]
    assert node == {
        "id": f"137:{row.tx_hash}:{row.log_index}",
        "chainId": 137,
        "blockNumber": row.block_number,
        "blockTime": row.block_time.isoformat(),
        "txHash": row.tx_hash,
        "logIndex": row.log_index,
        "from": row.from_address,
        "to": row.to_address,
        "value": str(row.value),
    }


def test_values_are_exact_strings_up_to_uint256(api: TestClient) -> None:
    page = connection(api, minValue=str(2**256 - 1), first=5)
    assert page["edges"]
    assert {edge["node"]["value"] for edge in page["edges"]} == {str(2**256 - 1)}


def test_first_zero_and_the_1000_clamp(config: Config) -> None:
    # Amounts play no part here. Left at 2^256 - 1 for one row in ten, 1100 rows would add up
    # past numeric(78,0) in an address's balances total, which the write path refuses.
    rows = [replace(row, value=Decimal(int(row.value) % 10**24)) for row in dataset(1100, seed=5)]
    transfer_data.load(config, rows)
    with TestClient(create_app(config)) as client:
        assert connection(client, first=0)["edges"] == []
        assert len(connection(client, first=5000)["edges"]) == 1000
        assert len(connection(client, last=1001)["edges"]) == 1000
        assert len(connection(client)["edges"]) == 25  # the default


COUNT = "query($f: SafeInt, $a: String) { transfers(chainId: $f, address: $a, first: 1) { totalCount totalCountAccuracy } }"  # noqa: E501


def test_total_count_is_exact_and_says_its_accuracy(api: TestClient) -> None:
    whole = run(api, COUNT)["data"]["transfers"]
    assert whole == {"totalCount": len(ROWS), "totalCountAccuracy": "EXACT"}
    polygon = run(api, COUNT, f=137)["data"]["transfers"]
    assert polygon["totalCount"] == sum(1 for row in ROWS if row.chain_id == 137)
    holder = run(api, COUNT, a=HOLDERS[3])["data"]["transfers"]
    assert holder["totalCount"] == len(
        expected(ROWS, TransferFilter(address=HOLDERS[3]), Order.NEWEST_FIRST)
    )


def test_total_count_is_partial_without_complete_coverage(config: Config) -> None:
    transfer_data.load(config, ROWS, cover=False)
    with TestClient(create_app(config)) as client:
        found = run(client, COUNT, f=137)["data"]["transfers"]
    assert found["totalCountAccuracy"] == "PARTIAL"


def test_total_count_is_only_counted_when_asked(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = transfer_pages.count

    async def counting(conn: Any, transfer_filter: TransferFilter) -> int:
        calls.append(transfer_filter)
        return await real(conn, transfer_filter)

    monkeypatch.setattr(transfer_pages, "count", counting)
    connection(api, address=HOLDERS[0], first=3)
    assert calls == []
    run(api, COUNT, a=HOLDERS[0])
    assert calls == [TransferFilter(address=HOLDERS[0])]


BAD = [
    ({"chainId": 999}, "invalid_chain", "chainId"),
    ({"address": "0x12"}, "invalid_address", "address"),
    ({"from": "nobody"}, "invalid_address", "from"),
    ({"to": "0x" + "z" * 40}, "invalid_address", "to"),
    ({"txHash": "0x1"}, "invalid_tx_hash", "txHash"),
    ({"fromBlock": 10, "toBlock": 9}, "invalid_block_range", "fromBlock"),
    ({"fromBlock": -1}, "invalid_block_range", "fromBlock"),
    ({"since": "2026-01-02T00:00Z", "until": "2026-01-01T00:00Z"}, "invalid_time_range", "since"),
    ({"minValue": "5", "maxValue": "4"}, "invalid_value_range", "minValue"),
    ({"minValue": "-1"}, "invalid_value_range", "minValue"),
    ({"maxValue": str(2**256)}, "invalid_value_range", "maxValue"),
    ({"first": -1}, "invalid_page_size", "first"),
    ({"last": -5}, "invalid_page_size", "last"),
    ({"first": 2, "last": 2}, "invalid_page_size", "last"),
    ({"after": "%%%"}, "invalid_cursor", "after"),
    ({"before": "AAAA"}, "invalid_cursor", "before"),
]  # fmt: skip


@pytest.mark.parametrize(("given", "code", "field"), BAD)
def test_bad_arguments_are_coded_errors(
    api: TestClient, given: dict[str, Any], code: str, field: str
) -> None:
    response = api.post("/graphql", json={"query": QUERY, "variables": given})
    assert response.status_code == 200  # a field error: data null, GraphQL over HTTP
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": code, "field": field}
    assert error["path"] == ["transfers"]


def test_cursors_of_other_queries_and_altered_ones_are_refused(api: TestClient) -> None:
    cursor = connection(api, chainId=137, first=2)["pageInfo"]["endCursor"]
    for given in ({"chainId": 56}, {"chainId": 137, "orderBy": "OLDEST_FIRST"}, {}):
        body = run(api, QUERY, after=cursor, **given)
        assert body["errors"][0]["extensions"]["code"] == "invalid_cursor", given
    altered = cursor[:-3] + ("xyz" if not cursor.endswith("xyz") else "abc")
    assert (
        run(api, QUERY, chainId=137, after=altered)["errors"][0]["extensions"]["code"]
        == "invalid_cursor"
    )


def test_malformed_scalars_are_invalid_input(api: TestClient) -> None:
    for given in ({"minValue": "12.5"}, {"minValue": "ten"}, {"chainId": 2**60}):
        response = api.post("/graphql", json={"query": QUERY, "variables": given})
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "invalid_input"


TRANSFER = """query($c: SafeInt!, $h: String!, $l: Int!) {
  a: transfer(chainId: $c, txHash: $h, logIndex: $l) { id value chain { name } }
  b: transfer(chainId: $c, txHash: $h, logIndex: 99) { id }
  c: transfer(chainId: 1, txHash: $h, logIndex: $l) { id }
}"""


def test_transfer_by_identity_in_one_batch(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    real = transfer_pages.find_transfers

    async def counting(conn: Any, keys: Any) -> Any:
        batches.append(len(keys))
        return await real(conn, keys)

    monkeypatch.setattr(transfer_pages, "find_transfers", counting)
    body = run(api, TRANSFER, c=137, h=MID.tx_hash, l=MID.log_index)
    assert body["data"]["a"] == {
        "id": f"137:{MID.tx_hash}:{MID.log_index}", "value": str(MID.value),
        "chain": {"name": "Polygon"},
    }  # fmt: skip
    assert (body["data"]["b"], body["data"]["c"]) == (None, None)
    assert batches == [3]  # three fields, one statement
    bad = run(api, TRANSFER, c=137, h="0x12", l=0)
    assert {e["extensions"]["code"] for e in bad["errors"]} == {"invalid_tx_hash"}


def test_chains_of_many_rows_are_read_once(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """N+1: the chain of 60 transfers comes from one chain-state read (the cache is off)."""
    transfer_data.load(config, ROWS)
    url = config.settings.database_url
    assert url is not None
    uncached = make_config(url.get_secret_value(), TOKENPULSE_CACHE_TTL_CHAINS_SECONDS="0")
    reads: list[int] = []
    real = transfer_service.chain_state

    async def counting(state: Any) -> Any:
        reads.append(1)
        return await real(state)

    monkeypatch.setattr(transfer_service, "chain_state", counting)
    query = "{ transfers(first: 60) { nodes { chain { id name coverage { ranges } } } } }"
    with TestClient(create_app(uncached)) as client:
        body = run(client, query)
    names = {node["chain"]["name"] for node in body["data"]["transfers"]["nodes"]}
    assert names == {"Ethereum", "BSC", "Polygon"}
    assert len(reads) == 1


def test_whole_answers_are_cached_until_a_batch_commits(api: TestClient, config: Config) -> None:
    def section() -> dict[str, Any]:
        caches = api.get("/api/cache-health").json()["caches"]
        found: dict[str, Any] = caches.get("graphql_responses", {"entries": 0, "hits": 0})
        return found

    listening(api)
    first = connection(api, chainId=137, first=3)
    assert connection(api, chainId=137, first=3) == first
    assert (section()["entries"], section()["hits"]) == (1, 1)
    run(api, "{ health { status } version }")  # health changes with time: never cached
    run(api, QUERY, chainId=999)  # an answer with errors: never cached
    assert section()["entries"] == 1
    top = transfer_data.tops(config, ROWS)[137]
    new = transfer_data.transfer(137, top + 7, 0, value=5)
    transfer_data.commit_batch(config, [new])
    wait_for(
        lambda: ids(connection(api, chainId=137, first=3))[0] == f"137:{new.tx_hash}:0",
        "the new transfer in the cached query",
    )


def test_paging_over_graphql_while_batches_commit_skips_and_repeats_nothing(
    api: TestClient, config: Config
) -> None:
    """End to end: cursors, the page cache and its invalidation by committed batches."""
    listening(api)
    original = set(reference(TransferFilter(), Order.NEWEST_FIRST))
    top = transfer_data.tops(config, ROWS)
    seen: list[str] = []
    after = None
    for round_ in range(100):
        page = connection(api, first=17, after=after)
        seen += ids(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        # A batch newer than everything (the tip) and one in the middle (backfill) commit.
        fresh = [
            transfer_data.transfer(137, top[137] + 100 + round_, 0),
            transfer_data.transfer(56, 56_400_000 + 1 + round_, 9, seconds=-1.0 - round_),
        ]
        transfer_data.commit_batch(config, fresh)
    assert len(seen) == len(set(seen))
    assert original <= set(seen)
