"""The fitted segmentation (train step): one row per segment with its marketing name, action,
centroid and scaler, fitted at the k chosen in segmentation_quality; no rows after a fallback.
The actions are the marketing copy of seed segment_actions, the family words those of seed
category_families. Thin wrapper over amazing_analytics.ml.segmentation.build_centroids.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.segmentation import build_centroids


def model(dbt, session):
    dbt.config(materialized="table")
    return build_centroids(
        read_arrow(dbt.ref("customer_features")),
        read_arrow(dbt.ref("segmentation_quality")),
        seed=config_int(dbt.config.get("seed"), "seed"),
        segment_actions=read_arrow(dbt.ref("segment_actions")),
        category_families=read_arrow(dbt.ref("category_families")),
    )
