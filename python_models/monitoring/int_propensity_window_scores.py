"""Propensity scores per customer and window for the bias audit and the drift: the evaluation
model on its hold-out snapshot (outcomes known), the served model on its training snapshot and
on the latest. Thin wrapper over amazing_analytics.ml.monitoring.build_window_scores.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.monitoring import build_window_scores


def model(dbt, session):
    dbt.config(materialized="table")
    return build_window_scores(
        read_arrow(dbt.ref("int_customer_propensity_snapshots")),
        read_arrow(dbt.ref("propensity_model")),
        seed=config_int(dbt.config.get("seed"), "seed"),
    )
