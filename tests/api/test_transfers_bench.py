"""The transfers API benchmark's parts stay working: the generated table, the legacy baseline,
the calls of every shape, the lean HTTP client and the report (make bench is not run by CI)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.store import chains as store_chains
from app.store import pool as pool_module
from bench import data, dataset, http1, legacy_app, load, transfers_api, transfers_report
from tests.conftest import make_config

SHARES = {137: 3000, 1: 700, 56: 300}
SEED = 99


def build(config: Config) -> dataset.Built:
    async def mirror() -> None:
        conn = await pool_module.connect(config.settings)
        async with conn, conn.transaction():
            await store_chains.upsert_chains(conn, config.chains)

    asyncio.run(mirror())
    dsn = config.settings.database_url.get_secret_value()  # type: ignore[union-attr]
    return dataset.build(dsn, SHARES, config.chains, SEED)


def test_generated_table(config: Config) -> None:
    dsn = config.settings.database_url.get_secret_value()  # type: ignore[union-attr]
    with psycopg.connect(dsn) as conn:
        indexes_before = sorted(
            r[0]
            for r in conn.execute("select indexdef from pg_indexes where tablename = 'transfers'")
        )
    built = build(config)
    assert built.rows == sum(SHARES.values())
    with psycopg.connect(dsn) as conn:
        per_chain: dict[object, object] = dict(
            conn.execute("select chain_id, count(*) from transfers group by 1").fetchall()
        )
        assert per_chain == SHARES
        keys = conn.execute(
            "select count(distinct (chain_id, block_number, log_index)) from transfers"
        ).fetchone()
        assert keys == (sum(SHARES.values()),)  # keyset keys never tie
        backwards = conn.execute(
            "select count(*) from (select block_time < lag(block_time) over w as back from"
            " transfers window w as (partition by chain_id order by block_number, log_index))"
            " as t where back"
        ).fetchone()
        assert backwards == (0,)  # block time grows with the block, as on a chain
        # Every address is one of holder(0..HOLDERS-1) or the hot one, derived alike in Python.
        known = {dataset.holder(SEED, index) for index in range(data.HOLDERS)}
        stored = {
            "0x" + bytes(address).hex()
            for (address,) in conn.execute(
                "select from_address from transfers union select to_address from transfers"
            )
        }
        hot = dataset.hot_address(SEED)
        assert stored <= known | {hot}
        assert len(stored & known) > 1000
        hot_rows = conn.execute(
            "select count(*) from transfers where from_address = %s or to_address = %s",
            (bytes.fromhex(hot[2:]),) * 2,
        ).fetchone()
        assert hot_rows is not None
        assert 0.05 < hot_rows[0] / built.rows < 0.15
        # balances as the write path would have kept them: each row counts for both its
        # addresses, a self-transfer once.
        per_address = conn.execute(
            "select chain_id, sum(transfers)::bigint from balances group by 1"
        ).fetchall()
        per_row = conn.execute(
            "select chain_id, count(*) * 2 - count(*) filter (where from_address = to_address)"
            " from transfers group by 1"
        ).fetchall()
        assert dict(per_address) == dict(per_row)
        indexes_after = sorted(
            r[0]
            for r in conn.execute("select indexdef from pg_indexes where tablename = 'transfers'")
        )
    assert indexes_after == indexes_before  # dropped for the load, rebuilt the same


def test_every_shape_is_served_and_the_baseline_agrees(config: Config, tmp_path: Path) -> None:
    build(config)
    dsn = config.settings.database_url.get_secret_value()  # type: ignore[union-attr]
    deep = transfers_api.deep_keys(dsn, sum(SHARES.values()), SEED)
    holders = [dataset.holder(SEED, index) for index in range(3)]
    shapes = transfers_api.shapes(holders, deep)
    assert [shape.name for shape in shapes] == [
        "first page, all chains", "first page, one chain", "address filter", "deep cursor page",
    ]  # fmt: skip
    with TestClient(create_app(config)) as api:
        for shape in shapes:
            for call in (*shape.rest, *shape.graphql):
                response = api.request(call.method, call.path, json=call.body)
                assert response.status_code == 200, (shape.name, response.text[:200])
                assert "errors" not in response.json()
        deep_rest = api.get(shapes[3].rest[0].path).json()
        address_total = api.get(shapes[2].rest[0].path).json()["meta"]["total"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOKENPULSE_DATABASE_URL", dsn)
        with TestClient(legacy_app.create()) as legacy:
            deep_legacy = legacy.get(shapes[3].legacy[0].path).json()
            everything = legacy.get("/legacy/transfers?chainId=0&pageSize=1").json()
            one_chain = legacy.get(shapes[1].legacy[0].path).json()
    assert everything["meta"]["total"] == sum(SHARES.values())
    holder = bytes.fromhex(holders[0][2:])
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select count(*) from transfers where from_address = %s or to_address = %s",
            (holder, holder),
        ).fetchone()
    assert (address_total,) == rows
    assert one_chain["meta"]["total"] == SHARES[137]
    assert len(deep_legacy["data"]) == len(deep_rest["data"]) == transfers_api.PAGE
    assert deep_legacy["meta"]["page"] == deep[0][1] // transfers_api.PAGE + 1


async def test_the_lean_client_reads_keep_alive_answers() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for status, body in ((200, b'{"ok":true}'), (404, b"")):
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            head = f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            writer.write(head + body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = http1.Connection("127.0.0.1", port)
    try:
        assert await conn.request("GET", "/a") == http1.Answer(200, b'{"ok":true}')
        assert await conn.request("GET", "/b") == http1.Answer(404, b"")  # same connection
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await conn.request("GET", "/c")
    finally:
        await conn.close()
        server.close()
    target = load.Target(f"http://127.0.0.1:{port}")
    assert (target.host, target.port) == ("127.0.0.1", port)


def _result(rows: int, p50: float) -> transfers_api.ApiBench:
    built = dataset.Built(rows, 1.0, 1.0, 1.0)
    result = transfers_api.ApiBench("portable", rows, built, 100.0, [10, 20], 50.0)
    for api, cache in (("REST", "uncached"), ("GraphQL", "uncached"), ("REST", "cached"),
                       ("GraphQL", "cached"), ("legacy", "")):  # fmt: skip
        for workers in (1, 32):
            latencies = [p50 * (2 if api == "legacy" else 1)] * 50
            result.measurements.append(
                transfers_api.Measurement(
                    "first page, all chains", api, cache, workers, latencies, 0.01, 0, None, 0.1
                )
            )
    return result


def test_report_sections_of_other_sizes_are_kept() -> None:
    when = datetime(2026, 11, 29, tzinfo=UTC)
    small = transfers_report.section([_result(1_000_000, 3.0)], when, (1.0, 2.0))
    large = transfers_report.section([_result(10_000_000, 4.0)], when, (1.0, 2.0))
    both = transfers_report.merge(transfers_report.merge(None, small), large)
    assert both.index("### 1,000,000 transfers") < both.index("### 10,000,000 transfers")
    again = transfers_report.merge(
        both, transfers_report.section([_result(1_000_000, 20.0)], when, (0, 0))
    )
    assert again.count("### 1,000,000 transfers") == 1
    assert "| first page, all chains | REST | uncached | 1 | 50 | 20.0 |" in again
    assert "### 10,000,000 transfers" in again
    assert "p95 <= 15 ms uncached at concurrency 1, REST: missed" in again
    assert "2.0x" in small  # the legacy ratio
    assert "met for every shape" in small


def test_config_of_the_uncached_server() -> None:
    settings = make_config(**transfers_api.UNCACHED).settings
    assert settings.cache_ttl_transfers_seconds == 0
    assert settings.cache_ttl_totals_seconds > 0  # chain totals stay cached, as documented
