"""What drives the tree forecasters: XGBoost gain and mean |SHAP| (and Random Forest impurity
importance when var forecast_models includes it), per feature and measure. Thin wrapper over
amazing_analytics.ml.forecasting.build_feature_importance.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.forecasting import build_feature_importance


def model(dbt, session):
    dbt.config(materialized="table")
    return build_feature_importance(
        read_arrow(dbt.ref("int_sales_series_daily")),
        horizon=config_int(dbt.config.get("horizon_days"), "horizon_days"),
        seed=config_int(dbt.config.get("seed"), "seed"),
        holidays=read_arrow(dbt.ref("public_holidays")),
        models=str(dbt.config.get("models")).split(),
    )
