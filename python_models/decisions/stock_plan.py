"""Per forecast series: expected units over the horizon, safety stock, reorder point and
quantity from the lead time and service level vars. Thin wrapper over
amazing_analytics.ml.decisions.stock.build_stock_plan.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.decisions import config_float
from amazing_analytics.ml.decisions.stock import build_stock_plan


def model(dbt, session):
    dbt.config(materialized="table")
    return build_stock_plan(
        read_arrow(dbt.ref("sales_forecast")),
        read_arrow(dbt.ref("forecast_evaluation")),
        lead_time_days=config_int(dbt.config.get("lead_time_days"), "lead_time_days"),
        review_days=config_int(dbt.config.get("review_days"), "review_days"),
        service_level=config_float(dbt.config.get("service_level"), "service_level"),
        interval_level=config_float(dbt.config.get("interval_level"), "interval_level"),
    )
