"""``GET /api/analytics``: every figure against a direct computation over the raw transfers
(each range, one chain and all chains), the legacy shape field by field, empty and single-day
stores, every bad input, and the response cache (ETag, 304, invalidation by a batch)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.analytics import series
from app.asgi import create_app
from app.config import Config
from app.domain import Transfer
from tests.api import analytics_data as data
from tests.api import transfer_data

ROWS = data.dataset()
DEC = 18


@pytest.fixture
def api(config: Config) -> Iterator[TestClient]:
    data.load(config, ROWS)
    with TestClient(create_app(config)) as client:
        yield client


def get(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get("/api/analytics", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def tokens(raw: int) -> float:
    return round(series.tokens(raw, DEC), 4)


def check_against_raw(body: dict[str, Any], want: data.Expected, days: list[date]) -> None:
    """Every store-derived figure of the document equals the raw rows' one."""
    assert [d["date"] for d in body["dailyData"]] == [day.isoformat() for day in days]
    for entry in body["dailyData"]:
        day = want.days.get(date.fromisoformat(entry["date"]))
        if day is None:
            assert (entry["count"], entry["volumeRaw"], entry["uniqueAddresses"]) == (0, "0", 0)
            continue
        assert entry["count"] == day.count
        assert entry["volumeRaw"] == str(day.volume)
        assert entry["volume"] == tokens(day.volume)
        assert entry["uniqueAddresses"] == day.active
        assert entry["uniqueSenders"] == day.senders
        assert entry["uniqueReceivers"] == day.receivers
        assert entry["largestTransfer"] == tokens(day.largest)
        assert entry["medianTransferSize"] == float(day.median / 10**DEC)
    m = body["analyticsMetrics"]
    assert m["totalTransfers"] == want.transfers
    assert m["totalVolumeRaw"] == str(want.volume)
    assert m["totalVolume"] == tokens(want.volume)
    assert m["activeAddresses"] == want.active
    assert (m["uniqueSenders"], m["uniqueReceivers"]) == (want.senders, want.receivers)
    assert m["dailyAvgTransfers"] == (round(want.transfers / len(days), 2) if days else 0)
    if want.previous is None:
        assert (m["transfersChange"], m["volumeChange"], m["addressesChange"]) == (None,) * 3
    else:
        p_count, p_volume, p_active = want.previous
        assert m["transfersChange"] == _change(want.transfers, p_count)
        assert m["volumeChange"] == _change(want.volume, p_volume)
        assert m["addressesChange"] == _change(want.active, p_active)
    busiest = max(want.days.items(), key=lambda i: (i[1].count, i[1].volume, -i[0].toordinal()))
    assert m["peakActivity"] == {
        "transfers": busiest[1].count,
        "volume": tokens(busiest[1].volume),
        "date": busiest[0].isoformat(),
    }
    chains = {c["chainId"]: c for c in body["chainDistribution"]}
    assert set(chains) == set(want.chains)
    for chain_id, (count, volume, active) in want.chains.items():
        got = chains[chain_id]
        assert (got["count"], got["volumeRaw"], got["uniqueAddresses"]) == (
            count,
            str(volume),
            active,
        )
    volumes = [int(c["volumeRaw"]) for c in body["chainDistribution"]]
    assert volumes == sorted(volumes, reverse=True)
    top = [
        (
            a["address"],
            a["sent"],
            a["received"],
            int(a["sentVolumeRaw"]),
            int(a["receivedVolumeRaw"]),
        )
        for a in body["topAddresses"]
    ]
    assert top == want.top_addresses
    assert [a["totalTxs"] for a in body["topAddresses"]] == [t[1] + t[2] for t in top]
    whales = [(w["chainId"], w["hash"], w["logIndex"], w["valueRaw"]) for w in body["topWhales"]]
    assert whales == [(r.chain_id, r.tx_hash, r.log_index, str(int(r.value))) for r in want.whales]
    assert body["performance"]["totalTransfersAnalyzed"] == want.transfers
    assert body["performance"]["dataPoints"] == len(days)


def _change(current: int, previous: int) -> float | None:
    if previous == 0:
        return 0.0 if current == 0 else None
    return round((current - previous) / previous * 100, 2)


def window_days(range_name: str, want: data.Expected) -> list[date]:
    today = data.today()
    if range_name == "all":
        first = min(want.days, default=None)
        return [] if first is None else _days(first, today)
    return _days(today - timedelta(days=data.RANGE_DAYS[range_name] - 1), today)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.mark.parametrize("chain_id", [None, 137])
def test_every_figure_matches_the_raw_transfers(api: TestClient, chain_id: int | None) -> None:
    for range_name in ("7d", "30d", "90d", "all"):
        params = {"timeRange": range_name}
        if chain_id is not None:
            params["chainId"] = str(chain_id)
        body = get(api, **params)
        want = data.expected(ROWS, range_name, chain_id)
        assert want.transfers > 0
        assert body["timeRange"] == range_name
        assert body["chainId"] == ("all" if chain_id is None else str(chain_id))
        check_against_raw(body, want, window_days(range_name, want))
    if chain_id is not None:
        # One chain is part of the all-chains answer, never all of it.
        one = get(api, timeRange="90d", chainId=str(chain_id))["analyticsMetrics"]
        every = get(api, timeRange="90d")["analyticsMetrics"]
        assert 0 < one["totalTransfers"] < every["totalTransfers"]


def test_a_custom_range_and_its_previous_period(api: TestClient) -> None:
    last = data.today() - timedelta(days=3)
    first = last - timedelta(days=13)
    body = get(api, timeRange="custom", **{"from": first.isoformat(), "to": last.isoformat()})
    want = data.expected(ROWS, "custom", None, first, last)
    check_against_raw(body, want, _days(first, last))
    assert body["window"] == {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "today": data.today().isoformat(),
        "previousStart": (first - timedelta(days=14)).isoformat(),
        "previousEnd": (first - timedelta(days=1)).isoformat(),
    }


def test_the_legacy_shape_field_by_field(api: TestClient) -> None:
    body = get(api, timeRange="30d")
    assert body["success"] is True
    assert body["timeRange"] == "30d"
    assert body["chainId"] == "all"
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    day_fields = {
        "date": str,
        "displayDate": str,
        "count": int,
        "volume": float,
        "uniqueAddresses": int,
        "avgTransferSize": float,
        "volumeRaw": str,
        "uniqueSenders": int,
        "uniqueReceivers": int,
        "largestTransfer": float,
    }
    assert len(body["dailyData"]) == 30
    for entry in body["dailyData"]:
        assert set(entry) == {*day_fields, "medianTransferSize"}
        for name, kind in day_fields.items():
            assert isinstance(entry[name], kind), name
        assert entry["medianTransferSize"] is None or isinstance(entry["medianTransferSize"], float)
        day = date.fromisoformat(entry["date"])
        assert entry["displayDate"] == f"{day.strftime('%b')} {day.day}"
    metric_fields: dict[str, type | tuple[type, ...]] = {
        "totalTransfers": int,
        "totalVolume": float,
        "avgTransferSize": float,
        "activeAddresses": int,
        "transfersChange": (float, type(None)),
        "volumeChange": (float, type(None)),
        "addressesChange": (float, type(None)),
        "dailyAvgTransfers": float,
        "dailyAvgVolume": float,
        "peakActivity": dict,
        "volatility": float,
        "medianDailyTransfers": float,
        "totalVolumeRaw": str,
        "uniqueSenders": int,
        "uniqueReceivers": int,
    }
    metrics = body["analyticsMetrics"]
    assert set(metrics) == set(metric_fields)
    for name, kinds in metric_fields.items():
        assert isinstance(metrics[name], kinds), name
    assert set(metrics["peakActivity"]) == {"transfers", "volume", "date"}
    predictions = body["predictions"]
    assert set(predictions) >= {"transfers", "volume", "dates", "details"}
    assert len(predictions["transfers"]) == len(predictions["volume"]) == 7  # 30d: 7 days
    assert all(isinstance(v, float | int) and v >= 0 for v in predictions["transfers"])
    tomorrow = data.today() + timedelta(days=1)
    assert predictions["dates"][0] == tomorrow.isoformat()
    for series_name in ("transfers", "volume"):
        detail = predictions["details"][series_name]
        assert detail["level"] == 0.8
        assert set(detail) == {"method", "level", "parameters", "points"}
        for point in detail["points"]:
            assert set(point) == {"date", "value", "lower", "upper"}
            if point["lower"] is not None:
                assert point["lower"] <= point["value"] <= point["upper"]
    anomalies = body["anomalies"]
    assert anomalies["method"] == "robust-z"
    assert anomalies["threshold"] == 3.5
    spike_fields = {"index", "value", "zScore", "date", "expected", "deviation"}
    spike_fields |= {"severity", "direction"}
    for key in ("transferSpikes", "volumeSpikes", "addressSpikes"):
        for spike in anomalies[key]:
            assert set(spike) == spike_fields
            assert isinstance(spike["zScore"], str)
            assert float(spike["zScore"])
            assert spike["severity"] in {"low", "medium", "high"}
            assert spike["direction"] in {"spike", "dip"}
            assert body["dailyData"][spike["index"]]["date"] == spike["date"]
    # The 40-transfer day 20 days ago is found.
    spike_day = (data.today() - timedelta(days=20)).isoformat()
    assert spike_day in {s["date"] for s in anomalies["transferSpikes"]}
    for chain in body["chainDistribution"]:
        assert set(chain) == {
            "chain",
            "count",
            "volume",
            "uniqueAddresses",
            "percentage",
            "chainId",
            "volumeRaw",
        }
        assert chain["percentage"].endswith("%")
    names = {1: "Ethereum", 56: "BSC", 137: "Polygon"}
    assert {c["chainId"]: c["chain"] for c in body["chainDistribution"]} == names
    shares = sum(float(c["percentage"][:-1]) for c in body["chainDistribution"])
    assert shares == pytest.approx(100, abs=0.02)
    assert len(body["topAddresses"]) == 15
    for address in body["topAddresses"]:
        assert set(address) == {
            "address",
            "totalTxs",
            "sent",
            "received",
            "volume",
            "sentVolumeRaw",
            "receivedVolumeRaw",
        }
        raw = int(address["sentVolumeRaw"]) + int(address["receivedVolumeRaw"])
        assert address["volume"] == tokens(raw)
    assert len(body["topWhales"]) == 15
    by_hash = {(r.tx_hash, r.log_index, r.chain_id): r for r in ROWS}
    for whale in body["topWhales"]:
        assert set(whale) == {
            "hash",
            "from",
            "to",
            "value",
            "timeStamp",
            "chain",
            "chainId",
            "logIndex",
            "valueRaw",
        }
        row = by_hash[(whale["hash"], whale["logIndex"], whale["chainId"])]
        assert (whale["from"], whale["to"]) == (row.from_address, row.to_address)
        assert whale["timeStamp"] == int(row.block_time.timestamp())
        assert whale["value"] == tokens(int(row.value))
        assert whale["chain"] == names[row.chain_id]
    performance = body["performance"]
    assert set(performance) == {
        "computeTimeMs",
        "dataPoints",
        "totalTransfersAnalyzed",
        "cacheStatus",
        "cacheAge",
        "mode",
    }
    assert performance["cacheStatus"] == "persistent-cache"
    assert performance["mode"] == "persistent"
    assert performance["computeTimeMs"] >= 0
    newest = max(r.block_time for r in ROWS)
    stamp = datetime.fromisoformat(body["timestamp"])
    assert performance["cacheAge"] == max(int((stamp - newest).total_seconds()), 0)


def test_an_empty_store(client: TestClient) -> None:
    for range_name, days in (("7d", 7), ("30d", 30), ("90d", 90), ("all", 0)):
        body = get(client, timeRange=range_name)
        assert len(body["dailyData"]) == days
        assert all(d["count"] == 0 and d["volumeRaw"] == "0" for d in body["dailyData"])
        m = body["analyticsMetrics"]
        assert (m["totalTransfers"], m["totalVolume"], m["activeAddresses"]) == (0, 0.0, 0)
        assert m["peakActivity"] == {"transfers": 0, "volume": 0.0, "date": None}
        expected_change = None if range_name == "all" else 0.0
        assert m["transfersChange"] == expected_change
        assert body["predictions"]["details"]["transfers"]["method"] == "none"
        assert body["anomalies"]["transferSpikes"] == []
        assert body["chainDistribution"] == body["topAddresses"] == body["topWhales"] == []
        assert body["performance"]["cacheAge"] is None


@pytest.mark.parametrize("back", [0, 1])
def test_a_single_day_of_data(config: Config, back: int) -> None:
    day = data.today() - timedelta(days=back)
    rows = data.one_day(day, 6)
    data.load(config, rows)
    with TestClient(create_app(config)) as client:
        for range_name in ("7d", "all"):
            body = get(client, timeRange=range_name)
            want = data.expected(rows, range_name)
            days = _days(day, data.today()) if range_name == "all" else None
            check_against_raw(body, want, days or window_days(range_name, want))
            for name in ("transfers", "volume"):
                assert body["predictions"]["details"][name]["method"] == "naive"
            assert body["predictions"]["transfers"] == [6.0] * 3
            assert body["anomalies"]["transferSpikes"] == []


BAD = [
    ({"chainId": "999"}, "invalid_chain", "chainId"),
    ({"chainId": "polygon"}, "invalid_chain", "chainId"),
    ({"chainId": "-1"}, "invalid_chain", "chainId"),
    ({"timeRange": "custom"}, "invalid_range", "from"),
    ({"timeRange": "custom", "from": "2026-01-01"}, "invalid_range", "to"),
    ({"timeRange": "custom", "from": "2026-02-01", "to": "2026-01-01"}, "invalid_range", "from"),
    ({"timeRange": "custom", "from": "2026-01-01", "to": "2999-01-01"}, "invalid_range", "to"),
    ({"timeRange": "custom", "from": "2020-01-01", "to": "2026-01-01"}, "invalid_range", "from"),
    ({"timeRange": "custom", "from": "01/02/2026", "to": "2026-01-03"}, "invalid_range", "from"),
    ({"timeRange": "custom", "from": "2026-01-01", "to": "2026-13-01"}, "invalid_range", "to"),
    ({"timeRange": "7d", "from": "2026-01-01"}, "invalid_range", "from"),
]


@pytest.mark.parametrize(("params", "code", "field"), BAD)
def test_bad_input_is_a_400_with_a_code(
    client: TestClient, params: dict[str, str], code: str, field: str
) -> None:
    response = client.get("/api/analytics", params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert "etag" not in response.headers


def test_an_unknown_time_range_falls_back_to_30d(client: TestClient) -> None:
    for raw in ("1y", "", "7D", "all "):
        body = get(client, timeRange=raw)
        assert body["timeRange"] == ("all" if raw == "all " else "30d")
    assert get(client, chainId="0")["chainId"] == "all"
    assert get(client, chainId="all")["chainId"] == "all"


def wait_for(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_answers_are_cached_with_an_etag_until_a_batch(api: TestClient, config: Config) -> None:
    wait_for(
        lambda: api.get("/api/cache-health").json()["notifications"]["connected"],
        "the notification listener",
    )
    first = api.get("/api/analytics", params={"timeRange": "7d", "chainId": "137"})
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert int(first.headers["cache-control"].rsplit("=", 1)[1]) <= 60
    again = api.get("/api/analytics", params={"timeRange": "7d", "chainId": "137"})
    assert again.content == first.content
    assert again.headers["etag"] == etag
    not_modified = api.get(
        "/api/analytics",
        params={"timeRange": "7d", "chainId": "137"},
        headers={"If-None-Match": etag},
    )
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    other = get(api, timeRange="7d", chainId="1")
    sections = api.get("/api/cache-health").json()["caches"]
    assert sections["analytics"]["entries"] == 2
    assert sections["rest_analytics"]["hits"] >= 2

    # A batch of chain 137 drops its answers (and the all-chains ones), not chain 1's.
    top = max(r.block_number for r in ROWS if r.chain_id == 137)
    new = transfer_data.transfer(
        137, top + 1, 0, value=7 * 10**18, seconds=0, sender=data.ADDRESSES[9]
    )
    new = _at(new, datetime.now(UTC) - timedelta(seconds=1))
    transfer_data.commit_batch(config, [new])
    data.refresh(config)

    def refreshed() -> bool:
        body = get(api, timeRange="7d", chainId="137")
        return bool(body["analyticsMetrics"]["totalTransfers"] == _count_7d(137) + 1)

    wait_for(refreshed, "the new transfer in /api/analytics")
    fresh = api.get("/api/analytics", params={"timeRange": "7d", "chainId": "137"})
    assert fresh.headers["etag"] != etag
    assert get(api, timeRange="7d", chainId="1")["timestamp"] == other["timestamp"]


def _count_7d(chain_id: int) -> int:
    return data.expected(ROWS, "7d", chain_id).transfers


def _at(row: Transfer, when: datetime) -> Transfer:
    return replace(row, block_time=when, value=Decimal(row.value))


def test_a_ttl_of_zero_reads_every_time(config: Config) -> None:
    data.load(config, ROWS[:50])
    cfg = Config(
        settings=config.settings.model_copy(update={"cache_ttl_analytics_seconds": 0}),
        token=config.token,
        chains=config.chains,
    )
    with TestClient(create_app(cfg)) as client:
        response = client.get("/api/analytics", params={"timeRange": "all"})
        assert response.headers["cache-control"] == "no-cache"
        assert "analytics" not in client.get("/api/cache-health").json()["caches"]


def test_a_database_outage_is_a_503_never_a_500(offline: TestClient) -> None:
    for params in ({"timeRange": "7d"}, {"timeRange": "all", "chainId": "137"}):
        response = offline.get("/api/analytics", params=params)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"
    graphql = offline.post("/graphql", json={"query": "{ analytics { range } }"})
    assert graphql.json()["errors"][0]["extensions"]["code"] == "database_unavailable"
