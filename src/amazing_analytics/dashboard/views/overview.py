"""Overview: the spec's KPIs week by week against the objectives, and whether each is met."""

from __future__ import annotations

import streamlit as st

from amazing_analytics.dashboard import charts, formatting
from amazing_analytics.dashboard.ui import chart, header, language, table_or_notice, tr


def _value(kpi_name: str, value: object) -> str:
    if kpi_name == "average_basket":
        return formatting.money(value, language())
    return formatting.percent(value, language())


def _dates(value: object) -> str:
    return value.strftime("%d/%m/%Y" if language() == "fr" else "%d %b %Y")  # type: ignore[attr-defined]


objectives = table_or_notice("kpi_objectives")
if objectives is None:
    st.title(tr("overview.title"))
    st.stop()
objectives = objectives.sort_values("kpi_order")
first = objectives.iloc[0]
header(
    "overview",
    weeks=int(first["current_week_count"]),
    current_start=_dates(first["current_start"]),
    current_end=_dates(first["current_end"]),
    baseline_start=_dates(first["baseline_start"]),
    baseline_end=_dates(first["baseline_end"]),
)
met = int((objectives["objective_status"] == "met").sum())
st.subheader(tr("overview.summary", met=met, total=len(objectives)))

columns = st.columns(len(objectives))
for column, (_, row) in zip(columns, objectives.iterrows(), strict=True):
    kpi = row["kpi_name"]
    with column.container(border=True):
        st.metric(
            tr(f"kpi.{kpi}"),
            _value(kpi, row["current_value"]),
            # st.metric reads the sign from an ASCII "-" (the typographic minus is for text)
            delta=formatting.percent(row["change_vs_baseline"], language(), signed=True).replace(
                "−", "-"
            ),
            delta_color="inverse" if row["objective_change"] < 0 else "normal",
            help=tr(f"kpi.help.{kpi}"),
        )
        st.caption(tr("overview.baseline_value", value=_value(kpi, row["baseline_value"])))
        st.markdown(
            tr(
                f"overview.status.{row['objective_status']}",
                change=formatting.percent(row["change_vs_baseline"], language(), signed=True),
                objective=formatting.percent(
                    row["objective_change"], language(), decimals=0, signed=True
                ),
                target=_value(kpi, row["target_value"]),
            )
        )

weekly = table_or_notice("kpi_objectives_weekly")
if weekly is not None:
    kpi_columns = st.columns(len(objectives))
    for column, kpi in zip(kpi_columns, objectives["kpi_name"], strict=True):
        with column:
            chart(charts.kpi_objective_chart(weekly, kpi, language()), "overview.kpi_chart.caption")

kpi_weekly = table_or_notice("kpi_weekly")
if kpi_weekly is not None:
    chart(charts.weekly_revenue_chart(kpi_weekly, language()), "overview.revenue_chart.caption")
