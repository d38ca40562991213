"""Decisions: the stock plan with its backtest, the price suggestions with the elasticities
behind them, the campaign tests with their uplift, and the recommendations' click-through.
Every figure is a suggestion for a person to decide; nothing is applied."""

from __future__ import annotations

import streamlit as st

from amazing_analytics.dashboard import data, decisions
from amazing_analytics.dashboard.ui import (
    chart,
    header,
    language,
    series_label,
    show_table,
    table_or_notice,
    tr,
)

header("decisions")

st.subheader(tr("decisions.stock.title"))
plan = table_or_notice("stock_plan")
if plan is not None:
    backtest = data.load("stock_plan_backtest")
    stock = decisions.stock_table(plan, backtest)
    stock["series_id"] = stock["series_id"].map(series_label)
    show_table(
        stock,
        formats={
            "expected_units_horizon": "number",
            "safety_stock": "number",
            "reorder_point": "number",
            "reorder_quantity": "number",
            "service_level": "percent",
            "achieved_service_level": "percent",
            "lead_time_service_level": "percent",
        },  # fmt: skip
        height=decisions.table_height(len(stock)),
    )
    st.caption(tr("decisions.stock.caption"))
    if backtest is not None and backtest["achieved_service_level"].notna().any():
        chart(decisions.service_level_chart(backtest, language()), "decisions.stock.chart_caption")

st.subheader(tr("decisions.price.title"))
suggestions = table_or_notice("price_suggestions")
if suggestions is not None:
    show_table(
        decisions.suggestion_table(suggestions),
        formats={
            "current_price": "money",
            "suggested_change": "percent",
            "suggested_price": "money",
            "expected_revenue_delta": "money",
            "expected_revenue_delta_low": "money",
            "expected_revenue_delta_high": "money",
        },  # fmt: skip
        height=decisions.table_height(len(suggestions)),
    )
    st.caption(tr("decisions.price.caption"))
elasticity = table_or_notice("price_elasticity")
if elasticity is not None:
    flat = sorted(elasticity.loc[elasticity["status"] == "not_identifiable", "category_level_2"])
    if (elasticity["status"] == "ok").any():
        chart(
            decisions.elasticity_chart(elasticity, language()),
            "decisions.price.chart_caption",
            not_identifiable=", ".join(flat) or tr("decisions.none"),
        )

st.subheader(tr("decisions.campaigns.title"))
results = table_or_notice("campaign_results")
if results is not None:
    show_table(
        decisions.campaign_table(results),
        formats={
            "treatment_users": "number",
            "control_users": "number",
            "treatment_conversion": "percent",
            "control_conversion": "percent",
            "uplift_absolute": "percent",
            "uplift_ci_low": "percent",
            "uplift_ci_high": "percent",
            "conversion_ratio": "decimal",
            "ratio_ci_low": "decimal",
            "ratio_ci_high": "decimal",
            "p_value": "decimal",
        },  # fmt: skip
    )
    st.caption(tr("decisions.campaigns.caption"))
test_plan = table_or_notice("campaign_test_plan")
if test_plan is not None:
    show_table(
        decisions.test_plan_table(test_plan),
        formats={
            "audience_users": "number",
            "control_users": "number",
            "baseline_conversion": "percent",
            "mde_absolute": "percent",
            "mde_relative": "percent",
        },  # fmt: skip
    )
    st.caption(tr("decisions.campaigns.plan_caption"))

st.subheader(tr("decisions.reco.title"))
performance, message = decisions.measured_performance(data.load("recommendation_performance"))
if performance is None:
    st.info(tr("decisions.reco.missing"))
    if message:
        st.caption(message)
else:
    show_table(
        decisions.click_through_by_model(performance),
        formats={
            "impressions": "number",
            "clicks": "number",
            "purchases": "number",
            "click_through_rate": "percent",
            "conversion_rate": "percent",
        },  # fmt: skip
    )
    st.caption(tr("decisions.reco.caption"))
    chart(
        decisions.click_through_by_rank_chart(performance, language()),
        "decisions.reco.chart_caption",
    )
