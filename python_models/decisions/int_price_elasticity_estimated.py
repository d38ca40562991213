"""Per second-level category: the elasticity of units to price (Poisson log-log model with
calendar controls) and its interval, or why it is not identifiable. Typed and contracted by the
price_elasticity mart. Thin wrapper over
amazing_analytics.ml.decisions.pricing.build_price_elasticity.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.decisions import config_float
from amazing_analytics.ml.decisions.pricing import build_price_elasticity


def model(dbt, session):
    dbt.config(materialized="table")
    return build_price_elasticity(
        read_arrow(dbt.ref("int_category_price_daily")),
        min_log_price_sd=config_float(dbt.config.get("min_log_price_sd"), "min_log_price_sd"),
        min_days=config_int(dbt.config.get("min_days"), "min_days"),
        min_units=config_int(dbt.config.get("min_units"), "min_units"),
        interval_level=config_float(dbt.config.get("interval_level"), "interval_level"),
    )
