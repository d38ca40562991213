"""The segmentation's stability: each customer's served segment against a second-seed refit."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy.optimize import linear_sum_assignment

from amazing_analytics.ml import segmentation
from amazing_analytics.ml.arrow_utils import ArrowData, as_table

REASSIGNMENT_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("segment_id", pa.int64()),
        ("refit_segment_id", pa.int64()),
        ("is_same_segment", pa.bool_()),
    ]
)


def match_labels(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``other``'s cluster ids renamed to the reference's, maximising agreement (Hungarian)."""
    k = int(max(reference.max(initial=0), other.max(initial=0))) + 1
    contingency = np.zeros((k, k), dtype=np.int64)
    np.add.at(contingency, (other, reference), 1)
    rows, columns = linear_sum_assignment(-contingency)
    mapping = np.arange(k)
    mapping[rows] = columns
    return mapping[other]


def build_segment_reassignment(
    features: ArrowData, centroids: ArrowData, segment_actions: ArrowData, seed: int
) -> pa.Table:
    """Each customer's served segment and their segment when KMeans is refitted with another
    seed (``seed + 1``, same k, ids matched to the served ones): the stability by slice.
    ``segment_actions`` is the seed the refit names its segments with (the names are not used
    here). Empty when the segmentation fell back to RFM."""
    centroid_table = as_table(centroids)
    if centroid_table.num_rows == 0:
        return REASSIGNMENT_SCHEMA.empty_table()
    served = segmentation.model_from_table(centroid_table)
    feature_table = as_table(features)
    assigned = segmentation.assign_segments(feature_table, served)
    refit = segmentation.fit_segments(
        feature_table,
        served.k,
        seed + 1,
        action_copy=segmentation.action_copy_from_table(segment_actions),
    )
    reassigned = segmentation.assign_segments(feature_table, refit)
    reference = assigned.column("segment_id").to_numpy()
    matched = match_labels(reference, reassigned.column("segment_id").to_numpy())
    return pa.table(
        {
            "user_id": assigned.column("user_id"),
            "segment_id": pa.array(reference, pa.int64()),
            "refit_segment_id": pa.array(matched, pa.int64()),
            "is_same_segment": pa.array(reference == matched, pa.bool_()),
        },
        schema=REASSIGNMENT_SCHEMA,
    )
