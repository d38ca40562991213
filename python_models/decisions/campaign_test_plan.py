"""Before sending: per campaign x segment, the group sizes and the minimum detectable effect at
the holdout share (two-proportion power calculation). Thin wrapper over
amazing_analytics.ml.decisions.experiments.build_test_plan.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.decisions import config_float
from amazing_analytics.ml.decisions.experiments import build_test_plan


def model(dbt, session):
    dbt.config(materialized="table")
    return build_test_plan(
        read_arrow(dbt.ref("campaign_assignments")),
        read_arrow(dbt.ref("customer_propensity")),
        alpha=config_float(dbt.config.get("alpha"), "alpha"),
        power=config_float(dbt.config.get("power"), "power"),
        propensity_horizon_days=config_int(
            dbt.config.get("propensity_horizon_days"), "propensity_horizon_days"
        ),
        window_days=config_int(dbt.config.get("window_days"), "window_days"),
        min_group_users=config_int(dbt.config.get("min_group_users"), "min_group_users"),
    )
