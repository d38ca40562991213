"""The population stability index (PSI) and the binning it is computed on."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: A bin with no observation counts as this share, so PSI stays finite (the usual convention).
PSI_EPSILON = 1e-4


def population_stability_index(
    expected: Sequence[float], actual: Sequence[float], epsilon: float = PSI_EPSILON
) -> float:
    """PSI = sum over bins of (a - e) * ln(a / e), with a, e the bins' shares.

    ``expected`` and ``actual`` are counts (or shares) per bin, in the same bin order; a share
    of 0 counts as ``epsilon``. 0 = same distribution; by convention < 0.1 stable, 0.1-0.25 a
    moderate shift, > 0.25 a major shift.
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.ndim != 1 or len(e) == 0:
        raise ValueError("expected and actual must be two non-empty sequences of the same length")
    if (e < 0).any() or (a < 0).any() or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("bin counts must be >= 0 with a positive total")
    e_share = np.maximum(e / e.sum(), epsilon)
    a_share = np.maximum(a / a.sum(), epsilon)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def quantile_bins(training: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges: the training distribution's quantiles, duplicates dropped."""
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    known = training[~np.isnan(training)]
    if len(known) == 0:
        return np.empty(0)
    edges = np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(edges)


def binned_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin (right-closed at the edges), plus a last bin for missing values."""
    known = ~np.isnan(values)
    index = np.searchsorted(edges, values[known], side="left")
    counts = np.bincount(index, minlength=len(edges) + 1).astype(np.float64)
    return np.append(counts, float((~known).sum()))


def feature_psi(training: np.ndarray, latest: np.ndarray, bins: int) -> float:
    """PSI of one numeric variable, binned on the training window's quantiles (+ a null bin)."""
    edges = quantile_bins(training, bins)
    return population_stability_index(binned_counts(training, edges), binned_counts(latest, edges))
