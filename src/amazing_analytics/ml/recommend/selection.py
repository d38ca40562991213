"""Model selection as evidence: bootstrap confidence intervals and the complexity rule.

* :func:`bootstrap_interval` - a percentile bootstrap interval of a ratio of sums (a mean over
  predictions or users), resampling whole units (sessions or users) with replacement, so the
  predictions of one session stay together. Seeded: the same input gives the same interval.
* :func:`select_by_evidence` - models are walked simplest first; a more complex model replaces
  the one serving only when the lower end of its interval is above the upper end of the
  serving model's interval. Below the minimum number of units nothing is selected on evidence
  and the simplest model serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Two-sided level of the intervals.
CONFIDENCE_LEVEL = 0.95
NOT_ENOUGH_EVIDENCE = "not_enough_evidence"


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None
    high: float | None


def resample_indices(n_units: int, n_samples: int, seed: int) -> np.ndarray:
    """(n_samples, n_units) unit indices drawn with replacement (empty when n_units is 0).

    Use the same draws for every model of a comparison (a paired bootstrap)."""
    if n_units == 0 or n_samples <= 0:
        return np.zeros((0, n_units), np.int64)
    return np.random.default_rng(seed).integers(0, n_units, size=(n_samples, n_units))


def bootstrap_interval(
    sums: np.ndarray, counts: np.ndarray, draws: np.ndarray, level: float = CONFIDENCE_LEVEL
) -> Interval:
    """sum(sums) / sum(counts) and its percentile interval over ``draws`` (resampled units).

    ``sums``: per unit, the summed metric (e.g. the hits of a session's predictions);
    ``counts``: per unit, what it is averaged over (its predictions; 1 for a per-user mean).
    """
    sums = np.asarray(sums, np.float64)
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    if sums.size == 0 or total <= 0:
        return Interval(None, None, None)
    value = float(sums.sum() / total)
    if draws.shape[0] == 0:
        return Interval(value, None, None)
    if np.all(counts == 1.0):  # a mean over units: every draw counts n units, exactly
        resampled_counts = np.full(draws.shape[0], float(draws.shape[1]))
    else:
        resampled_counts = counts[draws].sum(axis=1)
    ok = resampled_counts > 0
    ratios = sums[draws].sum(axis=1)[ok] / resampled_counts[ok]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail])
    return Interval(value, float(low), float(high))


def select_by_evidence(
    order: Sequence[str], intervals: Mapping[str, Interval]
) -> tuple[str, list[str]]:
    """The serving model: walk ``order`` (simplest first); a model replaces the serving one only
    when its interval's low end clears the serving model's high end. Returns the model and the
    reasons, one per step, in plain words."""
    present = [name for name in order if name in intervals]
    if not present:
        raise ValueError("no model to select from")
    serving = present[0]
    notes = []
    for name in present[1:]:
        candidate, incumbent = intervals[name], intervals[serving]
        if candidate.low is None or incumbent.high is None:
            notes.append(f"{name}: no interval, {serving} stays")
        elif candidate.low > incumbent.high:
            notes.append(
                f"{name} ({candidate.low:.4f}-{candidate.high:.4f}) clears {serving} "
                f"({incumbent.low:.4f}-{incumbent.high:.4f})"
            )
            serving = name
        else:
            notes.append(
                f"{name} ({candidate.low:.4f}-{candidate.high:.4f}) does not clear {serving} "
                f"({incumbent.low:.4f}-{incumbent.high:.4f})"
            )
    return serving, notes
