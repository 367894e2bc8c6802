"""The chains table: the configured chains mirrored idempotently, listed with coverage."""

from __future__ import annotations

import dataclasses

from app.config import Config
from app.store import chains, coverage
from app.store.pool import Connection


async def test_upsert_inserts_every_configured_chain(conn: Connection, config: Config) -> None:
    async with conn.transaction():
        assert await chains.upsert_chains(conn, config.chains) == 10
    rows = await chains.list_chains(conn)
    assert [row["chain_id"] for row in rows] == sorted(chain.id for chain in config.chains)
    by_id = {row["chain_id"]: row for row in rows}
    for chain in config.chains:
        row = by_id[chain.id]
        assert (row["name"], row["slug"], row["provider"]) == (
            chain.name,
            chain.slug,
            chain.provider.value,
        )
        assert row["token_address"] == chain.token_address
        assert row["first_block"] == chain.first_block
        assert row["finality"] == str(chain.finality)
        assert row["block_time_seconds"] == chain.block_time_seconds
        assert row["enabled"] is chain.enabled


async def test_upsert_is_idempotent(conn: Connection, config: Config) -> None:
    async with conn.transaction():
        await chains.upsert_chains(conn, config.chains)
    before = {row["chain_id"]: row["updated_at"] for row in await chains.list_chains(conn)}
    async with conn.transaction():
        assert await chains.upsert_chains(conn, config.chains) == 0
    after = {row["chain_id"]: row["updated_at"] for row in await chains.list_chains(conn)}
    assert after == before


async def test_upsert_updates_only_what_changed(conn: Connection, config: Config) -> None:
    async with conn.transaction():
        await chains.upsert_chains(conn, config.chains)
    changed = [
        dataclasses.replace(chain, enabled=False, first_block=chain.first_block + 1)
        if chain.id == 25
        else chain
        for chain in config.chains
    ]
    async with conn.transaction():
        assert await chains.upsert_chains(conn, changed) == 1
    cronos = {row["chain_id"]: row for row in await chains.list_chains(conn)}[25]
    assert cronos["enabled"] is False
    assert cronos["first_block"] == config.chains[-1].first_block + 1


async def test_list_chains_summarises_coverage(conn: Connection, config: Config) -> None:
    async with conn.transaction():
        await chains.upsert_chains(conn, config.chains)
        await coverage.add_range(conn, 137, 100, 199)
        await coverage.add_range(conn, 137, 300, 349)
        await coverage.add_range(conn, 137, 200, 209)
    by_id = {row["chain_id"]: row for row in await chains.list_chains(conn)}
    polygon = by_id[137]
    assert polygon["covered_blocks"] == 160
    assert type(polygon["covered_blocks"]) is int  # bigint, not numeric: no Decimal upstairs
    assert polygon["first_covered_block"] == 100
    assert polygon["last_covered_block"] == 349
    assert polygon["ranges"] == 2
    ethereum = by_id[1]
    assert ethereum["covered_blocks"] == 0
    assert ethereum["ranges"] == 0
    assert ethereum["first_covered_block"] is None
    assert ethereum["last_covered_block"] is None


async def test_list_chains_is_empty_before_upsert(conn: Connection) -> None:
    assert await chains.list_chains(conn) == []
