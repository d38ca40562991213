"""Every visitor's segment (apply step): the nearest centroid of segment_centroids, or the RFM
segment when the segmentation fell back; opted-out shoppers kept and flagged. Thin wrapper over
amazing_analytics.ml.segmentation.build_customer_segments.
"""

from amazing_analytics.dbt_io import read_arrow
from amazing_analytics.ml.segmentation import build_customer_segments


def model(dbt, session):
    dbt.config(materialized="table")
    return build_customer_segments(
        read_arrow(dbt.ref("customer_features")),
        read_arrow(dbt.ref("segment_centroids")),
        read_arrow(dbt.ref("customer_rfm")),
    )
