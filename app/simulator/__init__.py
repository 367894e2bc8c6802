"""Upstream simulator: Etherscan V2, the Cronos explorer, JSON-RPC and four price APIs.

A Starlette app emulating the formats, types, limits and error texts of the real upstreams
(shared/reference/upstreams.md) over a deterministic, seeded world of ten chains, with faults,
reorgs and ground truth on demand. See docs/simulator.md.

    sim = Simulator(seed=7, speed=60, density=0.1)
    client = TestClient(sim.app)           # tests
    await serve(sim, port=9545)            # or: await run(port=9545, seed=7, speed=60)
"""

from app.simulator.app import create_app
from app.simulator.clock import Clock, ManualWall
from app.simulator.core import Options, Simulator
from app.simulator.limits import PLANS, KeySpec, Plan
from app.simulator.server import DEFAULT_PORT, run, serve

__all__ = [
    "DEFAULT_PORT",
    "PLANS",
    "Clock",
    "KeySpec",
    "ManualWall",
    "Options",
    "Plan",
    "Simulator",
    "create_app",
    "run",
    "serve",
]
