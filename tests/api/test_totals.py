"""Totals with accuracy (GraphQL ``totals``, GET /api/totals, GET /api/info) against the
simulator's ground truth: full coverage (exact, then verified by an agreeing explorer), partial
coverage (a lower bound, the explorer standing in for holders) and an upstream outage
(last-known-good, stale, with its age, never zero)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.domain import Figure as Kind
from app.simulator import Simulator
from app.store import figures
from app.store.pool import Pool
from tests.ingest.helpers import make_sim, opened, sim_config, sql, truth

QUERY = """query ($chainId: SafeInt) { totals(chainId: $chainId) {
  transfers { value accuracy source stale }
  holders { value accuracy stale }
  chains { chainId coverage { complete gaps firstBlock lastBlock }
    transfers { value accuracy source sourceTimestamp ageSeconds stale }
    volume { value accuracy }
    holders { value accuracy source stale ageSeconds upstream { value variance stale } }
    supply { value accuracy source upstream { value variance } } } } }"""


async def ingest(config: Config, pool: Pool, sim: Simulator, *, full: tuple[int, ...]) -> None:
    """A tip cycle on every enabled chain; history from the first block only on ``full``."""
    async with opened(config, pool, sim) as ingestor:
        for chain in config.enabled_chains:
            await ingestor.sync_tip(chain.id)
            if chain.id in full:
                await ingestor.backfill(chain.id, chain.first_block)


async def upstream(pool: Pool, chain_id: int, kind: Kind, value: int | None, **kw: Any) -> None:
    error = None if value is not None else kw.pop("error", "upstream_unavailable")
    async with pool.connection() as conn, conn.transaction():
        await figures.append(
            conn, figures.FigureAttempt(chain_id, kind, "etherscan", value, error, **kw)
        )


def totals(config: Config, chain_id: int | None) -> dict[str, Any]:
    with TestClient(create_app(config)) as client:
        response = client.post(
            "/graphql", json={"query": QUERY, "variables": {"chainId": chain_id}}
        )
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["totals"]
    return result


async def test_complete_coverage_is_exact_then_verified_by_the_explorer(
    database_url: str, pool: Pool
) -> None:
    sim = make_sim(density=0.01)
    config = sim_config(database_url)
    await ingest(config, pool, sim, full=(137,))
    rows = truth(sim, 137)
    found = totals(config, 137)["chains"][0]
    assert found["chainId"] == 137
    assert found["coverage"]["complete"]
    assert found["coverage"]["gaps"] == 0
    assert found["transfers"]["value"] == str(len(rows))
    assert found["transfers"]["accuracy"] == "EXACT"
    assert found["transfers"]["source"] == "store"
    assert found["transfers"]["sourceTimestamp"] is not None
    assert found["volume"]["value"] == str(sum(row[5] for row in rows))
    assert found["holders"]["value"] == str(sim.world.holder_count(137))
    assert found["holders"]["accuracy"] == "EXACT"
    assert found["supply"]["value"] == str(sim.world.supply(137))

    await upstream(pool, 137, Kind.HOLDERS, sim.world.holder_count(137))
    await upstream(pool, 137, Kind.SUPPLY, sim.world.supply(137))
    verified = totals(config, 137)["chains"][0]
    assert verified["holders"]["accuracy"] == "VERIFIED"
    assert verified["holders"]["upstream"] == [
        {"value": str(sim.world.holder_count(137)), "variance": 0.0, "stale": False}
    ]
    assert verified["supply"]["accuracy"] == "VERIFIED"

    # An explorer 10% off does not verify; ours stays the value, the variance is shown.
    await upstream(pool, 137, Kind.HOLDERS, round(sim.world.holder_count(137) * 1.1))
    off = totals(config, 137)["chains"][0]["holders"]
    assert off["accuracy"] == "EXACT"
    assert off["value"] == str(sim.world.holder_count(137))
    assert 0.08 < off["upstream"][0]["variance"] < 0.1


async def test_partial_coverage_and_an_outage_serve_the_last_good_value_stale(
    database_url: str, pool: Pool
) -> None:
    sim = make_sim(density=0.01)
    config = sim_config(database_url)
    await ingest(config, pool, sim, full=())  # tips only: history missing on every chain
    stored = await sql(pool, "select count(*) as n from transfers where chain_id = 1")
    partial = totals(config, 1)["chains"][0]
    assert not partial["coverage"]["complete"]
    assert partial["transfers"] == {
        "value": str(stored[0]["n"]), "accuracy": "PARTIAL", "source": "store",
        "sourceTimestamp": partial["transfers"]["sourceTimestamp"],
        "ageSeconds": partial["transfers"]["ageSeconds"], "stale": False,
    }  # fmt: skip
    assert partial["holders"]["accuracy"] == "PARTIAL"  # no explorer figure to stand in
    assert partial["supply"]["value"] is None  # part of the history bounds no supply

    await upstream(pool, 1, Kind.HOLDERS, 4321)
    await sql(
        pool, "update upstream_figures set fetched_at = now() - interval '2 hours' returning 1"
    )
    await upstream(pool, 1, Kind.HOLDERS, None, error="upstream_unavailable")  # the outage
    holders = totals(config, 1)["chains"][0]["holders"]
    assert holders["value"] == "4321"  # the last good value, never 0
    assert holders["accuracy"] == "ESTIMATED"
    assert holders["source"] == "etherscan"
    assert holders["stale"] is True
    assert 7_000 < holders["ageSeconds"] < 7_400

    everything = totals(config, None)
    assert everything["transfers"]["accuracy"] == "PARTIAL"
    # The sum is as good as its weakest part, and as stale as its stalest.
    assert everything["holders"]["accuracy"] == "ESTIMATED"
    assert int(everything["holders"]["value"]) > 4321
    assert everything["holders"]["stale"] is True
    assert len(everything["chains"]) == len(config.enabled_chains)


async def test_rest_totals_and_info(database_url: str, pool: Pool) -> None:
    sim = make_sim(density=0.01)
    config = sim_config(database_url)
    await ingest(config, pool, sim, full=tuple(chain.id for chain in config.enabled_chains))
    with TestClient(create_app(config)) as client:
        one = client.get("/api/totals", params={"chainId": 137})
        info = client.get("/api/info", params={"cb": "123", "force": "true"})
        bad = client.get("/api/totals", params={"chainId": "999"})
        etag = one.headers["etag"]
        again = client.get("/api/totals", params={"chainId": 137}, headers={"If-None-Match": etag})
    assert one.status_code == 200
    body = one.json()
    assert set(body) == {"chainId", "totals", "chains"}
    chain = body["chains"][0]
    assert chain["chainId"] == 137
    assert chain["chainName"] == "Polygon"
    assert chain["holders"]["value"] == str(sim.world.holder_count(137))
    assert chain["holders"]["accuracy"] == "exact"
    assert set(chain["supply"]) == {
        "value", "accuracy", "source", "sourceTimestamp", "ageSeconds", "stale", "upstream"
    }  # fmt: skip
    assert body["totals"]["supply"] == {**chain["supply"]}
    assert again.status_code == 304
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_chain"

    assert info.status_code == 200
    token = info.json()
    supply = sum(sim.world.supply(chain.id) for chain in config.enabled_chains)
    assert token["totalSupply"] == str(supply)
    assert token["tokenSymbol"] == config.token.symbol
    assert token["tokenDecimal"] == config.token.decimals
    assert token["formattedTotalSupply"] == _units(supply, config.token.decimals)
    assert token["_source"] == "database"
    assert token["_accuracy"] == "exact"
    assert token["circulatingSupply"] is None


def test_an_unknown_chain_is_a_graphql_error(config: Config) -> None:
    with TestClient(create_app(config)) as client:
        response = client.post(
            "/graphql", json={"query": "{ totals(chainId: 999) { chains { chainId } } }"}
        )
    assert response.json()["errors"][0]["extensions"]["code"] == "invalid_chain"


def _units(raw: int, decimals: int) -> str:
    whole, frac = divmod(raw, 10**decimals)
    text = f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".")
    return text
