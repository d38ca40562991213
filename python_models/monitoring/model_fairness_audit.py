"""The bias audit (the spec's "tests multi-segments"): every model's quality metric per slice
with its 95 % interval and gap to the overall, and a flag on the worst slice when it falls below
var fairness_min_ratio of the best. Thin wrapper over amazing_analytics.ml.monitoring.audit_slices.
"""

from amazing_analytics.dbt_io import config_float, config_int, read_arrow
from amazing_analytics.ml.monitoring import audit_slices


def model(dbt, session):
    dbt.config(materialized="table")
    return audit_slices(
        read_arrow(dbt.ref("int_model_fairness_slices")),
        min_ratio=config_float(dbt.config.get("min_ratio"), "min_ratio"),
        min_slice_size=config_int(dbt.config.get("min_slice_size"), "min_slice_size"),
    )
