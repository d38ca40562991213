"""Backtest metrics of every model per series and measure (MAE with a bootstrap interval,
RMSE, sMAPE, MASE, 80 % and 95 % interval coverage), the model selected per series, and the
selected forecasts before and after MinT reconciliation of the hierarchy. Thin wrapper over
amazing_analytics.ml.forecasting.build_evaluation.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.forecasting import build_evaluation


def model(dbt, session):
    dbt.config(materialized="table")
    return build_evaluation(
        read_arrow(dbt.ref("forecast_backtest")),
        seed=config_int(dbt.config.get("seed"), "seed"),
    )
