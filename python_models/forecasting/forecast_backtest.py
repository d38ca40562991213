"""Weekly rolling-origin backtest (var forecast_origins origins, var forecast_origin_step_days
apart, var forecast_horizon_days days each) of every candidate in var forecast_models and the
combinations, for revenue and units: one row per model, series, origin and day, with conformal
80 % / 95 % intervals. Thin wrapper over amazing_analytics.ml.forecasting.build_backtest.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.forecasting import build_backtest
from amazing_analytics.own_process import call_in_own_process


def model(dbt, session):
    dbt.config(materialized="table")
    # in a child process: statsforecast's optimisers hold Python's lock (own_process.py)
    return call_in_own_process(
        build_backtest,
        read_arrow(dbt.ref("int_sales_series_daily")),
        horizon=config_int(dbt.config.get("horizon_days"), "horizon_days"),
        origins=config_int(dbt.config.get("origins"), "origins"),
        step=config_int(dbt.config.get("origin_step_days"), "origin_step_days"),
        seed=config_int(dbt.config.get("seed"), "seed"),
        holidays=read_arrow(dbt.ref("public_holidays")),
        models=dbt.config.get("models"),
        refit_every=config_int(dbt.config.get("refit_every_origins"), "refit_every_origins"),
        calibration_origins=config_int(
            dbt.config.get("calibration_origins"), "calibration_origins"
        ),
    )
