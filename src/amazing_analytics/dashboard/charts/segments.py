"""Customer charts: segment sizes, the segment map, the RFM grid and the campaign audiences;
a segment has the same colour in every one."""

from __future__ import annotations

import altair as alt
import pandas as pd

from amazing_analytics.dashboard.charts.style import BAR_STEP, HEIGHT
from amazing_analytics.dashboard.formatting import Language
from amazing_analytics.dashboard.texts import text


def segment_colours(names: pd.Series) -> alt.Scale:
    """The same colour for a segment in every chart (domain: the names in alphabetical order)."""
    return alt.Scale(domain=sorted(names.dropna().unique().tolist()), scheme="tableau10")


def segment_size_chart(profiles: pd.DataFrame, language: Language) -> alt.Chart:
    """Customers per segment (``segment_profiles``), largest first."""
    return (
        alt.Chart(profiles)
        .mark_bar()
        .encode(
            x=alt.X(
                "customer_count:Q",
                title=text("axis.customers", language),
                axis=alt.Axis(format=",.0f"),
            ),
            y=alt.Y(
                "segment_name:N",
                title=text("axis.segment", language),
                sort="-x",
                axis=alt.Axis(labelLimit=300),
            ),
            color=alt.Color(
                "segment_name:N", legend=None, scale=segment_colours(profiles["segment_name"])
            ),
            tooltip=[
                alt.Tooltip("segment_name:N", title=text("axis.segment", language)),
                alt.Tooltip(
                    "customer_count:Q", format=",.0f", title=text("axis.customers", language)
                ),
                alt.Tooltip("customer_share:Q", format=".1%", title=text("axis.share", language)),
            ],
        )
        .properties(title=text("segments.sizes.title", language), height=BAR_STEP)
    )


def segment_map_chart(points: pd.DataFrame, language: Language) -> alt.Chart:
    """The cluster map (``segment_map``): one dot per sampled customer, coloured by segment."""
    return (
        alt.Chart(points)
        .mark_circle(size=18, opacity=0.6)
        .encode(
            x=alt.X(
                "x:Q",
                title=text("segments.map.x", language),
                axis=alt.Axis(labels=False, ticks=False),
            ),
            y=alt.Y(
                "y:Q",
                title=text("segments.map.y", language),
                axis=alt.Axis(labels=False, ticks=False),
            ),
            color=alt.Color(
                "segment_name:N",
                title=text("legend.segment", language),
                scale=segment_colours(points["segment_name"]),
                legend=alt.Legend(labelLimit=320, orient="bottom", columns=2),
            ),
            tooltip=[alt.Tooltip("segment_name:N", title=text("legend.segment", language))],
        )
        .properties(
            title=text("segments.map.title", language, count=f"{len(points):,}"),
            height=HEIGHT + 120,
        )
    )


def rfm_heatmap(grid: pd.DataFrame, language: Language) -> alt.LayerChart:
    """The RFM grid (``rfm_grid``): buyers per recency x frequency-value cell, with its segment."""
    x = alt.X("fm_score:O", title=text("segments.rfm.x", language), axis=alt.Axis(labelAngle=0))
    y = alt.Y("r_score:O", title=text("segments.rfm.y", language), sort="descending")
    cells = (
        alt.Chart(grid)
        .mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "customer_count:Q",
                title=text("axis.customers", language),
                scale=alt.Scale(scheme="oranges"),
            ),
            tooltip=[
                alt.Tooltip("rfm_segment:N", title=text("axis.segment", language)),
                alt.Tooltip(
                    "customer_count:Q", format=",.0f", title=text("axis.customers", language)
                ),
                alt.Tooltip("revenue:Q", format="$,.0f", title=text("kpi.revenue", language)),
            ],
        )
    )
    labels = (
        alt.Chart(grid)
        .mark_text(fontSize=10, lineBreak="\n")
        .encode(x=x, y=y, text=alt.Text("label:N"))
        .transform_calculate(label="datum.rfm_segment + '\\n' + format(datum.customer_count, ',')")
    )
    return (cells + labels).properties(
        title=text("segments.rfm.title", language), height=HEIGHT + 60
    )


def audience_heatmap(sizes: pd.DataFrame, language: Language) -> alt.LayerChart:
    """Audience size per segment (rows) and campaign (columns) (``campaign_audience_sizes``)."""
    x = alt.X(
        "campaign_name:N",
        title=text("campaigns.axis.campaign", language),
        axis=alt.Axis(labelAngle=0, labelLimit=200, orient="top"),
    )
    y = alt.Y("segment_name:N", title=text("axis.segment", language), axis=alt.Axis(labelLimit=300))
    cells = (
        alt.Chart(sizes)
        .mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "audience_size:Q",
                title=text("axis.customers", language),
                scale=alt.Scale(scheme="greens"),
            ),
            tooltip=[
                alt.Tooltip("campaign_name:N", title=text("campaigns.axis.campaign", language)),
                alt.Tooltip("segment_name:N", title=text("axis.segment", language)),
                alt.Tooltip(
                    "audience_size:Q", format=",.0f", title=text("axis.customers", language)
                ),
            ],
        )
    )
    darkest = float(sizes["audience_size"].max() or 0)
    labels = (
        alt.Chart(sizes)
        .mark_text(fontSize=12)
        .encode(
            x=x,
            y=y,
            text=alt.Text("audience_size:Q", format=",.0f"),
            # white on the dark cells, black elsewhere
            color=alt.condition(
                alt.datum.audience_size > darkest * 0.6, alt.value("white"), alt.value("black")
            ),
        )
    )
    return (cells + labels).properties(
        title=text("campaigns.sizes.title", language), height=alt.Step(34)
    )
