"""The Decisions page's tables and charts (no Streamlit calls: the tests import it).

Each function takes the exported mart(s) as DataFrames and returns what the page shows; the
page (views/decisions.py) only lays them out.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from amazing_analytics.dashboard.charts import BAR_STEP
from amazing_analytics.dashboard.formatting import Language
from amazing_analytics.dashboard.texts import text

ALL_SEGMENTS = "All segments"


def table_height(rows: int) -> int | None:
    """A scrolling table past 10 rows, else just its rows (no empty lines below them)."""
    return 390 if rows > 10 else None


def stock_table(plan: pd.DataFrame, backtest: pd.DataFrame | None) -> pd.DataFrame:
    """The stock plan per series, with the service level its backtest achieved beside it."""
    columns = ["series_id", "expected_units_horizon", "safety_stock", "reorder_point",
               "reorder_quantity", "service_level"]  # fmt: skip
    table = plan[columns].copy()
    if backtest is not None and not backtest.empty:
        measured = backtest[["series_id", "achieved_service_level", "lead_time_service_level"]]
        table = table.merge(measured, on="series_id", how="left")
    else:
        table["achieved_service_level"] = float("nan")
        table["lead_time_service_level"] = float("nan")
    order = table["series_id"].map(lambda s: (s != "all", s))
    return table.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def _interval_chart(
    rows: pd.DataFrame,
    label: str,
    y_title: str,
    estimate: tuple[str, str, str],
    x_axis: alt.X,
    reference: float,
    tooltip: list[alt.Tooltip],
    colours: tuple[str, str],
) -> alt.LayerChart:
    """One row per ``label``: the estimate as a point, its interval as a rule, and a dashed
    reference line (``estimate`` = point, low and high columns)."""
    point, low, high = estimate
    y = alt.Y(f"{label}:N", title=y_title, sort="x", axis=alt.Axis(labelLimit=220))
    bars = alt.Chart(rows).mark_rule(strokeWidth=2, color=colours[0])
    dots = alt.Chart(rows).mark_point(filled=True, size=60, color=colours[1])
    line = alt.Chart(pd.DataFrame({"reference": [reference]})).mark_rule(
        color="#d32f2f", strokeDash=[4, 3]
    )
    return (
        bars.encode(x=x_axis, x2=f"{high}:Q", y=y)
        + dots.encode(x=f"{point}:Q", y=y, tooltip=tooltip)
        + line.encode(x="reference:Q")
    ).properties(height=BAR_STEP)


def service_level_chart(backtest: pd.DataFrame, language: Language) -> alt.LayerChart:
    """Achieved service level per series (with its interval) against the target."""
    rows = backtest.dropna(subset=["achieved_service_level"]).copy()
    rows["series"] = rows["series_id"].map(lambda s: s.split(":", 1)[-1])
    target = float(rows["service_level"].iloc[0]) if not rows.empty else 0.95
    x_axis = alt.X("achieved_ci_low:Q", title=text("decisions.stock.axis", language),
                   axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))  # fmt: skip
    tooltip = [alt.Tooltip("series:N"), alt.Tooltip("achieved_service_level:Q", format=".0%"),
               alt.Tooltip("days:Q")]  # fmt: skip
    return _interval_chart(
        rows, "series", text("forecasts.series", language),
        ("achieved_service_level", "achieved_ci_low", "achieved_ci_high"), x_axis, target,
        tooltip, ("#90caf9", "#1976d2"),
    ).properties(title=text("decisions.stock.chart", language, target=f"{target:.0%}"))  # fmt: skip


def elasticity_chart(elasticity: pd.DataFrame, language: Language) -> alt.LayerChart:
    """Each identifiable category's elasticity with its interval, and the -1 line."""
    rows = elasticity[elasticity["status"] == "ok"].copy()
    x_axis = alt.X("elasticity_ci_low:Q", title=text("decisions.price.axis", language))
    tooltip = [alt.Tooltip("category_level_2:N"), alt.Tooltip("elasticity:Q", format=".2f"),
               alt.Tooltip("units:Q")]  # fmt: skip
    return _interval_chart(
        rows, "category_level_2", text("decisions.price.axis_category", language),
        ("elasticity", "elasticity_ci_low", "elasticity_ci_high"), x_axis, -1.0, tooltip,
        ("#a5d6a7", "#2e7d32"),
    ).properties(title=text("decisions.price.chart", language))  # fmt: skip


def suggestion_table(suggestions: pd.DataFrame) -> pd.DataFrame:
    """The suggestions, the actionable ones first, with the expected effect and its interval."""
    order = {"suggested": 0, "uncertain": 1, "no_sales": 2, "keep_price": 3, "no_elasticity": 4}
    rows = suggestions.assign(_order=suggestions["status"].map(order).fillna(9))
    rows = rows.sort_values(["_order", "expected_revenue_delta", "product_id"],
                            ascending=[True, False, True], na_position="last")  # fmt: skip
    columns = ["product_id", "performance_label", "current_price", "suggested_change",
               "suggested_price", "expected_revenue_delta", "expected_revenue_delta_low",
               "expected_revenue_delta_high", "status", "reason"]  # fmt: skip
    return rows[columns].reset_index(drop=True)


def campaign_table(results: pd.DataFrame) -> pd.DataFrame:
    """The readout of every recorded campaign, all segments together."""
    rows = results[results["segment_name"] == ALL_SEGMENTS]
    columns = ["campaign_id", "send_date", "treatment_users", "control_users",
               "treatment_conversion", "control_conversion", "uplift_absolute", "uplift_ci_low",
               "uplift_ci_high", "conversion_ratio", "ratio_ci_low", "ratio_ci_high", "p_value",
               "status"]  # fmt: skip
    return rows[[c for c in columns if c in rows.columns]].reset_index(drop=True)


def test_plan_table(plan: pd.DataFrame) -> pd.DataFrame:
    """Before sending: the minimum detectable effect of each campaign, all segments together."""
    rows = plan[plan["segment_name"] == ALL_SEGMENTS]
    columns = ["campaign_type", "audience_users", "control_users", "baseline_conversion",
               "mde_absolute", "mde_relative", "status"]  # fmt: skip
    return rows[[c for c in columns if c in rows.columns]].reset_index(drop=True)


def measured_performance(
    performance: pd.DataFrame | None,
) -> tuple[pd.DataFrame | None, str | None]:
    """The measured rows of recommendation_performance (status ok, or no status column) and
    the mart's own message when it has none (None when it is missing or empty)."""
    if performance is None or performance.empty:
        return None, None
    if "status" not in performance.columns:
        return performance, None
    measured = performance[performance["status"].fillna("ok") == "ok"]
    if not measured.empty:
        return measured, None
    messages = performance.get("message", pd.Series(dtype=str)).dropna().astype(str)
    return None, "; ".join(sorted({m for m in messages if m.strip()})) or None


def click_through_by_model(performance: pd.DataFrame) -> pd.DataFrame:
    """Impressions, clicks, purchases and the pooled click-through per model (summed over days,
    ranks and segments: the ratio of the sums, not the mean of the daily ratios)."""
    sums = (
        performance.groupby("model", as_index=False)[["impressions", "clicks", "purchases"]]
        .sum()
        .sort_values("model")
    )
    sums["click_through_rate"] = sums["clicks"] / sums["impressions"].where(sums["impressions"] > 0)
    sums["conversion_rate"] = sums["purchases"] / sums["impressions"].where(sums["impressions"] > 0)
    return sums.reset_index(drop=True)


def click_through_by_rank_chart(performance: pd.DataFrame, language: Language) -> alt.Chart:
    """Pooled click-through per rank and model."""
    sums = performance.groupby(["model", "rank"], as_index=False)[["impressions", "clicks"]].sum()
    sums["click_through_rate"] = sums["clicks"] / sums["impressions"].where(sums["impressions"] > 0)
    return (
        alt.Chart(sums)
        .mark_line(point=True)
        .encode(
            x=alt.X("rank:O", title=text("decisions.reco.axis.rank", language),
                    axis=alt.Axis(labelAngle=0)),
            y=alt.Y("click_through_rate:Q", title=text("decisions.reco.axis.ctr", language),
                    axis=alt.Axis(format="%")),
            color=alt.Color("model:N", title=text("axis.model", language)),
            tooltip=[alt.Tooltip("model:N"), alt.Tooltip("rank:O"),
                     alt.Tooltip("click_through_rate:Q", format=".1%"),
                     alt.Tooltip("impressions:Q")],
        )
        .properties(title=text("decisions.reco.chart", language), height=220)
    )  # fmt: skip
