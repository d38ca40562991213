"""The price change within the guardrails that maximises the expected revenue (or margin) of
the focus brand's underperforming and high-potential products, for marketing to decide. Typed
and contracted by the price_suggestions mart. Thin wrapper over
amazing_analytics.ml.decisions.pricing.build_price_suggestions.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.decisions import config_float
from amazing_analytics.ml.decisions.pricing import build_price_suggestions


def model(dbt, session):
    dbt.config(materialized="table")
    return build_price_suggestions(
        read_arrow(dbt.ref("product_performance")),
        read_arrow(dbt.ref("products")),
        read_arrow(dbt.ref("int_price_elasticity_estimated")),
        focus_brand=str(dbt.config.get("focus_brand")),
        max_change=config_float(dbt.config.get("max_change"), "max_change"),
        step=config_float(dbt.config.get("change_step"), "change_step"),
        cost_share=config_float(dbt.config.get("cost_share"), "cost_share"),
        window_days=config_int(dbt.config.get("window_days"), "window_days"),
    )
