"""Prediction drift over time: the served propensity model's score distribution (mean,
quantiles, PSI against its scores on its training snapshot, read from
int_propensity_window_scores) at every cut-off of
int_propensity_drift_snapshots, and the served segments' shares of each window's active
shoppers (PSI against the first window). Thin wrapper over
amazing_analytics.ml.monitoring.build_prediction_drift.
"""

from amazing_analytics.dbt_io import config_float, config_int, read_arrow, release_memory
from amazing_analytics.ml.monitoring import CutOffFeatures, DriftSettings, build_prediction_drift


def model(dbt, session):
    dbt.config(materialized="table")
    settings = DriftSettings(
        window_days=config_int(dbt.config.get("window_days"), "window_days"),
        bins=config_int(dbt.config.get("bins"), "bins"),
        psi_threshold=config_float(dbt.config.get("psi_threshold"), "psi_threshold"),
        min_rows=config_int(dbt.config.get("min_rows"), "min_rows"),
    )
    release_memory(session)  # what earlier models left, before this model's reads
    cut_offs = dbt.ref("int_propensity_drift_snapshots")
    dates = sorted(
        row[0] for row in cut_offs.filter("as_of_date is not null").unique("as_of_date").fetchall()
    )
    inputs = [
        # one cut-off at a time, read when it is scored (all eight: 6 GB at 100M events)
        CutOffFeatures(
            tuple(dates),
            lambda date: read_arrow(cut_offs.filter(f"as_of_date = date '{date.isoformat()}'")),
        ),
        # the reference: the served model's scores on its own training snapshot, as scored once
        read_arrow(
            dbt.ref("int_propensity_window_scores")
            .filter("score_window = 'training'")
            .project("score_window, as_of_date, purchase_probability")
        ),
        read_arrow(dbt.ref("propensity_model")),
        read_arrow(dbt.ref("int_customer_daily_activity").select("user_id, activity_date")),
        read_arrow(dbt.ref("customer_segments").select("user_id, segment_name")),
    ]
    release_memory(session)  # DuckDB's cache of what was just read, before the scoring
    return build_prediction_drift(*inputs, settings)
