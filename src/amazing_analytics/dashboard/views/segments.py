"""Segments: sizes, profiles and suggested actions, the cluster map and the RFM grid."""

from __future__ import annotations

import streamlit as st

from amazing_analytics.dashboard import charts, formatting
from amazing_analytics.dashboard.ui import chart, header, language, show_table, table_or_notice, tr

profiles = table_or_notice("segment_profiles")
if profiles is None:
    st.title(tr("segments.title"))
else:
    profiles = profiles.sort_values("customer_count", ascending=False)
    header("segments", count=len(profiles))
    chart(charts.segment_size_chart(profiles, language()), "segments.sizes.caption")
    st.subheader(tr("segments.profiles.title"))
    show_table(
        profiles[
            [
                "segment_name",
                "customer_count",
                "customer_share",
                "buyer_share",
                "median_recency_days",
                "median_buyer_revenue",
                "conversion_rate",
                "revenue_share",
                "typical_price_band",
                "top_category_families",
                "suggested_action",
            ]
        ],
        formats={
            "customer_count": "number",
            "customer_share": "percent",
            "buyer_share": "percent",
            "median_recency_days": "number",
            "median_buyer_revenue": "money",
            "conversion_rate": "percent",
            "revenue_share": "percent",
        },
    )

points = table_or_notice("segment_map")
if points is not None:
    share = float(points["x_variance_share"].iloc[0] + points["y_variance_share"].iloc[0])
    chart(
        charts.segment_map_chart(points, language()),
        "segments.map.caption",
        share=formatting.percent(share, language(), decimals=0),
    )

grid = table_or_notice("rfm_grid")
if grid is not None:
    chart(charts.rfm_heatmap(grid, language()), "segments.rfm.caption")
