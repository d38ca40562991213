"""The A/B split of every campaign audience: a deterministic hash of (user, campaign) puts
var campaign_holdout_share of each campaign's customers in a control group that receives nothing.
Thin wrapper over amazing_analytics.ml.decisions.experiments.assign_groups.
"""

from amazing_analytics.dbt_io import read_arrow
from amazing_analytics.ml.decisions import config_float
from amazing_analytics.ml.decisions.experiments import assign_groups


def model(dbt, session):
    dbt.config(materialized="table")
    return assign_groups(
        read_arrow(dbt.ref("campaign_audiences")),
        config_float(dbt.config.get("holdout_share"), "holdout_share"),
    )
