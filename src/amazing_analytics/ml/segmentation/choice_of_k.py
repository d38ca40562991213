"""Choosing k: KMeans for each k of a range on a seeded sample, scored by silhouette,
Davies-Bouldin and inertia; the best silhouette wins (ties: the smaller k) and the stability of
the choice is the adjusted Rand index between two seeds. With ``fit_rows`` only the sampled rows
it flags (the visitors with enough views to say who they are) are fitted and scored; every
sampled row still gets the label of its nearest centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, pairwise_distances_argmin
from threadpoolctl import threadpool_limits

from amazing_analytics.ml.segmentation.features import (
    InsufficientDataError,
    distinct_rows_at_least,
)

#: KMeans restarts when scoring each k on the sample, and for the final fit.
N_INIT_SELECT = 4
N_INIT_FIT = 3
#: Below this many rows KMeans runs on one thread: OpenMP/BLAS thread start-up and spinning cost
#: more than they save on small data, and far more when another process holds a core.
PARALLEL_MIN_ROWS = 200_000
#: Rows per block when computing silhouettes (block x sample distance matrix in memory).
SILHOUETTE_BLOCK = 256
#: Silhouettes closer than this count as a tie (the smaller k wins).
SILHOUETTE_TIE = 1e-9


@dataclass(frozen=True)
class KScore:
    """Scores of one candidate k (KMeans fitted on the sample)."""

    k: int
    silhouette: float
    davies_bouldin: float
    inertia: float


@dataclass(frozen=True)
class KSelection:
    """Result of :func:`choose_k`.

    Attributes:
        rows: One :class:`KScore` per k, ascending k.
        chosen_k: The k with the best silhouette (ties: the smaller k).
        stability_ari: Adjusted Rand index between the fits with ``seed`` and ``seed + 1`` at
            the chosen k, on the sample (1.0 = the same partition).
        sample_size: Rows actually fitted and scored: those of the sample of
            ``min(sample_size, rows)`` rows that ``fit_rows`` flags (all without it).
        seed: The seed of the sample and of the KMeans fits.
        sample_rows: Row indices of X in the sample, ascending.
        sample_labels: Per k (ascending), the cluster (nearest centre) of each sampled row,
            fitted or not.
    """

    rows: tuple[KScore, ...]
    chosen_k: int
    stability_ari: float
    sample_size: int
    seed: int
    sample_rows: np.ndarray = field(default_factory=lambda: np.arange(0), compare=False, repr=False)
    sample_labels: tuple[np.ndarray, ...] = field(default=(), compare=False, repr=False)


def mean_silhouettes(X: np.ndarray, labelings: Sequence[np.ndarray]) -> list[float]:
    """Mean silhouette of each labeling of X (the definition of sklearn's silhouette_score).

    The pairwise distances are computed once, block by block, and shared by all labelings;
    per-cluster distance sums come from one matrix product with the stacked one-hot labels.
    """
    n = X.shape[0]
    sizes = [int(labels.max()) + 1 for labels in labelings]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    onehot = np.zeros((n, int(offsets[-1])))
    rows = np.arange(n)
    for labels, offset in zip(labelings, offsets[:-1], strict=True):
        onehot[rows, offset + labels] = 1.0
    # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b as one matrix product of augmented rows
    squared = np.einsum("ij,ij->i", X, X)[:, None]
    ones = np.ones((n, 1))
    left = np.hstack([X, squared, ones])
    right = np.ascontiguousarray(np.hstack([-2.0 * X, ones, squared]).T)
    sums = np.empty((n, onehot.shape[1]))
    for start in range(0, n, SILHOUETTE_BLOCK):
        stop = min(start + SILHOUETTE_BLOCK, n)
        distances = left[start:stop] @ right
        np.maximum(distances, 0.0, out=distances)
        distances[np.arange(stop - start), np.arange(start, stop)] = 0.0
        np.sqrt(distances, out=distances)
        sums[start:stop] = distances @ onehot
    scores = []
    for labels, size, offset in zip(labelings, sizes, offsets[:-1], strict=True):
        cluster_sums = sums[:, offset : offset + size]
        counts = np.bincount(labels, minlength=size).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            intra = cluster_sums[rows, labels] / (counts[labels] - 1.0)
            inter_all = cluster_sums / counts
            inter_all[rows, labels] = np.inf
            inter = inter_all.min(axis=1)
            samples = (inter - intra) / np.maximum(intra, inter)
        scores.append(float(np.mean(np.nan_to_num(samples))))
    return scores


def kmeans(X: np.ndarray, k: int, seed: int, n_init: int) -> KMeans:
    threads = 1 if X.shape[0] < PARALLEL_MIN_ROWS else None
    with threadpool_limits(limits=threads):
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed, algorithm="lloyd").fit(X)


def _checked_matrix(X: np.ndarray, k_min: int, k_max: int, sample_size: int) -> np.ndarray:
    """X as float64, after the argument and data checks of :func:`choose_k`."""
    if k_min < 2:
        raise ValueError(f"k_min must be at least 2, got {k_min}")
    if k_min > k_max:
        raise ValueError(f"k_min ({k_min}) must not exceed k_max ({k_max})")
    if sample_size < k_max + 1:
        raise ValueError(f"sample_size ({sample_size}) must be at least k_max + 1 ({k_max + 1})")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] == 0:
        raise ValueError(f"X must be a 2-d matrix with at least one column, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X has NaN or infinite values")
    n = X.shape[0]
    if n < k_min * 10:
        raise InsufficientDataError(
            f"choosing k needs at least {k_min * 10} customers (10 per cluster for "
            f"k_min={k_min}), but there are only {n}"
        )
    needed = k_max + 1
    distinct = distinct_rows_at_least(X, needed)
    if distinct < needed:
        raise InsufficientDataError(
            f"only {distinct} distinct customer profiles; trying up to k={k_max} clusters needs "
            f"at least {needed} distinct profiles"
        )
    return X


def _seeded_sample(
    X: np.ndarray, k_max: int, seed: int, sample_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, rows) of a seeded sample of ``min(sample_size, rows)`` rows, in row order."""
    n = X.shape[0]
    needed = k_max + 1
    m = min(sample_size, n)
    sample_rows = np.arange(n)
    if m < n:
        rng = np.random.default_rng(seed)
        sample_rows = np.sort(rng.choice(n, size=m, replace=False))
        sample = X[sample_rows]
        distinct = distinct_rows_at_least(sample, needed)
        if distinct < needed:
            raise InsufficientDataError(
                f"the sample of {m} customers has only {distinct} distinct profiles; trying up "
                f"to k={k_max} clusters needs at least {needed}: increase sample_size"
            )
    else:
        sample = X
    return sample_rows, sample


def choose_k(
    X: np.ndarray,
    k_min: int,
    k_max: int,
    seed: int,
    sample_size: int = 20000,
    fit_rows: np.ndarray | None = None,
) -> KSelection:
    """Score k = k_min..k_max on a seeded sample of X and pick the best silhouette.

    A sample of ``min(sample_size, rows)`` rows (drawn with ``seed``, kept in X's row order) is
    drawn; its rows flagged in ``fit_rows`` (default: all) are clustered with KMeans
    (``random_state=seed``) for each k, and their silhouette, Davies-Bouldin index and inertia
    (within-cluster sum of squares) are recorded. The chosen k has the highest silhouette
    (differences below 1e-9 are ties, won by the smaller k). The stability of the choice is the
    adjusted Rand index between that fit and a second fit with ``seed + 1`` on the same rows.
    Every sampled row gets the label of its nearest centre (``sample_labels``).

    Raises:
        ValueError: k_min < 2, k_min > k_max, sample_size < k_max + 1, X not a finite matrix,
            fit_rows not one flag per row.
        InsufficientDataError: fewer than ``k_min * 10`` rows to fit, or fewer than
            ``k_max + 1`` distinct rows to fit (in X or in the sample).
    """
    X = np.asarray(X, dtype=np.float64)
    fit = _fit_flags(X, fit_rows, k_min)
    _checked_matrix(X[fit] if X.ndim == 2 else X, k_min, k_max, sample_size)
    sample_rows, sample = _seeded_sample(X, k_max, seed, sample_size)
    fitted_rows = fit[sample_rows]
    fitted = sample[fitted_rows]
    if fitted.shape[0] < k_min * 10:
        raise InsufficientDataError(
            f"the sample has only {fitted.shape[0]} customers to fit; choosing k needs at least "
            f"{k_min * 10}: increase sample_size"
        )
    distinct = distinct_rows_at_least(fitted, k_max + 1)
    if distinct < k_max + 1:
        raise InsufficientDataError(
            f"the sample's customers to fit have only {distinct} distinct profiles; trying up "
            f"to k={k_max} clusters needs at least {k_max + 1}: increase sample_size"
        )
    fits = [kmeans(fitted, k, seed, N_INIT_SELECT) for k in range(k_min, k_max + 1)]
    silhouettes = mean_silhouettes(fitted, [fit.labels_ for fit in fits])
    rows = tuple(
        KScore(
            k=k,
            silhouette=silhouette,
            davies_bouldin=float(davies_bouldin_score(fitted, fit.labels_)),
            inertia=float(fit.inertia_),
        )
        for k, fit, silhouette in zip(range(k_min, k_max + 1), fits, silhouettes, strict=True)
    )
    best = max(silhouettes)
    chosen_index = next(i for i, s in enumerate(silhouettes) if s >= best - SILHOUETTE_TIE)
    chosen_k = rows[chosen_index].k
    other = kmeans(fitted, chosen_k, seed + 1, N_INIT_SELECT)
    stability = float(adjusted_rand_score(fits[chosen_index].labels_, other.labels_))
    labels = _sample_labels(sample, fitted_rows, fits)
    return KSelection(rows, chosen_k, stability, fitted.shape[0], seed, sample_rows, labels)


def _fit_flags(X: np.ndarray, fit_rows: np.ndarray | None, k_min: int) -> np.ndarray:
    """Which rows of X are fitted (all without ``fit_rows``), after the checks of the flags and
    of X's values that :func:`choose_k` makes before the others."""
    fit = np.ones(len(X) if X.ndim else 0, dtype=bool)
    if fit_rows is not None:
        fit = np.asarray(fit_rows, dtype=bool)
    if X.ndim == 2 and fit.shape != (X.shape[0],):
        raise ValueError(f"fit_rows needs one flag per row of X, got shape {fit.shape}")
    if X.ndim == 2 and not np.isfinite(X).all():
        raise ValueError("X has NaN or infinite values")
    if X.ndim == 2 and fit_rows is not None and int(fit.sum()) < k_min * 10:
        raise InsufficientDataError(
            f"choosing k needs at least {k_min * 10} customers to fit (10 per cluster for "
            f"k_min={k_min}), but only {int(fit.sum())} of the {X.shape[0]} have enough views to "
            "be fitted"
        )
    return fit


def _sample_labels(
    sample: np.ndarray, fitted_rows: np.ndarray, fits: Sequence[KMeans]
) -> tuple[np.ndarray, ...]:
    """Per fit, the cluster of every sampled row: its own label when it was fitted, else its
    nearest centre's."""
    labels = []
    for fit in fits:
        nearest = pairwise_distances_argmin(sample, fit.cluster_centers_)
        nearest[fitted_rows] = fit.labels_
        labels.append(np.asarray(nearest, dtype=np.int64))
    return tuple(labels)


def selection_to_table(selection: KSelection) -> pa.Table:
    """One row per k: k, silhouette, davies_bouldin, inertia, is_chosen, stability_ari (on the
    chosen row only, else null), sample_size, seed."""
    rows = selection.rows
    chosen = [row.k == selection.chosen_k for row in rows]
    return pa.table(
        {
            "k": pa.array([row.k for row in rows], pa.int64()),
            "silhouette": pa.array([row.silhouette for row in rows], pa.float64()),
            "davies_bouldin": pa.array([row.davies_bouldin for row in rows], pa.float64()),
            "inertia": pa.array([row.inertia for row in rows], pa.float64()),
            "is_chosen": pa.array(chosen, pa.bool_()),
            "stability_ari": pa.array(
                [selection.stability_ari if c else None for c in chosen], pa.float64()
            ),
            "sample_size": pa.array([selection.sample_size] * len(rows), pa.int64()),
            "seed": pa.array([selection.seed] * len(rows), pa.int64()),
        }
    )
