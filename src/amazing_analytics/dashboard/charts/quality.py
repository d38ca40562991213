"""The data audit's chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

from amazing_analytics.dashboard.charts.style import BAR_STEP
from amazing_analytics.dashboard.formatting import Language
from amazing_analytics.dashboard.texts import text


def quality_checks_chart(report: pd.DataFrame, language: Language) -> alt.Chart:
    """Rows affected per check of the data audit (``data_quality_report``), checks that found any."""
    rows = report[
        (report["rows_affected"] > 0)
        & (report["measured_in"] == "rows")
        & ~report["check_group"].isin(["reconciliation", "files"])
    ]
    return (
        alt.Chart(rows)
        .mark_bar(color="#ef6c00")
        .encode(
            x=alt.X(
                "rows_affected:Q", title=text("axis.rows", language), axis=alt.Axis(format=",.0f")
            ),
            y=alt.Y("check_name:N", title=None, sort="-x", axis=alt.Axis(labelLimit=260)),
            tooltip=[
                alt.Tooltip("check_name:N"),
                alt.Tooltip("rows_affected:Q", format=",.0f", title=text("axis.rows", language)),
                alt.Tooltip("share:Q", format=".2%", title=text("axis.share", language)),
                alt.Tooltip("action_taken:N"),
            ],
        )
        .properties(title=text("quality.audit.title", language), height=BAR_STEP)
    )
