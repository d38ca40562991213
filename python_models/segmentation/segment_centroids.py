"""The fitted segmentation (train step): one row per segment with its marketing name, action,
centroid and scaler, fitted at the k chosen in segmentation_quality; no rows after a fallback.
Thin wrapper over amazing_analytics.ml.segmentation.build_centroids.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.segmentation import build_centroids


def model(dbt, session):
    dbt.config(materialized="table")
    return build_centroids(
        read_arrow(dbt.ref("customer_features")),
        read_arrow(dbt.ref("segmentation_quality")),
        seed=config_int(dbt.config.get("seed"), "seed"),
    )
