"""The propensity model's honest evaluation: trained on evaluation_train, tested on the later
final_train snapshot. Thin wrapper over amazing_analytics.ml.propensity.build_evaluation.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.propensity import build_evaluation


def model(dbt, session):
    dbt.config(materialized="table")
    return build_evaluation(
        read_arrow(dbt.ref("int_customer_propensity_snapshots")),
        seed=config_int(dbt.config.get("seed"), "seed"),
        horizon_days=config_int(dbt.config.get("horizon_days"), "horizon_days"),
    )
