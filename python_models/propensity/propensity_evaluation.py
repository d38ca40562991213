"""The propensity model's honest evaluation: trained on evaluation_train, tested on the later
final_train snapshot. Thin wrapper over amazing_analytics.ml.propensity.build_evaluation.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.propensity import build_evaluation
from amazing_analytics.ml.snapshot_bounds import cap_snapshot


def model(dbt, session):
    dbt.config(materialized="table")
    seed = config_int(dbt.config.get("seed"), "seed")
    snapshots = read_arrow(dbt.ref("int_customer_propensity_snapshots"))
    train_rows = config_int(dbt.config.get("max_training_rows"), "max_training_rows")
    test_rows = config_int(dbt.config.get("eval_sample_customers"), "eval_sample_customers")
    snapshots = cap_snapshot(snapshots, "evaluation_train", train_rows, seed)
    return build_evaluation(
        cap_snapshot(snapshots, "final_train", test_rows, seed),
        seed=seed,
        horizon_days=config_int(dbt.config.get("horizon_days"), "horizon_days"),
    )
