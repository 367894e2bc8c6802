"""Window sizing against the simulator: getLogs pages followed past 1,000 records without
ever asking page x offset > 10,000 (a window that fills 10 pages is split instead), and
JSON-RPC windows that shrink on range refusals (stated limits, suggested ranges) and grow
again after clean windows."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from app.simulator import Options
from app.store.pool import Pool
from tests.ingest.helpers import covered, make_sim, opened, sim_config, stored, truth

POLYGON, ETH = 137, 1


@pytest.fixture
def mode() -> str:
    return "portable"


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """Keeps every request's parameters (query or JSON body) with the decoded answer."""

    inner: httpx.AsyncBaseTransport
    seen: list[tuple[dict[str, Any], Any]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if request.method == "GET":
            asked: Any = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        else:
            asked = json.loads(request.content)
        self.seen.append((asked, json.loads(body) if body.startswith((b"{", b"[")) else None))
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def get_logs(self) -> list[dict[str, Any]]:
        return [
            asked
            for asked, _ in self.seen
            if isinstance(asked, dict) and asked.get("action") == "getLogs"
        ]

    def rpc_logs(self) -> list[tuple[dict[str, Any], Any]]:
        return [
            (asked["params"][0], answer)
            for asked, answer in self.seen
            if isinstance(asked, dict) and asked.get("method") == "eth_getLogs"
        ]


async def test_pages_past_1000_and_split_before_10000(database_url: str, pool: Pool) -> None:
    sim = make_sim(density={POLYGON: 400.0})
    head = sim.world.head(POLYGON)
    start = head - 1_600_000  # about 37 days: some 15,000 transfers
    config = sim_config(
        database_url,
        TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS="5000000",  # the whole range in one window
    )
    recorder = Recorder(httpx.ASGITransport(app=sim.app))
    async with opened(config, pool, sim, transport=recorder) as ingestor:
        report = await ingestor.backfill(POLYGON, start)
    asked = [(int(a["page"]), int(a["offset"]), int(a["fromBlock"])) for a in recorder.get_logs()]
    assert all(page * offset <= 10_000 for page, offset, _ in asked)
    assert max(page for page, offset, _ in asked if offset == 1_000) == 10  # the limit reached
    first_window = [page for page, _, lo in asked if lo == start]
    assert first_window[:10] == list(range(1, 11))  # then split, not page 11
    assert any(offset != 1_000 for _, offset, _ in asked)  # the last window was proven whole
    assert report.complete
    rows = await stored(pool, POLYGON)
    assert len(rows) == len(set(rows)) > 10_000
    assert set(rows) == truth(sim, POLYGON, from_block=start) - {
        r for r in truth(sim, POLYGON, from_block=start) if r[6] > report.to_block
    }
    assert await covered(pool, POLYGON) == [(start, report.to_block)]


async def test_rpc_windows_shrink_on_refusals_and_grow_again(database_url: str, pool: Pool) -> None:
    # Infura's manners with tighter limits: at most 5,000 blocks, at most 10 results (and a
    # suggested range that would fit).
    sim = make_sim(density={ETH: 300.0}, options=Options(rpc_limits={ETH: (5_000, 10)}))
    head = sim.world.head(ETH)
    start = head - 6_000
    config = sim_config(
        database_url,
        TOKENPULSE_INGEST_RPC_CHAINS="1",
        TOKENPULSE_INGEST_INITIAL_WINDOW_BLOCKS="50000",
    )
    recorder = Recorder(httpx.ASGITransport(app=sim.app))
    async with opened(config, pool, sim, transport=recorder) as ingestor:
        report = await ingestor.backfill(ETH, start)
    windows = [
        (int(f["fromBlock"], 16), int(f["toBlock"], 16), answer)
        for f, answer in recorder.rpc_logs()
    ]
    spans = [hi - lo + 1 for lo, hi, _ in windows]
    assert spans[0] > 5_000  # the configured first window...
    assert windows[0][2]["error"]["message"].endswith("exceeds limit of 5000")
    assert max(spans[1:]) <= 5_000  # ...then never past the stated limit again
    suggested = [
        (i, answer["error"]["data"])
        for i, (_, _, answer) in enumerate(windows)
        if "error" in answer and "data" in answer["error"]
    ]
    assert suggested, "no result-cap refusal with a suggested range"
    for i, hint in suggested:
        lo, hi, _ = windows[i + 1]
        assert (lo, hi) == (int(hint["from"], 16), int(hint["to"], 16))  # honoured exactly
    clean = [s for s, (_, _, a) in zip(spans, windows, strict=True) if "result" in a]
    assert any(b == 2 * a for a, b in itertools.pairwise(clean)), "windows never grew back"
    assert report.complete
    assert set(await stored(pool, ETH)) == {
        r for r in truth(sim, ETH, from_block=start) if r[6] <= report.to_block
    }
