"""Serving the simulator over HTTP with uvicorn (``tokenpulse simulate``, ``tokenpulse demo``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

import uvicorn

from app.simulator.core import Options, Simulator
from app.simulator.limits import KeySpec

DEFAULT_PORT = 9545
log = logging.getLogger(__name__)


async def serve(
    sim: Simulator, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, warm: bool = True
) -> None:
    """Serve ``sim.app`` until cancelled. ``warm`` generates history in a background thread
    so the first queries find it ready (the server answers meanwhile)."""
    config = uvicorn.Config(sim.app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    warming = asyncio.create_task(asyncio.to_thread(sim.warm)) if warm else None
    log.info(
        "simulator listening on http://%s:%d (seed %d, speed %s)",
        host,
        port,
        sim.seed,
        sim.clock.speed,
    )
    try:
        await server.serve()
    finally:
        if warming is not None and not warming.done():
            await asyncio.shield(warming)


async def run(
    port: int = DEFAULT_PORT,
    seed: int = 1,
    speed: float = 1.0,
    *,
    host: str = "127.0.0.1",
    density: float | Mapping[int, float] = 1.0,
    keys: Mapping[str, KeySpec] | None = None,
    chains_file: Path | None = None,
    options: Options | None = None,
) -> None:
    """``tokenpulse simulate --port 9545 --seed N [--speed X]``: build a simulator and serve it."""
    sim = Simulator(
        seed=seed, speed=speed, density=density, keys=keys, chains_file=chains_file, options=options
    )
    await serve(sim, host=host, port=port)
