"""The next var forecast_horizon_days days of every series, for each model and measure, with
conformal 80 % and 95 % intervals from the backtest errors; is_selected marks the model chosen
per series and measure in forecast_evaluation (by evidence, not by name), yhat_reconciled its
coherent (MinT) version. Thin wrapper over amazing_analytics.ml.forecasting.build_forecast.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.forecasting import build_forecast
from amazing_analytics.own_process import call_in_own_process


def model(dbt, session):
    dbt.config(materialized="table")
    # in a child process: statsforecast's optimisers hold Python's lock (own_process.py)
    return call_in_own_process(
        build_forecast,
        read_arrow(dbt.ref("int_sales_series_daily")),
        read_arrow(dbt.ref("forecast_backtest")),
        read_arrow(dbt.ref("forecast_evaluation")),
        horizon=config_int(dbt.config.get("horizon_days"), "horizon_days"),
        seed=config_int(dbt.config.get("seed"), "seed"),
        holidays=read_arrow(dbt.ref("public_holidays")),
        models=dbt.config.get("models"),
    )
