"""Forecasts: pick a series to see its history and forecast with the interval band, every
model's backtest error against the naive baselines, and the feature importance."""

from __future__ import annotations

import streamlit as st

from amazing_analytics.dashboard import charts
from amazing_analytics.dashboard.texts import feature_label
from amazing_analytics.dashboard.ui import (
    chart,
    forecast_view,
    header,
    language,
    series_label,
    table_or_notice,
    tr,
)

METRICS = ("mase", "smape", "mae", "rmse", "coverage")
METRIC_LABELS = {
    "mase": "MASE",
    "smape": "sMAPE",
    "mae": "MAE",
    "rmse": "RMSE",
    "coverage": "Coverage",
}

header("forecasts")
forecast = table_or_notice("sales_forecast")
if forecast is None:
    st.stop()
series_ids = sorted(forecast["series_id"].unique(), key=lambda s: (s != "all", s))
left, right = st.columns(2)
series_id = left.selectbox(
    tr("forecasts.series"),
    options=series_ids,
    format_func=series_label,
    key=f"forecast_series_{language()}",
)
measures = sorted(forecast.loc[forecast["series_id"] == series_id, "measure"].unique())
measure = right.selectbox(
    tr("forecasts.measure"),
    options=measures,
    format_func=lambda m: tr(f"forecasts.measure.{m}") if m in ("revenue", "units") else m,
    key=f"forecast_measure_{language()}",
)
forecast_view(series_id, measure, series_label(series_id))

evaluation = table_or_notice("forecast_evaluation")
if evaluation is not None:
    rows = evaluation[
        (evaluation["series_id"] == series_id)
        & (evaluation["measure"] == measure)
        & (evaluation["status"].fillna("ok") == "ok")
    ]
    available = [m for m in METRICS if m in set(rows["metric"])]
    if available:
        metric = available[0]
        chart(
            charts.error_by_model_chart(
                rows[rows["metric"] == metric], METRIC_LABELS.get(metric, metric), language()
            ),
            "forecasts.backtest.caption",
        )

importance = table_or_notice("forecast_feature_importance")
if importance is not None:
    chosen = forecast[
        (forecast["series_id"] == series_id)
        & (forecast["measure"] == measure)
        & forecast["is_selected"].fillna(False).astype(bool)
    ]
    model = str(chosen["model"].iloc[0]) if not chosen.empty else None
    mine = importance[(importance["model"] == model) & (importance["measure"] == measure)]
    if mine.empty:
        model = str(importance["model"].iloc[0])
        mine = importance[(importance["model"] == model) & (importance["measure"] == measure)]
    if not mine.empty:
        mine = mine.assign(feature=[feature_label(f, language()) for f in mine["feature"]])
        chart(
            charts.importance_chart(
                mine,
                "importance",
                "feature",
                tr("forecasts.axis.importance"),
                tr("forecasts.importance.title", model=model),
                language(),
            ),
            "forecasts.importance.caption",
        )
