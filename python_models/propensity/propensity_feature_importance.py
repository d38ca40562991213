"""What drives the served propensity model: gain share and mean |SHAP| per feature, with the
plain-words label. Thin wrapper over amazing_analytics.ml.propensity.build_feature_importance.
"""

from amazing_analytics.dbt_io import read_arrow
from amazing_analytics.ml.propensity import build_feature_importance


def model(dbt, session):
    dbt.config(materialized="table")
    return build_feature_importance(
        read_arrow(dbt.ref("propensity_model")),
        read_arrow(dbt.ref("int_customer_propensity_snapshots")),
    )
