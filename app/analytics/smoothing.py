"""Additive exponential smoothing with a weekly season, the form chosen by AICc.

Four forms of one recursion (ETS with additive errors; Hyndman et al. 2008, class 1). With level
l, trend b and seven weekday effects s, for each day t with value y_t:

    forecast  f_t = l + b + s[t mod 7]        error  e_t = y_t - f_t
    update    l += b + alpha * e_t    b += beta * e_t    s[t mod 7] += gamma * e_t

``exponential-smoothing`` has neither trend nor season (b = s = 0), ``holt`` a trend, ``seasonal``
a season, ``holt-winters`` both. Each form's smoothing parameters are picked on a grid by the
least sum of squared one-step errors (SSE); the forms are then compared by AICc, which charges
each parameter and initial state, so a trend or a weekday pattern is only kept when the data
show one (on plain noise a fitted pattern would only add noise to the forecast).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SEASON = 7
# A coarse grid keeps a 90-day fit near 1.5 ms of CPython; a fine one (1,482 points) forecast
# no better on simulated series (docs/analytics.md).
ALPHAS = (0.05, 0.15, 0.3, 0.5, 0.75)
BETAS = (0.01, 0.05)
GAMMAS = (0.05, 0.2)


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    trend: bool
    season: bool

    @property
    def grid(self) -> tuple[tuple[float, float, float], ...]:
        """(alpha, beta, gamma) to try, smoothest first (ties go to the least reactive)."""
        betas = BETAS if self.trend else (0.0,)
        gammas = GAMMAS if self.season else (0.0,)
        return tuple(
            (a, b, g) for a in ALPHAS for b in betas for g in gammas if b <= a and g <= 1 - a
        )

    @property
    def parameters(self) -> int:
        """Smoothing parameters and initial states (seven weekday effects summing to ~0: 6)."""
        return (1 + 1) + (2 if self.trend else 0) + (1 + SEASON - 1 if self.season else 0)


FORMS = (
    Form("exponential-smoothing", trend=False, season=False),
    Form("holt", trend=True, season=False),
    Form("seasonal", trend=False, season=True),
    Form("holt-winters", trend=True, season=True),
)


@dataclass(frozen=True, slots=True)
class Fit:
    form: Form
    alpha: float
    beta: float
    gamma: float
    n: int  # days fitted
    sse: float
    level: float  # the states after the last day
    trend: float
    seasonal: tuple[float, ...]  # indexed by t mod 7

    @property
    def sigma(self) -> float:
        """The one-step error's standard deviation, SSE / (n - parameters)."""
        return math.sqrt(self.sse / (self.n - self.form.parameters))

    def aicc(self, floor: float) -> float:
        k = self.form.parameters
        sse = max(self.sse, floor)  # an exact fit has SSE 0, whose log is -inf
        return self.n * math.log(sse / self.n) + 2 * k + 2 * k * (k + 1) / (self.n - k - 1)

    def mean(self, k: int) -> float:
        """The forecast k days after the last day."""
        return self.level + k * self.trend + self.seasonal[(self.n - 1 + k) % SEASON]

    def spread(self, k: int) -> float:
        """Var(forecast error k days ahead) / sigma^2 = 1 + sum_{j<k} c_j^2 (ETS class 1)."""
        return 1 + sum(
            (self.alpha + self.beta * j + (self.gamma if j % SEASON == 0 else 0.0)) ** 2
            for j in range(1, k)
        )


def fit(y: Sequence[float]) -> Fit:
    """The best form for ``y`` (at least 14 days): least SSE within a form, least AICc across."""
    fits = [_best_in_form(y, form) for form in FORMS]
    floor = len(y) * (1e-9 * (1 + sum(abs(v) for v in y) / len(y))) ** 2
    return min(fits, key=lambda f: f.aicc(floor))  # on a tie, the simpler form (listed first)


def run(
    y: Sequence[float],
    form: Form,
    alpha: float,
    beta: float,
    gamma: float,
    bound: float = math.inf,
) -> Fit:
    """The recursion over ``y``; it stops early, with a partial SSE, once SSE exceeds ``bound``
    (the grid search's best so far)."""
    week1, week2 = sum(y[:SEASON]) / SEASON, sum(y[SEASON : 2 * SEASON]) / SEASON
    trend = (week2 - week1) / SEASON if form.trend else 0.0
    level = week1 - trend * (SEASON + 1) / 2  # the level just before day 0 (week 1's centre: 3)
    centre = (SEASON - 1) / 2
    seasonal = [y[i] - week1 - trend * (i - centre) if form.season else 0.0 for i in range(SEASON)]
    sse, i = 0.0, 0
    for value in y:  # the hot loop of a request: plain locals, i = t mod 7 without a modulo
        s = seasonal[i]
        error = value - level - trend - s
        sse += error * error
        if sse > bound:
            break
        level += trend + alpha * error
        trend += beta * error
        seasonal[i] = s + gamma * error
        i = 0 if i == SEASON - 1 else i + 1
    return Fit(form, alpha, beta, gamma, len(y), sse, level, trend, tuple(seasonal))


def _best_in_form(y: Sequence[float], form: Form) -> Fit:
    best: Fit | None = None
    for alpha, beta, gamma in form.grid:
        candidate = run(y, form, alpha, beta, gamma, bound=best.sse if best else math.inf)
        if best is None or candidate.sse < best.sse:
            best = candidate
    assert best is not None  # every form's grid has points
    return best
