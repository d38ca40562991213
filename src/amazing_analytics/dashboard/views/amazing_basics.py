"""Amazing Basics: the focus brand's share by category and month, where it loses most, the
products to act on and the brand's forecast."""

from __future__ import annotations

import streamlit as st

from amazing_analytics.dashboard import charts
from amazing_analytics.dashboard.ui import (
    chart,
    forecast_view,
    header,
    language,
    show_table,
    table_or_notice,
    tr,
)

header("basics")
brand = table_or_notice("brand_performance")
if brand is not None:
    focus = str(brand["brand"].iloc[0])
    chart(charts.brand_share_chart(brand, language()), "basics.share_chart.caption")
    chart(charts.brand_share_heatmap(brand, language()), "basics.heatmap.caption")

    st.subheader(tr("basics.losses.title"))
    last_month = brand["month_start"].max()
    losses = brand[
        (brand["month_start"] == last_month) & (brand["category_code"] != "all brand categories")
    ].sort_values("revenue_share_index")
    losses = losses.assign(revenue_share_index=losses["revenue_share_index"] * 100)
    month = last_month.strftime("%m/%Y") if language() == "fr" else last_month.strftime("%B %Y")
    show_table(
        losses[["category_code", "revenue_share", "revenue_share_index", "brand_revenue"]].rename(
            columns={"revenue_share": "last_share", "brand_revenue": "revenue"}
        ),
        formats={"last_share": "percent", "revenue_share_index": "number", "revenue": "money"},
    )
    st.caption(tr("basics.losses.caption", month=month))

    st.subheader(tr("basics.products.title"))
    products = table_or_notice("product_performance")
    if products is not None:
        to_act = products[
            (products["brand"] == focus)
            & products["performance_label"].isin(["underperforming", "high_potential"])
        ].sort_values(["performance_label", "views"], ascending=[False, False])
        if to_act.empty:
            st.info(tr("basics.no_products"))
        else:
            to_act = to_act.assign(
                performance_label=[tr(f"label.{label}") for label in to_act["performance_label"]]
            )
            show_table(
                to_act[
                    [
                        "product_id",
                        "category_code",
                        "performance_label",
                        "revenue",
                        "revenue_change",
                        "views",
                        "performance_reason",
                    ]
                ],
                formats={"revenue": "money", "revenue_change": "percent", "views": "number"},
                height=320,
            )
        st.caption(tr("basics.products.caption"))

    st.subheader(tr("basics.forecast.title"))
    forecast_view(f"brand:{focus}", "revenue", "Amazing Basics")
