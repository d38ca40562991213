"""The uplift readout of the recorded campaign sends: treatment against control in the window
after the send, per segment. Thin wrapper over
amazing_analytics.ml.decisions.experiments.build_campaign_results.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.decisions import config_float
from amazing_analytics.ml.decisions.experiments import build_campaign_results


def model(dbt, session):
    dbt.config(materialized="table")
    return build_campaign_results(
        read_arrow(dbt.ref("int_campaign_outcomes")),
        window_days=config_int(dbt.config.get("window_days"), "window_days"),
        alpha=config_float(dbt.config.get("alpha"), "alpha"),
        min_group_users=config_int(dbt.config.get("min_group_users"), "min_group_users"),
    )
