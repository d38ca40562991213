"""Each shopper's served segment and their segment when KMeans is refitted with the next seed
(ids matched to the served ones): the segmentation's stability, by slice in the bias audit.
Empty after an RFM fallback. Thin wrapper over
amazing_analytics.ml.monitoring.build_segment_reassignment.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.monitoring import build_segment_reassignment


def model(dbt, session):
    dbt.config(materialized="table")
    return build_segment_reassignment(
        read_arrow(dbt.ref("customer_features")),
        read_arrow(dbt.ref("segment_centroids")),
        read_arrow(dbt.ref("segment_actions")),
        seed=config_int(dbt.config.get("seed"), "seed"),
    )
