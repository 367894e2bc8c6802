"""What a run proves, measured from outside the application: the store against the simulator's
ground truth, the provider's call log, warm status through the API, and memory from /proc.

Nothing here goes through the application's own code paths (only its database and its HTTP
API), so a bug in them cannot hide itself.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, LiteralString

import psycopg

from app.simulator.calllog import max_in_window
from reliability import procs
from reliability.stack import Simulator

Identity = tuple[str, int, int, str, str, str]  # tx hash, log index, block, from, to, value
REFUSED_FOR_PACE = frozenset({"rate_limited", "quota_exceeded"})


def query(dsn: str, sql: LiteralString, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        return conn.execute(sql, params or None).fetchall()


def coverage(dsn: str) -> list[tuple[int, int, int]]:
    """(chain, first block, last block) of every covered range."""
    rows = query(
        dsn, "select chain_id, lower(blocks), upper(blocks) - 1 from coverage order by 1, 2"
    )
    return [(int(chain), int(lo), int(hi)) for chain, lo, hi in rows]


def covered_blocks(dsn: str) -> int:
    rows = query(dsn, "select coalesce(sum(upper(blocks) - lower(blocks)), 0) from coverage")
    return int(rows[0][0])


WRITING = (
    "select count(*) from pg_stat_activity where application_name = 'tokenpulse'"
    " and backend_xid is not null"
    " and (query ilike '%transfers%' or query ilike '%coverage_add%')"
)


def wait_writing(dsn: str, timeout: float) -> bool:
    """Wait until a worker session is inside a batch's transaction that has written rows or
    coverage, uncommitted (True), or ``timeout`` passes (False). One connection, polled often:
    a batch's transaction lasts milliseconds."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(WRITING).fetchone()
            if row and row[0]:
                return True
            time.sleep(0.002)
    return False


def duplicates(dsn: str) -> int:
    rows = query(
        dsn,
        "select count(*) from (select 1 from transfers group by chain_id, tx_hash, log_index"
        " having count(*) > 1) d",
    )
    return int(rows[0][0])


def _stored(dsn: str, chain_id: int, lo: int, hi: int) -> set[Identity]:
    rows = query(
        dsn,
        "select tx_hash, log_index, block_number, from_address, to_address, value::text"
        " from transfers where chain_id = %s and block_number between %s and %s",
        (chain_id, lo, hi),
    )
    return {
        (
            "0x" + bytes(tx).hex(),
            int(ix),
            int(block),
            "0x" + bytes(a).hex(),
            "0x" + bytes(b).hex(),
            v,
        )
        for tx, ix, block, a, b, v in rows
    }


def _truth(sim: Simulator, chain_id: int, lo: int, hi: int) -> set[Identity]:
    return {
        (
            str(row["txHash"]).lower(),
            int(row["logIndex"]),
            int(row["blockNumber"]),
            str(row["from"]).lower(),
            str(row["to"]).lower(),
            str(row["value"]),
        )
        for row in sim.truth(chain_id, lo, hi)
    }


@dataclass
class TruthReport:
    ranges: int = 0
    expected: int = 0  # transfers the simulator holds in the covered ranges
    stored: int = 0  # transfers stored in those ranges
    lost: int = 0  # expected, not stored
    extra: int = 0  # stored, not expected (wrong fields count as one lost and one extra)
    duplicated: int = 0  # identities stored more than once
    outside_coverage: int = 0  # stored rows in no covered range
    chains: dict[int, dict[str, int]] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.expected > 0 and not (self.lost or self.extra or self.duplicated)

    def to_json(self) -> dict[str, Any]:
        return {
            "equal": self.equal,
            "ranges": self.ranges,
            "expected": self.expected,
            "stored": self.stored,
            "lost": self.lost,
            "extra": self.extra,
            "duplicated": self.duplicated,
            "outsideCoverage": self.outside_coverage,
            "chains": {str(chain): figures for chain, figures in self.chains.items()},
            "examples": self.examples,
        }


def against_truth(dsn: str, sim: Simulator) -> TruthReport:
    """Every covered range of every chain, row for row, against the simulator's truth."""
    report = TruthReport(duplicated=duplicates(dsn))
    in_ranges = 0
    for chain_id, lo, hi in coverage(dsn):
        expected, stored = _truth(sim, chain_id, lo, hi), _stored(dsn, chain_id, lo, hi)
        figures = report.chains.setdefault(chain_id, defaultdict(int))
        _add(report, figures, expected, stored)
        in_ranges += len(stored)
        if expected != stored and len(report.examples) < 5:
            report.examples.append(
                f"chain {chain_id} [{lo}, {hi}]: {len(expected ^ stored)} differ"
            )
    total = int(query(dsn, "select count(*) from transfers")[0][0])
    report.outside_coverage = total - in_ranges
    if report.outside_coverage:
        report.examples += _outside(dsn, sim)
    report.chains = {chain: dict(figures) for chain, figures in report.chains.items()}
    return report


OUTSIDE = (
    "select chain_id, block_number, count(*) from transfers t where not exists"
    " (select 1 from coverage c where c.chain_id = t.chain_id and c.blocks @> t.block_number)"
    " group by 1, 2 order by 1, 2 limit 20"
)


def _outside(dsn: str, sim: Simulator) -> list[str]:
    """Blocks with stored rows that no covered range holds, and whether those rows are true."""
    found = []
    for chain_id, block, count in query(dsn, OUTSIDE):
        true = _stored(dsn, chain_id, block, block) == _truth(sim, chain_id, block, block)
        found.append(f"outside coverage: chain {chain_id} block {block}: {count} rows, true={true}")
    return found


def _add(
    report: TruthReport, figures: dict[str, int], expected: set[Identity], stored: set[Identity]
) -> None:
    lost, extra = len(expected - stored), len(stored - expected)
    report.ranges += 1
    report.expected, report.stored = report.expected + len(expected), report.stored + len(stored)
    report.lost, report.extra = report.lost + lost, report.extra + extra
    figures["ranges"] += 1
    figures["expected"] += len(expected)
    figures["lost"] += lost
    figures["extra"] += extra


def pacing(sim: Simulator) -> dict[str, Any]:
    """Per-account rate-limit violations in the provider's call log (wall time).

    A violation is a call the provider refused for pace (rate limited, over the daily quota),
    or a call beyond the account's per-second figure in any 1-second window. Keys of one
    account share its limits, so calls are grouped by account."""
    keys = sim.get("/_sim/keys")["keys"]
    # An empty account is the key's own (limits.py).
    accounts = {
        fp: (str(spec["account"] or spec["label"]), int(spec["perSecond"]))
        for fp, spec in keys.items()
    }
    log = sim.get("/_sim/calls?limit=100000000")
    stamps: dict[str, list[float]] = defaultdict(list)
    refused: dict[str, int] = defaultdict(int)
    for call in log["calls"]:
        if call["key"] not in accounts:
            continue  # keyless calls (price sources): the provider's refusals count below
        account = accounts[call["key"]][0]
        stamps[account].append(float(call["ts"]))
    for call in log["calls"]:
        if call["outcome"] in REFUSED_FOR_PACE:
            refused[str(call["label"])] += 1
    limits = {account: limit for account, limit in accounts.values()}
    per_account = {
        account: {
            "calls": len(times),
            "maxPerSecond": max_in_window(times),
            "limit": limits[account],
        }
        for account, times in sorted(stamps.items())
    }
    over = sum(1 for item in per_account.values() if item["maxPerSecond"] > item["limit"])
    return {
        "calls": len(log["calls"]),
        "violations": over + sum(refused.values()),
        "refusedForPace": dict(refused),
        "accounts": per_account,
    }


def graphql(api_url: str, text: str, timeout: float = 15) -> Any:
    body = json.dumps({"query": text}).encode()
    req = urllib.request.Request(
        api_url + "/graphql", body, {"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=timeout) as answer:
        return json.loads(answer.read())


def warm_status(api_url: str) -> dict[str, str]:
    """Each enabled chain's warm status, through GraphQL."""
    data = graphql(api_url, "{ warmStatus { chainId enabled status } }")["data"]["warmStatus"]
    return {str(item["chainId"]): str(item["status"]) for item in data if item["enabled"]}


class MemorySampler(threading.Thread):
    """RSS of named processes every ``every`` seconds, by wall time since the start."""

    def __init__(self, services: dict[str, procs.Service], every: float) -> None:
        super().__init__(daemon=True)
        self.services, self.every = services, every
        self.samples: dict[str, list[tuple[float, int]]] = {name: [] for name in services}
        self.halt = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.halt.wait(self.every):
            for name, service in self.services.items():
                rss = procs.rss_bytes(service.pid) if service.alive() else None
                if rss is not None:
                    self.samples[name].append((time.monotonic() - started, rss))

    def stop(self) -> None:
        self.halt.set()
        self.join(self.every + 5)

    def report(self, max_growth: float) -> dict[str, Any]:
        return {name: memory_trend(points, max_growth) for name, points in self.samples.items()}


def slope(points: list[tuple[float, int]]) -> float:
    """Least-squares slope, bytes per second."""
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


def memory_trend(points: list[tuple[float, int]], max_growth: float) -> dict[str, Any]:
    """The fitted slope over the whole run and over its second half (after warm-up: caches
    filling, history loaded). No growth trend: the second half's fitted growth across that
    half stays under ``max_growth`` (a fraction) of its mean RSS."""
    if len(points) < 4:
        return {"samples": len(points), "growing": None}
    late = points[len(points) // 2 :]
    late_slope = slope(late)
    span = late[-1][0] - late[0][0]
    mean = sum(v for _, v in late) / len(late)
    growth = late_slope * span / mean
    mib = 1024 * 1024
    return {
        "samples": len(points),
        "firstMiB": round(points[0][1] / mib, 1),
        "lastMiB": round(points[-1][1] / mib, 1),
        "maxMiB": round(max(v for _, v in points) / mib, 1),
        "slopeMiBPerHour": round(slope(points) * 3600 / mib, 2),
        "secondHalfSlopeMiBPerHour": round(late_slope * 3600 / mib, 2),
        "secondHalfGrowth": round(growth, 4),
        "growing": growth > max_growth,
    }
