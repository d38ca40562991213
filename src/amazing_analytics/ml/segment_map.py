"""The segment map: a 2-D projection of a customer sample, coloured by segment.

Marketing asked for a "cluster map". It is computed in the build (dbt Python model
``segment_map``), not in the dashboard, so every reader sees the same picture:

1. a seeded sample of the segmented customers, stratified by segment (each segment keeps its
   share of the sample, and at least ``min_per_segment`` points when it has them), drawn after
   ordering by ``user_id`` so that the row order of the inputs does not matter;
2. their features scaled exactly as the segmentation scales them, with the scaler stored in
   ``segment_centroids`` (transform, mean, std, evidence shrinkage and group weight per
   feature: :func:`~amazing_analytics.ml.segmentation.model_matrix`); when
   the segmentation fell back to RFM (no centroids), the RFM recency, frequency and monetary
   values are scaled on the sample instead (log1p on frequency and monetary, then
   scikit-learn's ``StandardScaler``);
3. a PCA to two components (scikit-learn), fitted on the sample, with the share of the variance
   each axis explains, so the chart can say how much of the picture it shows.

The table holds no ``user_id``: a point is a customer, but the map only needs where they are and
which segment they are in (data minimisation).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.segmentation.model import model_from_table, model_matrix

__all__ = [
    "SEGMENT_MAP_SCHEMA",
    "METHOD_SEGMENTATION_SPACE",
    "METHOD_RFM_FALLBACK",
    "MIN_POINTS",
    "build_segment_map",
    "stratified_sample",
]

logger = logging.getLogger(__name__)

#: The customers were scaled with the segmentation's own scaler (KMeans segments).
METHOD_SEGMENTATION_SPACE = "pca_segmentation_space"
#: No centroids: recency, frequency and monetary (customer_rfm) scaled on the sample.
METHOD_RFM_FALLBACK = "pca_rfm_fallback"
#: Fewer sampled customers than this give an empty map (a PCA of 2 points says nothing).
MIN_POINTS = 10
RFM_FEATURES: tuple[str, ...] = ("recency_days", "frequency", "monetary")
RFM_LOG1P: frozenset[str] = frozenset({"frequency", "monetary"})

SEGMENT_MAP_SCHEMA = pa.schema(
    [
        ("point_id", pa.int64()),
        ("segment_id", pa.int64()),
        ("segment_name", pa.string()),
        ("x", pa.float64()),
        ("y", pa.float64()),
        ("x_variance_share", pa.float64()),
        ("y_variance_share", pa.float64()),
        ("projection_method", pa.string()),
        ("sample_size", pa.int64()),
        ("segmented_customer_count", pa.int64()),
    ]
)


def stratified_sample(
    segment_ids: np.ndarray, sample_size: int, min_per_segment: int, seed: int
) -> np.ndarray:
    """Row positions of a seeded sample stratified by segment, in ascending order.

    Each segment gets ``round(sample_size x its share)`` rows, raised to ``min_per_segment``
    (never more than it has). ``segment_ids`` must already be in a canonical row order.
    """
    if sample_size < 1:
        raise ValueError(f"sample_size must be at least 1, got {sample_size}")
    total = len(segment_ids)
    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    for segment in np.unique(segment_ids):
        rows = np.flatnonzero(segment_ids == segment)
        wanted = max(round(sample_size * len(rows) / total), min_per_segment)
        take = min(len(rows), wanted)
        chosen.append(np.sort(rng.choice(rows, size=take, replace=False)))
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)


def _scaled_with_segmentation_scaler(sample: pa.Table, centroids: pa.Table) -> np.ndarray:
    model = model_from_table(centroids)
    require_columns(sample, model.feature_names, "customer_features (to match segment_centroids)")
    return model_matrix(sample, model)[1]


def _scaled_on_sample(sample: pa.Table) -> np.ndarray:
    """The RFM fallback: recency, log1p frequency and log1p monetary, standardised on the
    sample (a constant column keeps scale 1)."""
    columns = []
    for name in RFM_FEATURES:
        values = np.nan_to_num(numeric_column(sample, name), nan=0.0)
        if name in RFM_LOG1P:
            values = np.log1p(np.clip(values, 0.0, None))
        columns.append(values)
    return StandardScaler().fit_transform(np.column_stack(columns))


def _empty(reason: str) -> pa.Table:
    logger.warning("segment_map is empty: %s", reason)
    return SEGMENT_MAP_SCHEMA.empty_table()


def build_segment_map(
    features: ArrowData,
    segments: ArrowData,
    centroids: ArrowData,
    rfm: ArrowData,
    *,
    sample_size: int,
    seed: int,
    min_per_segment: int = 50,
) -> pa.Table:
    """The segment map (schema :data:`SEGMENT_MAP_SCHEMA`), one row per sampled customer.

    Args:
        features: ``customer_features`` (user_id and the segmentation's features).
        segments: ``customer_segments`` (user_id, segment_id, segment_name); customers without a
            segment id (visitors who never bought) are not on the map.
        centroids: ``segment_centroids``; empty when the segmentation fell back to RFM.
        rfm: ``customer_rfm`` (user_id, recency_days, frequency, monetary), for the fallback.
        sample_size: customers to draw (fewer when there are fewer).
        seed: the sample's seed.
        min_per_segment: points kept for a small segment (when it has them).

    Too few segmented customers (fewer than :data:`MIN_POINTS`) give an empty table and a
    warning, never an error.
    """
    features, segments = as_table(features), as_table(segments)
    centroids, rfm = as_table(centroids), as_table(rfm)
    segmented = segments.filter(pc.is_valid(segments.column("segment_id")))
    segmented = segmented.select(["user_id", "segment_id", "segment_name"]).sort_by("user_id")
    if centroids.num_rows > 0:
        method, source = METHOD_SEGMENTATION_SPACE, features
    else:
        method, source = METHOD_RFM_FALLBACK, rfm
    joined = segmented.join(source, "user_id", join_type="inner").sort_by("user_id")
    if joined.num_rows < MIN_POINTS:
        return _empty(f"{joined.num_rows} segmented customers, at least {MIN_POINTS} needed")
    ids = numeric_column(joined, "segment_id").astype(np.int64)
    rows = stratified_sample(ids, sample_size, min_per_segment, seed)
    sample = joined.take(pa.array(rows))
    if sample.num_rows < MIN_POINTS:
        return _empty(f"a sample of {sample.num_rows} customers, at least {MIN_POINTS} needed")
    matrix = (
        _scaled_with_segmentation_scaler(sample, centroids)
        if method == METHOD_SEGMENTATION_SPACE
        else _scaled_on_sample(sample)
    )
    coordinates, shares = _project(matrix, seed)
    return _map_table(sample, ids[rows], coordinates, shares, method, joined.num_rows)


def _map_table(
    sample: pa.Table,
    segment_ids: np.ndarray,
    coordinates: np.ndarray,
    shares: Sequence[float],
    method: str,
    segmented_count: int,
) -> pa.Table:
    """The map's rows, by segment then position (the points numbered in that order)."""
    order = np.lexsort((coordinates[:, 1], coordinates[:, 0], segment_ids))
    count = sample.num_rows
    return pa.table(
        {
            "point_id": pa.array(np.arange(1, count + 1, dtype=np.int64)),
            "segment_id": pa.array(segment_ids[order]),
            "segment_name": sample.column("segment_name").take(pa.array(order)),
            "x": pa.array(coordinates[order, 0]),
            "y": pa.array(coordinates[order, 1]),
            "x_variance_share": pa.array(np.full(count, shares[0])),
            "y_variance_share": pa.array(np.full(count, shares[1])),
            "projection_method": pa.array([method] * count, pa.string()),
            "sample_size": pa.array(np.full(count, count, dtype=np.int64)),
            "segmented_customer_count": pa.array(np.full(count, segmented_count, dtype=np.int64)),
        },
        schema=SEGMENT_MAP_SCHEMA,
    )


def _project(matrix: np.ndarray, seed: int) -> tuple[np.ndarray, Sequence[float]]:
    """Two PCA coordinates and the variance share of each (0 for a missing component).

    The sign of each component is fixed (largest loading positive) so the picture does not
    flip between builds.
    """
    components = min(2, matrix.shape[1], matrix.shape[0])
    pca = PCA(n_components=components, random_state=seed, svd_solver="full")
    coordinates = pca.fit_transform(matrix)
    for j in range(components):
        loading = pca.components_[j]
        if loading[np.argmax(np.abs(loading))] < 0:
            coordinates[:, j] = -coordinates[:, j]
    shares = list(pca.explained_variance_ratio_)
    while coordinates.shape[1] < 2:
        coordinates = np.column_stack([coordinates, np.zeros(len(coordinates))])
        shares.append(0.0)
    return coordinates, shares
