"""Small robust statistics on lists of floats; every function answers something on empty input."""

from __future__ import annotations

import math
from collections.abc import Sequence

MAD_TO_SIGMA = 1.4826  # 1/Φ⁻¹(3/4): a normal sample's MAD times this estimates its sigma
MEAN_AD_TO_SIGMA = 1.2533  # √(π/2): the same for the mean absolute deviation
Z_80 = 1.2816  # Φ⁻¹(0.9): the two-sided 80 % normal quantile

# Student t quantiles t(0.9, df), df = 1..30, for small-sample 80 % intervals; beyond: Z_80.
_T_80 = (
    3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372,
    1.363, 1.356, 1.350, 1.345, 1.341, 1.337, 1.333, 1.330, 1.328, 1.325,
    1.323, 1.321, 1.319, 1.318, 1.316, 1.315, 1.314, 1.313, 1.311, 1.310,
)  # fmt: skip


def median(values: Sequence[float]) -> float:
    """The median; 0.0 for an empty list."""
    return sorted_median(sorted(values))


def sorted_median(ordered: Sequence[float], without: int | None = None) -> float:
    """The median of an ascending list, leaving out the element at index ``without`` (a
    leave-one-out median in O(1)); 0.0 when nothing is left."""
    size = len(ordered) - (without is not None)
    if size <= 0:
        return 0.0

    def at(j: int) -> float:  # the j-th element of the list without ``without``
        return ordered[j + 1 if without is not None and j >= without else j]

    return (at((size - 1) // 2) + at(size // 2)) / 2


def robust_sigma(values: Sequence[float]) -> float:
    """Sigma estimated from the MAD; from the mean absolute deviation when over half the values
    are equal (MAD 0); 0.0 when all are equal or there are none."""
    centre = median(values)
    deviations = [abs(v - centre) for v in values]
    mad = median(deviations)
    if mad > 0:
        return MAD_TO_SIGMA * mad
    return MEAN_AD_TO_SIGMA * sum(deviations) / len(deviations) if deviations else 0.0


def pstdev(values: Sequence[float]) -> float:
    """Population standard deviation; 0.0 for fewer than two values."""
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def t_80(df: int) -> float:
    """t(0.9, df): half-width factor of a two-sided 80 % interval (df ≥ 1)."""
    return _T_80[df - 1] if df <= len(_T_80) else Z_80
