"""The 95 % intervals of the bias audit: Wilson score for a proportion, Hanley & McNeil (1982)
for an AUC, and a percentile bootstrap over units (sum(sums) / sum(counts))."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm

from amazing_analytics.ml.recommend.selection import bootstrap_interval, resample_indices

#: Two-sided 95 % intervals.
Z_95 = float(norm.ppf(0.975))
#: A bootstrap over fewer units than this gives no interval (a percentile of 1-2 blocks is noise).
MIN_BOOTSTRAP_UNITS = 3


def wilson_interval(successes: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion successes / n (n > 0)."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in 0..n, got {successes} of {n}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def auc_interval(
    auc: float, positives: int, negatives: int, z: float = Z_95
) -> tuple[float, float]:
    """Hanley & McNeil (1982) normal interval of an AUC from its numbers of positives/negatives."""
    if positives <= 0 or negatives <= 0:
        raise ValueError("an AUC interval needs at least one positive and one negative")
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    half = z * math.sqrt(max(variance, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def unit_bootstrap_interval(
    sums: Sequence[float], counts: Sequence[float], samples: int, seed: int
) -> tuple[float | None, float | None]:
    """Percentile 95 % interval of sum(sums) / sum(counts) with the units resampled (seeded).

    No interval with fewer than :data:`MIN_BOOTSTRAP_UNITS` units or no samples."""
    unit_sums = np.asarray(sums, np.float64)
    unit_counts = np.asarray(counts, np.float64)
    if unit_sums.shape != unit_counts.shape:
        raise ValueError("unit_sums and unit_counts must have the same length")
    if unit_sums.size < MIN_BOOTSTRAP_UNITS or samples <= 0:
        return None, None
    interval = bootstrap_interval(
        unit_sums, unit_counts, resample_indices(unit_sums.size, samples, seed)
    )
    return interval.low, interval.high
