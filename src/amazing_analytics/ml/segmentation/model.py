"""The fitted segmentation: KMeans at a given k, canonical segment ids, names and actions;
persisted as one Arrow row per segment, and applied to any customer by nearest centroid.

Determinism: rows are ordered by ``user_id`` before anything is fitted, and every random step
is seeded, so the same customers (in any row order) and the same seed give the same segments,
ids and names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.metrics import pairwise_distances_argmin_min

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.segmentation.actions import suggested_action
from amazing_analytics.ml.segmentation.choice_of_k import N_INIT_FIT, kmeans
from amazing_analytics.ml.segmentation.features import (
    EVIDENCE_FEATURE,
    PSEUDO_VIEWS,
    SEGMENT_FEATURES,
    TASTE_PSEUDO_VIEWS,
    TRANSFORM_NAMES,
    TRANSFORMS,
    InsufficientDataError,
    distinct_rows_at_least,
    evidence_views,
    population_means,
    prepare,
    read_raw,
)
from amazing_analytics.ml.segmentation.naming import describe_segments
from amazing_analytics.ml.segmentation.scaling import evidence_factors, scale, to_model_space


@dataclass(frozen=True, eq=False)
class SegmentModel:
    """A fitted segmentation; segment ids are the row indices of the arrays (canonical order:
    centroid revenue descending, then orders, then the other features).

    Attributes:
        k: Number of segments.
        seed: KMeans random_state.
        feature_names: Features, in column order of every array.
        transforms: Per feature, its transform before scaling (``log1p``, ``log``, ``sqrt``,
            ``identity``).
        pseudo_views: Per feature, the pseudo-count of its evidence shrinkage (0: none).
        means: Scaler means per feature (of the transformed values).
        stds: Scaler stds per feature (0: the scaled column is 0).
        weights: Group weight per feature (multiplies the z-score).
        centroids: (k, f) cluster centres in the scaled (weighted) space.
        centroids_raw: (k, f) means of the members' values in original units.
        sizes: Members per segment in the fitted data.
        names: Segment names, unique.
        actions: Suggested marketing action per segment.
    """

    k: int
    seed: int
    feature_names: tuple[str, ...]
    transforms: tuple[str, ...]
    pseudo_views: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    weights: np.ndarray
    centroids: np.ndarray
    centroids_raw: np.ndarray
    sizes: np.ndarray
    names: tuple[str, ...]
    actions: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in (
            "pseudo_views",
            "means",
            "stds",
            "weights",
            "centroids",
            "centroids_raw",
            "sizes",
        ):
            array = np.array(getattr(self, name), copy=True)
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def centroids_raw_by_feature(self) -> dict[str, np.ndarray]:
        """``{feature: centroid values per segment}`` (the input of the naming rules)."""
        return {name: self.centroids_raw[:, j] for j, name in enumerate(self.feature_names)}


def nearest_centroid(X: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest centroid, Euclidean distance) per row (ties: the lower index).

    sklearn's pairwise_distances_argmin_min works through the rows in chunks of its working
    memory, so no users x k distance matrix of the whole table is held at once.
    """
    if X.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    labels, distances = pairwise_distances_argmin_min(X, centroids, metric="euclidean")
    return labels.astype(np.int64), distances.astype(np.float64)


def _canonical_order(centroids_raw: np.ndarray, centroids: np.ndarray, names: Sequence[str]):
    """Cluster order: revenue desc, orders desc, then every raw and scaled coordinate desc."""
    revenue = names.index("revenue")
    orders = names.index("order_count")

    def key(i: int) -> tuple[float, ...]:
        return (
            -centroids_raw[i, revenue],
            -centroids_raw[i, orders],
            *(-centroids_raw[i]),
            *(-centroids[i]),
        )

    return sorted(range(centroids.shape[0]), key=key)


def _member_means(
    raw: np.ndarray,
    labels: np.ndarray,
    k: int,
    population: Mapping[str, float],
    names: Sequence[str],
) -> np.ndarray:
    """(k, f) mean of the members' known values per feature (the population's when none)."""
    means = np.empty((k, raw.shape[1]))
    for j, name in enumerate(names):
        column = raw[:, j]
        known = ~np.isnan(column)
        total = np.bincount(labels[known], weights=column[known], minlength=k)
        members = np.bincount(labels[known], minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[:, j] = np.where(members > 0, total / members, population[name])
    return means


def fit_segments(
    features: ArrowData,
    k: int,
    seed: int,
    *,
    action_copy: Mapping[tuple[str, str], str],
    family_labels: Mapping[str, str] | None = None,
) -> SegmentModel:
    """Fit KMeans with k clusters on the feature matrix, then name the clusters.

    KMeans (Lloyd, k-means++ init, ``n_init=3``, ``random_state=seed``) runs, in user_id order,
    on the visitors with at least TASTE_PSEUDO_VIEWS views (``PreparedFeatures.fit_rows``), so
    the same customers in any row order give the same model. Every customer is then assigned to
    the nearest centre exactly as :func:`assign_segments` does, the clusters are
    ordered canonically (centroid revenue descending, then orders, then the other features),
    and each gets a name (:func:`~amazing_analytics.ml.segmentation.naming.describe_segments`)
    and an action composed from ``action_copy`` (seed segment_actions).

    Raises:
        ValueError: k < 2 (or the errors of the feature matrix).
        InsufficientDataError: fewer than k distinct customer profiles.
    """
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    prepared = prepare(features)
    X = prepared.scaled
    distinct = distinct_rows_at_least(X[prepared.fit_rows], k)
    if distinct < k:
        raise InsufficientDataError(
            f"only {distinct} distinct customer profiles among the customers with at least "
            f"{TASTE_PSEUDO_VIEWS:g} views (those the clusters are fitted on), fewer than the "
            f"{k} segments asked for"
        )
    fitted = kmeans(X[prepared.fit_rows], k, seed, N_INIT_FIT)
    centroids = np.asarray(fitted.cluster_centers_, dtype=np.float64)
    labels, _ = nearest_centroid(X, centroids)
    counts = np.bincount(labels, minlength=k)
    feature_names = SEGMENT_FEATURES
    population = population_means(prepared.raw, feature_names)
    centroids_raw = _member_means(prepared.raw, labels, k, population, feature_names)
    order = _canonical_order(centroids_raw, centroids, list(feature_names))
    centroids, centroids_raw, counts = centroids[order], centroids_raw[order], counts[order]
    by_feature = {name: centroids_raw[:, j] for j, name in enumerate(feature_names)}
    segment_labels = describe_segments(by_feature, population, counts, family_labels)
    return SegmentModel(
        k=k,
        seed=seed,
        feature_names=feature_names,
        transforms=tuple(TRANSFORMS[name] for name in feature_names),
        pseudo_views=np.array([PSEUDO_VIEWS[name] for name in feature_names]),
        means=prepared.means,
        stds=prepared.stds,
        weights=prepared.weights,
        centroids=centroids,
        centroids_raw=centroids_raw,
        sizes=counts.astype(np.int64),
        names=tuple(label.name for label in segment_labels),
        actions=tuple(suggested_action(lab, action_copy, family_labels) for lab in segment_labels),
    )


_PER_FEATURE = (
    "centroid_{}",
    "scaled_{}",
    "scaler_mean_{}",
    "scaler_std_{}",
    "scaler_weight_{}",
    "scaler_pseudo_views_{}",
)
_LEADING = ("segment_id", "segment_name", "suggested_action", "segment_size", "k", "seed")


def model_to_table(model: SegmentModel) -> pa.Table:
    """One row per segment: everything :func:`assign_segments` needs.

    Columns: segment_id, segment_name, suggested_action, segment_size, k, seed, then per
    feature ``centroid_<f>`` (original units), ``scaled_<f>`` (scaled space), and the scaler
    ``scaler_mean_<f>``, ``scaler_std_<f>``, ``scaler_weight_<f>``, ``scaler_pseudo_views_<f>``
    and ``scaler_transform_<f>`` (the same on every row).
    """
    k = model.k
    columns: dict[str, pa.Array] = {
        "segment_id": pa.array(np.arange(k, dtype=np.int64)),
        "segment_name": pa.array(list(model.names), pa.string()),
        "suggested_action": pa.array(list(model.actions), pa.string()),
        "segment_size": pa.array(np.asarray(model.sizes, dtype=np.int64)),
        "k": pa.array(np.full(k, model.k, dtype=np.int64)),
        "seed": pa.array(np.full(k, model.seed, dtype=np.int64)),
    }
    for j, name in enumerate(model.feature_names):
        columns[f"centroid_{name}"] = pa.array(model.centroids_raw[:, j].copy())
    for j, name in enumerate(model.feature_names):
        columns[f"scaled_{name}"] = pa.array(model.centroids[:, j].copy())
    for j, name in enumerate(model.feature_names):
        columns[f"scaler_mean_{name}"] = pa.array(np.full(k, model.means[j]))
        columns[f"scaler_std_{name}"] = pa.array(np.full(k, model.stds[j]))
        columns[f"scaler_weight_{name}"] = pa.array(np.full(k, model.weights[j]))
        columns[f"scaler_pseudo_views_{name}"] = pa.array(np.full(k, model.pseudo_views[j]))
        columns[f"scaler_transform_{name}"] = pa.array([model.transforms[j]] * k, pa.string())
    return pa.table(columns)


def _constant(table: pa.Table, name: str) -> object:
    values = table.column(name).to_pylist()
    if any(v != values[0] for v in values):
        raise ValueError(f"{name} differs between segments")
    return values[0]


def _matrix(table: pa.Table, pattern: str, feature_names: Sequence[str]) -> np.ndarray:
    return np.column_stack(
        [
            np.asarray(table.column(pattern.format(n)).to_numpy(zero_copy_only=False), float)
            for n in feature_names
        ]
    )


def model_from_table(table: ArrowData) -> SegmentModel:
    """The :class:`SegmentModel` written by :func:`model_to_table` (rows in any order).

    Raises:
        ValueError: missing columns, segment ids that are not 0..k-1, or scaler values that
            differ between rows.
    """
    table = as_table(table)
    prefix = "centroid_"
    feature_names = tuple(c[len(prefix) :] for c in table.column_names if c.startswith(prefix))
    required = list(_LEADING)
    for name in feature_names:
        required += [p.format(name) for p in (*_PER_FEATURE[1:], "scaler_transform_{}")]
    missing = [c for c in required if c not in table.column_names]
    if not feature_names or missing:
        raise ValueError(
            "not a segment model table: missing "
            + (", ".join(missing) if missing else "centroid_<feature> columns")
        )
    table = table.sort_by("segment_id")
    ids = table.column("segment_id").to_numpy(zero_copy_only=False)
    k = table.num_rows
    if k == 0 or not np.array_equal(ids, np.arange(k)):
        raise ValueError(f"segment_id must be 0..k-1 without gaps, got {ids.tolist()}")
    if _constant(table, "k") != k:
        raise ValueError(f"column k says {_constant(table, 'k')} but the table has {k} segments")
    transforms = tuple(str(_constant(table, f"scaler_transform_{n}")) for n in feature_names)
    unknown = sorted(set(transforms) - TRANSFORM_NAMES)
    if unknown:
        raise ValueError(f"unknown feature transform(s) {', '.join(unknown)}")
    return SegmentModel(
        k=k,
        seed=int(_constant(table, "seed")),
        feature_names=feature_names,
        transforms=transforms,
        pseudo_views=np.array(
            [float(_constant(table, f"scaler_pseudo_views_{n}")) for n in feature_names]
        ),
        means=np.array([float(_constant(table, f"scaler_mean_{n}")) for n in feature_names]),
        stds=np.array([float(_constant(table, f"scaler_std_{n}")) for n in feature_names]),
        weights=np.array([float(_constant(table, f"scaler_weight_{n}")) for n in feature_names]),
        centroids=_matrix(table, "scaled_{}", feature_names),
        centroids_raw=_matrix(table, "centroid_{}", feature_names),
        sizes=np.asarray(table.column("segment_size").to_numpy(zero_copy_only=False), np.int64),
        names=tuple(table.column("segment_name").to_pylist()),
        actions=tuple(table.column("suggested_action").to_pylist()),
    )


def model_matrix(features: ArrowData, model: SegmentModel) -> tuple[np.ndarray, np.ndarray]:
    """(user_ids, X) of ``features`` in the model's scaled space, in the input's row order:
    filled, transformed, standardised, shrunk by the evidence and weighted with the model's
    stored scaler (unknown values scale to 0), exactly as the model was fitted.

    Raises:
        ValueError: the model shrinks features but ``features`` has no views column among the
            model's features (or the errors of :func:`read_raw`).
    """
    names = list(model.feature_names)
    pseudo = np.asarray(model.pseudo_views, dtype=np.float64)
    if (pseudo > 0).any() and EVIDENCE_FEATURE not in names:
        raise ValueError(
            f"the model shrinks features by {EVIDENCE_FEATURE}, not among its features"
        )
    user_ids, raw = read_raw(as_table(features), names, model.transforms)
    logged = to_model_space(raw, model.transforms)
    factors = evidence_factors(evidence_views(raw, names), pseudo)
    X = scale(
        logged, np.asarray(model.means), np.asarray(model.stds), np.asarray(model.weights), factors
    )
    return user_ids, X


def assign_segments(features: ArrowData, model: SegmentModel) -> pa.Table:
    """The nearest segment of every customer, in the row order of ``features``.

    Features are scaled with the model's scaler (:func:`model_matrix`), then each row goes to
    the nearest centroid (Euclidean in the scaled space; ties: the lower id).

    Returns:
        user_id (int64), segment_id (int64), segment_name (string),
        distance_to_centroid (float64).
    """
    user_ids, X = model_matrix(features, model)
    labels, distances = nearest_centroid(X, np.asarray(model.centroids))
    return pa.table(
        {
            "user_id": pa.array(user_ids, pa.int64()),
            "segment_id": pa.array(labels, pa.int64()),
            "segment_name": pc.take(pa.array(list(model.names), pa.string()), pa.array(labels)),
            "distance_to_centroid": pa.array(distances, pa.float64()),
        }
    )
