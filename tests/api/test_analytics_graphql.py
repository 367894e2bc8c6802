"""GraphQL ``analytics``: the same figures as the raw transfers (each range, one chain and all
chains) and as ``/api/analytics``, the typed forecasts, anomalies and breakdowns, and a stable
``extensions.code`` for every bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from tests.api import analytics_data as data

ROWS = data.dataset(seed=23)

QUERY = """
query($range: AnalyticsRange!, $chainId: SafeInt, $from: Date, $to: Date) {
  analytics(range: $range, chainId: $chainId, from: $from, to: $to) {
    range chainId
    window { start end today previousStart previousEnd }
    daily { date transfers volume volumeTokens activeAddresses senders receivers largest
            medianTokens }
    metrics {
      totalTransfers totalVolume totalVolumeTokens avgTransferSizeTokens activeAddresses
      senders receivers transfersChange volumeChange addressesChange days dailyAvgTransfers
      dailyAvgVolumeTokens volatility medianDailyTransfers
      peak { date transfers volume volumeTokens }
    }
    predictions {
      transfers { method level parameters { name value } points { date value lower upper } }
      volume { method level parameters { name value } points { date value lower upper } }
    }
    anomalies {
      method threshold
      transfers { date index value expected deviation zScore severity direction }
      volume { date index value zScore severity direction }
      addresses { date index value zScore severity direction }
    }
    chainDistribution { chainId chainName transfers volume volumeTokens activeAddresses share }
    topAddresses { address transfers sent received sentVolume receivedVolume volumeTokens }
    topWhales { chainId chainName txHash logIndex fromAddress toAddress value valueTokens
                blockTime }
    performance { computeTimeMs computedAt dataPoints totalTransfersAnalyzed dataAgeSeconds }
  }
}
"""
RANGES = {"7d": "D7", "30d": "D30", "90d": "D90", "all": "ALL"}


@pytest.fixture
def api(config: Config) -> Iterator[TestClient]:
    data.load(config, ROWS)
    with TestClient(create_app(config)) as client:
        yield client


def ask(client: TestClient, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": QUERY, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"]["analytics"]
    return answer


@pytest.mark.parametrize("chain_id", [None, 56])
def test_every_figure_matches_the_raw_transfers_and_the_rest_answer(
    api: TestClient, chain_id: int | None
) -> None:
    for range_name, enum in RANGES.items():
        got = ask(api, range=enum, chainId=chain_id)
        want = data.expected(ROWS, range_name, chain_id)
        assert want.transfers > 0
        assert got["range"] == enum
        assert got["chainId"] == chain_id
        for day in got["daily"]:
            raw = want.days.get(date.fromisoformat(day["date"]))
            figures = (day["transfers"], int(day["volume"]), day["activeAddresses"])
            if raw is None:
                assert figures == (0, 0, 0)
                continue
            assert figures == (raw.count, raw.volume, raw.active)
            assert (day["senders"], day["receivers"]) == (raw.senders, raw.receivers)
            assert int(day["largest"]) == raw.largest
            assert day["medianTokens"] == float(raw.median / 10**18)
        assert {date.fromisoformat(d["date"]) for d in got["daily"] if d["transfers"]} == set(
            want.days
        )
        m = got["metrics"]
        assert (m["totalTransfers"], int(m["totalVolume"])) == (want.transfers, want.volume)
        assert (m["activeAddresses"], m["senders"], m["receivers"]) == (
            want.active,
            want.senders,
            want.receivers,
        )
        assert m["days"] == len(got["daily"])
        if want.previous is None:
            assert m["transfersChange"] is None
        else:
            before = want.previous[0]
            expected = (want.transfers - before) / before * 100 if before else None
            assert m["transfersChange"] == pytest.approx(expected)
        chains = {c["chainId"]: c for c in got["chainDistribution"]}
        assert {
            k: (c["transfers"], int(c["volume"]), c["activeAddresses"]) for k, c in chains.items()
        } == want.chains
        assert [
            (a["address"], a["sent"], a["received"], int(a["sentVolume"]), int(a["receivedVolume"]))
            for a in got["topAddresses"]
        ] == want.top_addresses
        assert [(w["txHash"], w["logIndex"], int(w["value"])) for w in got["topWhales"]] == [
            (r.tx_hash, r.log_index, int(r.value)) for r in want.whales
        ]
        # The legacy document shows the same numbers.
        params = {"timeRange": range_name}
        if chain_id is not None:
            params["chainId"] = str(chain_id)
        legacy = api.get("/api/analytics", params=params).json()
        assert [d["count"] for d in legacy["dailyData"]] == [d["transfers"] for d in got["daily"]]
        assert legacy["predictions"]["transfers"] == [
            round(p["value"], 2) for p in got["predictions"]["transfers"]["points"]
        ]
        assert [s["date"] for s in legacy["anomalies"]["transferSpikes"]] == [
            a["date"] for a in got["anomalies"]["transfers"]
        ]
        assert legacy["analyticsMetrics"]["volatility"] == round(m["volatility"], 2)


def test_typed_forecasts_anomalies_and_window(api: TestClient) -> None:
    got = ask(api, range="D90")
    today = data.today()
    assert got["window"] == {
        "start": (today - timedelta(days=89)).isoformat(),
        "end": today.isoformat(),
        "today": today.isoformat(),
        "previousStart": (today - timedelta(days=179)).isoformat(),
        "previousEnd": (today - timedelta(days=90)).isoformat(),
    }
    for name in ("transfers", "volume"):
        forecast = got["predictions"][name]
        assert forecast["method"] in {"EXPONENTIAL_SMOOTHING", "HOLT", "SEASONAL", "HOLT_WINTERS"}
        assert forecast["level"] == 0.8
        assert {p["name"] for p in forecast["parameters"]} >= {"alpha", "sigma"}
        points = forecast["points"]
        assert [p["date"] for p in points] == [
            (today + timedelta(days=k)).isoformat() for k in range(1, 8)
        ]
        for point in points:
            assert 0 <= point["lower"] <= point["value"] <= point["upper"]
    spikes = got["anomalies"]["transfers"]
    spike_day = (today - timedelta(days=20)).isoformat()
    found = next(a for a in spikes if a["date"] == spike_day)
    assert found["direction"] == "spike"
    assert found["severity"] in {"LOW", "MEDIUM", "HIGH"}
    assert found["zScore"] >= 3.5
    assert got["daily"][found["index"]]["date"] == spike_day
    assert found["deviation"] == pytest.approx(found["value"] - found["expected"])
    assert got["performance"]["dataPoints"] == 90
    assert got["performance"]["dataAgeSeconds"] >= 0


def test_an_empty_store(client: TestClient) -> None:
    got = ask(client, range="ALL")
    assert got["daily"] == []
    assert got["window"]["start"] is None
    assert got["metrics"]["totalTransfers"] == 0
    assert got["metrics"]["peak"] == {
        "date": None,
        "transfers": 0,
        "volume": "0",
        "volumeTokens": 0.0,
    }
    assert got["predictions"]["transfers"]["method"] == "NONE"
    assert got["performance"]["dataAgeSeconds"] is None
    week = ask(client, range="D7", chainId=137)
    assert len(week["daily"]) == 7
    assert week["metrics"]["transfersChange"] == 0.0


def test_a_custom_range(api: TestClient) -> None:
    last = data.today() - timedelta(days=1)
    first = last - timedelta(days=9)
    got = ask(api, range="CUSTOM", chainId=137, **{"from": str(first), "to": str(last)})
    want = data.expected(ROWS, "custom", 137, first, last)
    assert [d["date"] for d in got["daily"]] == [str(first + timedelta(days=i)) for i in range(10)]
    assert got["metrics"]["totalTransfers"] == want.transfers
    assert got["metrics"]["activeAddresses"] == want.active
    assert got["window"]["previousStart"] == str(first - timedelta(days=10))


BAD = [
    ({"range": "D30", "chainId": 999}, "invalid_chain", "chainId"),
    ({"range": "CUSTOM"}, "invalid_range", "from"),
    ({"range": "CUSTOM", "from": "2026-01-01"}, "invalid_range", "to"),
    ({"range": "CUSTOM", "from": "2026-02-01", "to": "2026-01-01"}, "invalid_range", "from"),
    ({"range": "CUSTOM", "from": "2026-01-01", "to": "2999-01-01"}, "invalid_range", "to"),
    ({"range": "CUSTOM", "from": "2020-01-01", "to": "2026-01-01"}, "invalid_range", "from"),
    ({"range": "D7", "to": "2026-01-01"}, "invalid_range", "to"),
]


@pytest.mark.parametrize(("variables", "code", "field"), BAD)
def test_bad_input_has_a_stable_code(
    client: TestClient, variables: dict[str, Any], code: str, field: str
) -> None:
    response = client.post("/graphql", json={"query": QUERY, "variables": variables})
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": code, "field": field}
    assert error["path"] == ["analytics"]


@pytest.mark.parametrize(
    "variables",
    [
        {"range": "D14"},
        {"range": "D30", "from": "yesterday"},
        {"range": "D30", "chainId": "1"},
        {"range": "CUSTOM", "from": "2026-02-30", "to": "2026-03-01"},
    ],
)
def test_malformed_variables_are_invalid_input(
    client: TestClient, variables: dict[str, Any]
) -> None:
    response = client.post("/graphql", json={"query": QUERY, "variables": variables})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "invalid_input"
