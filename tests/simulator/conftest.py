"""Simulator fixtures: a frozen real clock (ManualWall) so rate-limit windows are exact, a fixed
simulated start (2026-06-01) so data is the same on every run, and a small density."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.simulator import Clock, ManualWall, Simulator

START = 1_780_272_000.0  # 2026-06-01T00:00:00Z
SEED = 7
DENSITY = 0.1
TOKEN = "0x85cb098bdcd3ca929d2cd18fc7a2669ff0362242"
PRO = "test-pro-key"
FREE = "test-free-key"


def make_sim(seed: int = SEED, wall: ManualWall | None = None, **kwargs: Any) -> Simulator:
    clock = Clock(start=START, wall=wall or ManualWall(START), speed=kwargs.pop("speed", 1.0))
    return Simulator(seed=seed, clock=clock, density=kwargs.pop("density", DENSITY), **kwargs)


@pytest.fixture
def wall() -> ManualWall:
    return ManualWall(START)


@pytest.fixture
def sim(wall: ManualWall) -> Simulator:
    return make_sim(wall=wall)


@pytest.fixture
def client(sim: Simulator) -> Iterator[TestClient]:
    with TestClient(sim.app) as test_client:
        yield test_client


class SteppingWall(ManualWall):
    """Real time that moves 0.1 s at every reading, so a long module never trips a limit."""

    def __call__(self) -> float:
        self.t += 0.1
        return self.t


@pytest.fixture(scope="module")
def shared_sim() -> Simulator:
    """A read-only simulator shared by a module (history generated once). Simulated time is
    frozen (speed 0) so heads do not move between two requests of one test."""
    return make_sim(wall=SteppingWall(START), speed=0)


@pytest.fixture(scope="module")
def shared_client(shared_sim: Simulator) -> Iterator[TestClient]:
    with TestClient(shared_sim.app) as test_client:
        yield test_client


def etherscan(client: TestClient, **params: Any) -> Any:
    """GET /v2/api with a PRO key unless one is given; returns the decoded JSON body."""
    params.setdefault("apikey", PRO)
    response = client.get("/v2/api", params=params)
    assert response.status_code == 200
    return response.json()


def rpc(client: TestClient, chain_id: int, method: str, *params: Any, rpc_id: int = 1) -> Any:
    payload = {"jsonrpc": "2.0", "id": rpc_id, "method": method, "params": list(params)}
    return client.post(f"/rpc/{chain_id}", json=payload)
