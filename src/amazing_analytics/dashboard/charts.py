"""Every chart of the dashboard: a function that takes a table and returns an Altair chart.

No Streamlit here, so each chart is tested without a browser (its title, axes and data are in
``chart.to_dict()``). Titles and axis titles come from :mod:`texts`, axis units are in the axis
titles, number formats follow the language through Vega-Lite's ``config.locale``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from amazing_analytics.dashboard.formatting import Language, vega_locale
from amazing_analytics.dashboard.texts import TEXTS, column_label, text

#: Chart height in pixels (the width follows the page).
HEIGHT = 280
#: Height of one bar in charts with a category axis (Vega-Lite squeezes fixed heights).
BAR_STEP = alt.Step(26)
MET_COLOURS = alt.Scale(domain=[True, False], range=["#2e7d32", "#c62828"])


def finish(chart: alt.TopLevelMixin, language: Language) -> alt.TopLevelMixin:
    """The language's number and date formats, and a common look."""
    return chart.configure(locale=vega_locale(language)).configure_title(
        anchor="start", fontSize=15
    )


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


def model_comparison_chart(
    evaluation: pd.DataFrame, metric_label: str, title: str, language: Language
) -> alt.LayerChart:
    """One metric per model (``recommender_evaluation``, one slice), intervals when present."""
    rows = evaluation.copy()
    rows["is_selected"] = rows["is_selected"].fillna(False).astype(bool)
    y = alt.Y(
        "model:N", title=text("axis.model", language), sort="-x", axis=alt.Axis(labelLimit=300)
    )
    bars = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=metric_label, axis=alt.Axis(format=".2f")),
            y=y,
            opacity=alt.Opacity(
                "is_selected:N",
                scale=alt.Scale(domain=[True, False], range=[1.0, 0.45]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("model:N", title=text("axis.model", language)),
                alt.Tooltip("value:Q", format=".4f", title=metric_label),
            ],
        )
    )
    layers = [bars]
    if {"ci_low", "ci_high"} <= set(rows.columns) and rows["ci_low"].notna().any():
        layers.append(
            alt.Chart(rows).mark_rule(color="black").encode(x="ci_low:Q", x2="ci_high:Q", y=y)
        )
    return alt.layer(*layers).properties(title=title, height=BAR_STEP)


def slice_type_label(slice_type: str, language: Language) -> str:
    """'price_band' -> 'Price band' (the raw name when it has no label)."""
    key = f"reco.slice.{slice_type}"
    return text(key, language) if key in TEXTS else slice_type


def slice_chart(
    slices: pd.DataFrame, metric_label: str, title: str, language: Language
) -> alt.Chart:
    """The model in use's metric per customer group (the bias audit)."""
    rows = slices[slices["value"].notna()].copy()
    rows["group"] = [
        f"{slice_type_label(slice_type, language)}: {name}"
        for slice_type, name in zip(rows["slice_type"], rows["slice"], strict=True)
    ]
    return (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=metric_label, axis=alt.Axis(format=".2f")),
            y=alt.Y(
                "group:N",
                title=text("reco.axis.slice", language),
                sort=None,
                axis=alt.Axis(labelLimit=260),
            ),
            color=alt.Color("slice_type:N", legend=None),
            tooltip=[
                alt.Tooltip("group:N", title=text("reco.axis.slice", language)),
                alt.Tooltip("value:Q", format=".4f", title=metric_label),
            ],
        )
        .properties(title=title, height=BAR_STEP)
    )


def error_by_model_chart(errors: pd.DataFrame, metric: str, language: Language) -> alt.Chart:
    """Backtest error per model (``forecast_evaluation`` for one series and measure)."""
    rows = errors.copy()
    rows["is_baseline"] = rows["model"].astype(str).str.startswith("naive")
    return (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X(
                "value:Q",
                title=text("forecasts.axis.error", language, metric=metric),
                axis=alt.Axis(format=",.2f"),
            ),
            y=alt.Y("model:N", title=text("axis.model", language), sort="x"),
            color=alt.Color(
                "is_baseline:N",
                scale=alt.Scale(domain=[True, False], range=["#9e9e9e", "#1976d2"]),
                legend=None,
            ),
            tooltip=[alt.Tooltip("model:N"), alt.Tooltip("value:Q", format=",.3f", title=metric)],
        )
        .properties(
            title=text("forecasts.backtest.title", language, metric=metric),
            height=BAR_STEP,
        )
    )


def importance_chart(
    importances: pd.DataFrame,
    value_column: str,
    label_column: str,
    axis_title: str,
    title: str,
    language: Language,
) -> alt.Chart:
    """Feature importance bars, largest first (top 15)."""
    rows = importances.nlargest(15, value_column)
    return (
        alt.Chart(rows)
        .mark_bar(color="#6a1b9a")
        .encode(
            x=alt.X(f"{value_column}:Q", title=axis_title, axis=alt.Axis(format=",.3~f")),
            y=alt.Y(
                f"{label_column}:N",
                title=text("axis.feature", language),
                sort="-x",
                axis=alt.Axis(labelLimit=260),
            ),
            tooltip=[
                alt.Tooltip(f"{label_column}:N"),
                alt.Tooltip(f"{value_column}:Q", format=",.4f"),
            ],
        )
        .properties(title=title, height=BAR_STEP)
    )


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
