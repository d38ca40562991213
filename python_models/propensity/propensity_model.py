"""The served purchase-propensity model (train step): XGBoost trained on the final_train
snapshot, stored as one row (XGBoost JSON + what it was trained on); status 'not_trained' and
the reason when data are too few. Thin wrapper over amazing_analytics.ml.propensity.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.propensity import build_model_table
from amazing_analytics.ml.snapshot_bounds import cap_snapshot


def model(dbt, session):
    dbt.config(materialized="table")
    seed = config_int(dbt.config.get("seed"), "seed")
    snapshots = cap_snapshot(
        read_arrow(dbt.ref("int_customer_propensity_snapshots")),
        "final_train",
        config_int(dbt.config.get("max_training_rows"), "max_training_rows"),
        seed,
    )
    return build_model_table(snapshots, seed=seed)
