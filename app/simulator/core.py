"""The :class:`Simulator`: one object holding the world, prices, keys, limits, faults and log.

Tests drive it directly (``sim.faults.add(...)``, ``sim.reorg(...)``, ``sim.truth(...)``,
``sim.calls``) and serve ``sim.app`` through a test client; ``run()`` serves it with uvicorn for
``tokenpulse simulate`` and the demo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app.simulator import truth
from app.simulator.calllog import CallLog
from app.simulator.clock import Clock
from app.simulator.faults import Faults
from app.simulator.limits import KeySpec, Limiter, default_keys
from app.simulator.prices import PriceBook
from app.simulator.world import World

if TYPE_CHECKING:
    from starlette.applications import Starlette


@dataclass(slots=True)
class Options:
    """Switches for the open points of upstreams.md §7."""

    free_offset: Literal["truncate", "error"] = "truncate"  # Free key asking offset > 1000
    rpc_limits: dict[int, tuple[int | None, int | None]] | None = None  # chain: (range, results)
    rpc_personalities: dict[int, str] | None = None  # chain: personality name
    price_per_minute: int = 30  # CoinGecko Demo / CMC Basic pacing, per key or client
    dexscreener_per_minute: int = 300
    cronos_per_second: int = 5  # explorer API (historic Cronoscan figure)
    # Disagreement on purpose, for the validation suite: the supply and holder count the
    # explorers and nodes *report* are off by a fraction (0.05: 5 % high, -0.01: 1 % low).
    # Keys: "supply", "holders", or "supply:137" for one chain (which wins). Truth is unskewed.
    skews: dict[str, float] = field(default_factory=dict)


class Simulator:
    def __init__(
        self,
        *,
        seed: int = 1,
        speed: float = 1.0,
        start: float | None = None,
        clock: Clock | None = None,
        keys: Mapping[str, KeySpec] | None = None,
        density: float | Mapping[int, float] = 1.0,
        chains_file: Path | None = None,
        options: Options | None = None,
    ) -> None:
        self.seed = seed
        self.clock = clock or Clock(speed=speed, start=start)
        self.world = World(seed=seed, clock=self.clock, density=density, chains_file=chains_file)
        self.prices = PriceBook(seed, self.clock)
        self.keys: dict[str, KeySpec] = dict(default_keys() if keys is None else keys)
        self.limiter = Limiter(self.clock.wall)
        self.faults = Faults(self.clock.wall, seed)
        self.calls = CallLog()
        self.options = options or Options()
        self._app: Starlette | None = None

    @property
    def app(self) -> Starlette:
        if self._app is None:
            from app.simulator.app import create_app  # the app imports this module

            self._app = create_app(self)
        return self._app

    def add_key(self, key: str, spec: KeySpec | str = "free") -> KeySpec:
        self.keys[key] = spec if isinstance(spec, KeySpec) else KeySpec.make(spec)
        return self.keys[key]

    def reported(self, figure: str, chain_id: int, value: int) -> int:
        """``value`` as the upstreams report it: skewed by ``options.skews`` (see Options)."""
        skews = self.options.skews
        fraction = skews.get(f"{figure}:{chain_id}", skews.get(figure, 0.0))
        return max(0, round(value * (1 + fraction))) if fraction else value

    def reorg(self, chain_id: int, depth: int) -> dict[str, Any]:
        """Replace a chain's top ``depth`` blocks; returns the fork point and old/new hashes."""
        head = self.world.head(chain_id)
        old = self.world.block(chain_id, head).hash
        fork, head = self.world.reorg(chain_id, depth)
        return {
            "chainId": chain_id,
            "forkPoint": fork,
            "head": head,
            "depth": depth,
            "oldHeadHash": old,
            "newHeadHash": self.world.block(chain_id, head).hash,
        }

    def truth(self, chain_id: int, what: str = "summary", **params: Any) -> Any:
        """Ground truth at the head: summary, transfers, holders, holder-count, supply."""
        return truth.query(self.world, chain_id, what, **params)

    def state(self) -> dict[str, Any]:
        world = self.world
        return {
            "seed": self.seed,
            "speed": self.clock.speed,
            "now": self.clock.now(),
            "chains": {
                str(cid): {
                    "name": spec.name,
                    "head": world.head(cid),
                    "safe": world.safe(cid),
                    "finalized": world.finalized(cid),
                    "genesis": world.ledgers[cid].genesis,
                    "ratePerDay": world.ledgers[cid].rate,
                    "reorgs": world.timelines[cid].reorg_count,
                }
                for cid, spec in world.chains.items()
            },
        }

    def warm(self) -> None:
        """Generate every chain's history up to its head (otherwise done on first use)."""
        for chain_id in self.world.chains:
            self.world.ledgers[chain_id].ensure(self.world.head(chain_id))
