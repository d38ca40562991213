"""The segment map for the dashboard: a 2-D PCA projection of a stratified customer sample,
coloured by segment. Thin wrapper over amazing_analytics.ml.segment_map.build_segment_map.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.segment_map import build_segment_map


def model(dbt, session):
    dbt.config(materialized="table")
    return build_segment_map(
        read_arrow(dbt.ref("customer_features")),
        read_arrow(dbt.ref("customer_segments")),
        read_arrow(dbt.ref("segment_centroids")),
        read_arrow(dbt.ref("customer_rfm")),
        sample_size=config_int(dbt.config.get("sample_size"), "sample_size"),
        seed=config_int(dbt.config.get("seed"), "seed"),
    )
