"""Sales charts: the KPI objectives, weekly revenue, the focus brand's shares, the forecasts."""

from __future__ import annotations

import altair as alt
import pandas as pd

from amazing_analytics.dashboard.charts.style import HEIGHT, MET_COLOURS
from amazing_analytics.dashboard.formatting import Language
from amazing_analytics.dashboard.texts import column_label, text


def kpi_objective_chart(weekly: pd.DataFrame, kpi_name: str, language: Language) -> alt.Chart:
    """One KPI of ``kpi_objectives_weekly`` by week: the value, the target and the baseline."""
    rows = weekly[weekly["kpi_name"] == kpi_name].copy()
    is_money = kpi_name == "average_basket"
    value_format = "$,.2f" if is_money else ".1%"
    kpi = text(f"kpi.{kpi_name}", language)
    unit = "($)" if is_money else "(%)"
    y = alt.Y(
        "kpi_value:Q",
        title=f"{kpi} {unit}",
        axis=alt.Axis(format="$,.0f" if is_money else ".1%"),
        scale=alt.Scale(zero=False),
    )
    x = alt.X("week_start:T", title=text("axis.week", language), axis=alt.Axis(format="%d %b"))
    line = alt.Chart(rows).mark_line(color="#607d8b").encode(x=x, y=y)
    points = (
        alt.Chart(rows)
        .mark_circle(size=60)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "is_objective_met:N",
                scale=MET_COLOURS,
                title=text("legend.met", language),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("week_start:T", title=text("axis.week", language), format="%d %b %Y"),
                alt.Tooltip("kpi_value:Q", title=kpi, format=value_format),
                alt.Tooltip("target_value:Q", title="target", format=value_format),
            ],
        )
    )
    target = (
        alt.Chart(rows)
        .mark_rule(strokeDash=[6, 4], color="#2e7d32")
        .encode(y=alt.Y("mean(target_value):Q"))
    )
    baseline = alt.Chart(rows).mark_rule(color="#9e9e9e").encode(y="mean(baseline_value):Q")
    return (line + points + target + baseline).properties(
        title=text("overview.kpi_chart.title", language, kpi=kpi), height=HEIGHT
    )


def weekly_revenue_chart(kpi_weekly: pd.DataFrame, language: Language) -> alt.Chart:
    """``kpi_weekly`` revenue by week (a line: bars on a time axis are too thin to read)."""
    return (
        alt.Chart(kpi_weekly)
        .mark_line(point=alt.OverlayMarkDef(size=50, filled=True), color="#1976d2")
        .encode(
            x=alt.X(
                "week_start:T", title=text("axis.week", language), axis=alt.Axis(format="%d %b %Y")
            ),
            y=alt.Y(
                "revenue:Q", title=text("axis.revenue", language), axis=alt.Axis(format="$,.0f")
            ),
            tooltip=[
                alt.Tooltip("week_start:T", title=text("axis.week", language), format="%d %b %Y"),
                alt.Tooltip("revenue:Q", title=text("kpi.revenue", language), format="$,.0f"),
                alt.Tooltip("is_partial_week:N", title=text("legend.partial_week", language)),
            ],
        )
        .properties(title=text("overview.revenue_chart.title", language), height=HEIGHT)
    )


def brand_share_chart(brand: pd.DataFrame, language: Language) -> alt.Chart:
    """The focus brand's revenue and view shares by month (``brand_performance``, all categories)."""
    rows = brand[brand["category_code"] == "all brand categories"]
    measures = ["revenue_share", "view_share"]
    long = rows.melt(id_vars=["month_start"], value_vars=measures, var_name="measure")
    long["measure"] = long["measure"].map(
        {m: text(f"basics.measure.{m}", language) for m in measures}
    )
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "yearmonth(month_start):O",
                title=text("axis.month", language),
                axis=alt.Axis(format="%b %Y", labelAngle=0),
            ),
            y=alt.Y("value:Q", title=text("axis.share", language), axis=alt.Axis(format=".0%")),
            color=alt.Color(
                "measure:N",
                title=text("legend.measure", language),
                scale=alt.Scale(
                    domain=[text(f"basics.measure.{m}", language) for m in measures],
                    range=["#0d47a1", "#90caf9"],
                ),
            ),
            tooltip=[
                alt.Tooltip("month_start:T", title=text("axis.month", language), format="%B %Y"),
                alt.Tooltip("measure:N", title=text("legend.measure", language)),
                alt.Tooltip("value:Q", title=text("axis.share", language), format=".1%"),
            ],
        )
        .properties(title=text("basics.share_chart.title", language), height=HEIGHT)
    )


def brand_share_heatmap(brand: pd.DataFrame, language: Language) -> alt.Chart:
    """Revenue share of the focus brand per category (rows) and month (columns)."""
    rows = brand[brand["category_code"] != "all brand categories"]
    return (
        alt.Chart(rows)
        .mark_rect()
        .encode(
            x=alt.X(
                "yearmonth(month_start):O",
                title=text("axis.month", language),
                axis=alt.Axis(format="%b %Y"),
            ),
            y=alt.Y(
                "category_code:N",
                title=column_label("category_code", language),
                sort="ascending",
                axis=alt.Axis(labelLimit=300),
            ),
            color=alt.Color(
                "revenue_share:Q",
                title=text("axis.share", language),
                scale=alt.Scale(scheme="blues"),
                legend=alt.Legend(format=".0%"),
            ),
            tooltip=[
                alt.Tooltip("category_code:N"),
                alt.Tooltip("month_start:T", format="%B %Y", title=text("axis.month", language)),
                alt.Tooltip("revenue_share:Q", format=".1%", title=text("axis.share", language)),
            ],
        )
        .properties(title=text("basics.heatmap.title", language), height=HEIGHT)
    )


def forecast_chart(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    measure: str,
    title: str,
    language: Language,
) -> alt.Chart:
    """History (``sales_series_history``) and forecast with its interval (``sales_forecast``)."""
    is_money = measure == "revenue"
    axis_format = "$,.0f" if is_money else ",.0f"
    y_title = text(f"forecasts.measure.{measure}", language)
    x = alt.X("day:T", title=text("axis.date", language), axis=alt.Axis(format="%d %b"))
    actual, predicted = _forecast_frames(history, forecast, measure, language)
    kinds = [text("forecasts.legend.actual", language), text("forecasts.legend.forecast", language)]
    colour = alt.Color(
        "kind:N",
        title=text("legend.measure", language),
        scale=alt.Scale(domain=kinds, range=["#0d47a1", "#e65100"]),
    )
    band = (
        alt.Chart(predicted)
        .mark_area(opacity=0.25, color="#e65100")
        .encode(x=x, y="low:Q", y2="high:Q")
    )
    actual_line = (
        alt.Chart(actual)
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=axis_format)),
            color=colour,
        )
    )
    forecast_line = (
        alt.Chart(predicted)
        .mark_line(strokeDash=[6, 3])
        .encode(
            x=x,
            y="value:Q",
            color=colour,
            tooltip=[
                alt.Tooltip("day:T", format="%d %b %Y", title=text("axis.date", language)),
                alt.Tooltip("value:Q", format=axis_format, title=y_title),
                alt.Tooltip("low:Q", format=axis_format),
                alt.Tooltip("high:Q", format=axis_format),
            ],
        )
    )
    return (band + actual_line + forecast_line).properties(title=title, height=HEIGHT)


def _forecast_frames(
    history: pd.DataFrame, forecast: pd.DataFrame, measure: str, language: Language
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The actual values (day, value, kind) and the forecast (day, value, low, high, kind)."""
    actual = pd.DataFrame(
        {
            "day": pd.to_datetime(history["sales_date"]),
            "value": history[measure].astype(float),
            "kind": text("forecasts.legend.actual", language),
        }
    )
    predicted = pd.DataFrame(
        {
            "day": pd.to_datetime(forecast["forecast_date"]),
            "value": forecast["yhat"].astype(float),
            "low": forecast["yhat_lower"].astype(float),
            "high": forecast["yhat_upper"].astype(float),
            "kind": text("forecasts.legend.forecast", language),
        }
    )
    return actual, predicted
