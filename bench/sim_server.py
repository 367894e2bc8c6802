"""The simulator for the budget benchmark, in a process of its own (bench/ingest.py).

    python -m bench.sim_server --port 9545 --seed 7 --density 1

History is generated before the port opens, so no call waits for it and the harness knows
the simulator is ready when it answers. A separate process, like a real upstream: its work
does not run on the ingestor's event loop, and its call log is what the provider would see.
"""

from __future__ import annotations

import argparse
import asyncio

from app.simulator import Simulator, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sim_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--density", type=float, default=1.0)
    args = parser.parse_args(argv)
    sim = Simulator(seed=args.seed, density=args.density)
    sim.warm()
    asyncio.run(serve(sim, host="127.0.0.1", port=args.port, warm=False))


if __name__ == "__main__":
    main()
