"""The simulator's clock: simulated "now" runs at ``speed`` times real time from an anchor.

Two readings are kept apart on purpose:

- ``now()`` is *simulated* unix time. Chain heads, block production and price walks follow it,
  so ``speed=60`` makes an hour of chain activity happen in a minute.
- ``wall()`` is *real* time. Rate limits, fault durations and the call log use it, because an
  upstream's "3 calls per second" is about the client's real pacing, whatever the demo speed.

Both are injectable so tests can freeze or step time instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    """Simulated time = ``start + (wall() - anchor) * speed + offset``."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        start: float | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._wall = wall
        self._anchor = wall()
        self._start = self._anchor if start is None else float(start)
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def start(self) -> float:
        """Simulated time when the clock was made (fixes the default history window)."""
        return self._start

    def wall(self) -> float:
        """Real unix time (rate limits, fault expiry, call log)."""
        return self._wall()

    def now(self) -> float:
        """Simulated unix time (chain heads, prices)."""
        return self._now_at(self._wall())

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on without jumping simulated time."""
        if speed < 0:
            raise ValueError("speed must be >= 0")
        wall = self._wall()
        self._start, self._anchor, self._speed = self._now_at(wall), wall, float(speed)

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (tests, scripted scenarios). Never backwards."""
        if seconds < 0:
            raise ValueError("the simulated clock never goes backwards")
        self._start += seconds

    def _now_at(self, wall: float) -> float:
        return self._start + (wall - self._anchor) * self._speed


class ManualWall:
    """A settable real-time source for tests: ``Clock(wall=ManualWall(t0))``."""

    def __init__(self, t: float = 1_780_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def tick(self, seconds: float) -> None:
        self.t += seconds
