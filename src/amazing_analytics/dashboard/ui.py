"""Streamlit helpers shared by the pages: the language, text, tables, charts, missing data."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd
import streamlit as st

from amazing_analytics.dashboard import charts, data, formatting
from amazing_analytics.dashboard.charts import finish
from amazing_analytics.dashboard.formatting import LANGUAGES, Language
from amazing_analytics.dashboard.texts import TEXTS, column_label, text

LANGUAGE_KEY = "language"


def language() -> Language:
    """The language picked in the sidebar (English until one is picked)."""
    chosen = st.session_state.get(LANGUAGE_KEY, "en")
    return chosen if chosen in LANGUAGES else "en"


def tr(key: str, **values: object) -> str:
    """The UI text of ``key`` in the current language."""
    return text(key, language(), **values)


def header(page: str, **values: object) -> None:
    """The page's title and, when it has one, its one-line introduction."""
    st.title(tr(f"{page}.title"))
    if f"{page}.intro" in TEXTS:
        st.markdown(tr(f"{page}.intro", **values))


def table_or_notice(name: str) -> pd.DataFrame | None:
    """The exported mart, or None after saying (translated) that it is missing or empty."""
    frame = data.load(name)
    if frame is None:
        st.info(tr("common.missing", table=name))
        return None
    if frame.empty:
        st.info(tr("common.empty", table=name))
        return None
    return frame


def chart(figure: alt.TopLevelMixin, caption_key: str, **values: object) -> None:
    """A chart in the language's number formats, with the sentence saying what it shows."""
    st.altair_chart(finish(figure, language()), width="stretch")
    st.caption(tr(caption_key, **values))


def show_table(
    frame: pd.DataFrame,
    formats: Mapping[str, str] | None = None,
    height: int | None = None,
) -> None:
    """A table with translated headers and figures formatted in the current language.

    ``formats`` maps a column to ``number``, ``decimal``, ``percent`` or ``money``; those columns
    are shown as text formatted by :mod:`formatting` (so French gets ``1 234,5``).
    """
    lang = language()
    shown = frame.copy()
    for column, kind in (formats or {}).items():
        if column not in shown.columns:
            continue
        if kind == "percent":
            shown[column] = [formatting.percent(v, lang) for v in shown[column]]
        elif kind == "money":
            shown[column] = [formatting.money(v, lang) for v in shown[column]]
        elif kind == "decimal":
            shown[column] = [formatting.number(v, lang, decimals=2) for v in shown[column]]
        elif kind == "auto":
            shown[column] = [formatting.figure(v, lang) for v in shown[column]]
        else:
            shown[column] = [formatting.number(v, lang) for v in shown[column]]
    for column in shown.columns:
        if shown[column].dtype == bool:
            shown[column] = shown[column].map({True: tr("yes"), False: tr("no")})
    shown.columns = [column_label(c, lang) for c in shown.columns]
    st.dataframe(shown, hide_index=True, width="stretch", height=height or "auto")


#: Days of history drawn before the forecast.
HISTORY_DAYS = 90


def forecast_view(series_id: str, measure: str, series_label: str) -> bool:
    """History and the selected model's forecast of one series; False when there is none."""
    forecast = data.load("sales_forecast")
    history = data.load("sales_series_history")
    if forecast is None or history is None:
        st.info(
            tr(
                "common.missing",
                table="sales_forecast" if forecast is None else "sales_series_history",
            )
        )
        return False
    chosen = forecast[
        (forecast["series_id"] == series_id)
        & (forecast["measure"] == measure)
        & forecast["is_selected"].fillna(False).astype(bool)
    ].sort_values("forecast_date")
    past = history[history["series_id"] == series_id].sort_values("sales_date").tail(HISTORY_DAYS)
    if chosen.empty or past.empty:
        st.info(tr("forecasts.no_series"))
        return False
    model = str(chosen["model"].iloc[0])
    title = tr("forecasts.chart.title", series=series_label, model=model)
    chart(
        charts.forecast_chart(past, chosen, measure, title, language()), "forecasts.chart.caption"
    )
    return True


def series_label(series_id: str) -> str:
    """'family:electronics' -> 'electronics'; 'all' -> the whole shop."""
    if series_id == "all":
        return tr("forecasts.series.all")
    return series_id.split(":", 1)[-1]
