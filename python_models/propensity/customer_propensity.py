"""Each customer's probability of buying within the horizon, decile, rank and top 3 reasons
(apply step of propensity_model on the 'score' snapshot); empty without a model. Thin wrapper
over amazing_analytics.ml.propensity.build_scores.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.propensity import build_scores
from amazing_analytics.ml.snapshot_bounds import active_snapshot


def model(dbt, session):
    dbt.config(materialized="table")
    return build_scores(
        read_arrow(dbt.ref("propensity_model")),
        active_snapshot(
            read_arrow(dbt.ref("int_customer_propensity_snapshots")),
            "score",
            config_int(dbt.config.get("active_days"), "active_days"),
        ),
        read_arrow(dbt.ref("customer_features")),
    )
