"""Model evaluation charts: models side by side, a metric per customer group (the bias audit),
backtest errors and feature importances."""

from __future__ import annotations

import altair as alt
import pandas as pd

from amazing_analytics.dashboard.charts.style import BAR_STEP
from amazing_analytics.dashboard.formatting import Language
from amazing_analytics.dashboard.texts import TEXTS, text


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
