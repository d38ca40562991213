"""Per forecast series: the service level the stock plan would have achieved on the backtest's
past origins, against the target. Typed and contracted by the stock_plan_backtest mart. Thin
wrapper over amazing_analytics.ml.decisions.stock_backtest.build_stock_plan_backtest.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.decisions import config_float
from amazing_analytics.ml.decisions.stock_backtest import build_stock_plan_backtest


def model(dbt, session):
    dbt.config(materialized="table")
    return build_stock_plan_backtest(
        read_arrow(dbt.ref("forecast_backtest")),
        read_arrow(dbt.ref("forecast_evaluation")),
        lead_time_days=config_int(dbt.config.get("lead_time_days"), "lead_time_days"),
        service_level=config_float(dbt.config.get("service_level"), "service_level"),
        interval_level=config_float(dbt.config.get("interval_level"), "interval_level"),
        min_origins=config_int(dbt.config.get("min_origins"), "min_origins"),
    )
