"""Rolling-origin backtest (var forecast_origins origins x var forecast_horizon_days days) of
XGBoost, Random Forest, Prophet and the seasonal-naive and moving-average baselines on every
series, for revenue and units: MAE, RMSE, sMAPE, MASE and interval coverage, with the reason
when a model was skipped. Thin wrapper over amazing_analytics.ml.forecasting.build_evaluation.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.forecasting import build_evaluation


def model(dbt, session):
    dbt.config(materialized="table")
    return build_evaluation(
        read_arrow(dbt.ref("int_sales_series_daily")),
        horizon=config_int(dbt.config.get("horizon_days"), "horizon_days"),
        origins=config_int(dbt.config.get("origins"), "origins"),
        seed=config_int(dbt.config.get("seed"), "seed"),
        holidays=read_arrow(dbt.ref("public_holidays")),
    )
