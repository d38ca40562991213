"""Drift monitoring: the PSI of each propensity input between its training snapshot and the
latest, of the propensity score itself, and of the segment shares; flagged above var
drift_psi_threshold. Thin wrapper over amazing_analytics.ml.monitoring.build_feature_drift.
"""

from amazing_analytics.dbt_io import config_float, config_int, read_arrow
from amazing_analytics.ml.monitoring import build_feature_drift


def model(dbt, session):
    dbt.config(materialized="table")
    return build_feature_drift(
        read_arrow(dbt.ref("int_customer_propensity_snapshots")),
        read_arrow(dbt.ref("int_propensity_window_scores")),
        read_arrow(dbt.ref("segment_centroids")),
        read_arrow(dbt.ref("customer_segments")),
        bins=config_int(dbt.config.get("bins"), "bins"),
        psi_threshold=config_float(dbt.config.get("psi_threshold"), "psi_threshold"),
        min_rows=config_int(dbt.config.get("min_rows"), "min_rows"),
    )
