"""Models and privacy: explanation tables and evaluations in one place, opt-out and erasure
counts, and the processing register when it is built."""

from __future__ import annotations

import streamlit as st

from amazing_analytics.dashboard import charts, data, formatting
from amazing_analytics.dashboard.ui import chart, header, language, show_table, table_or_notice, tr

header("privacy")

st.subheader(tr("privacy.counts.title"))
customers = data.load("customers")
report = data.load("data_quality_report")
opt_outs = (
    int(customers["is_personalisation_opt_out"].fillna(False).astype(bool).sum())
    if customers is not None
    else None
)
erased = None
if report is not None:
    match = report.loc[report["check_name"] == "gdpr_erased_rows", "rows_affected"]
    erased = int(match.iloc[0]) if not match.empty else None
left, middle, right = st.columns(3)
left.metric(tr("privacy.opt_outs"), formatting.number(opt_outs, language()))
middle.metric(tr("privacy.erasures"), formatting.number(erased, language()))
right.metric(tr("privacy.live"), formatting.number(len(data.live_gdpr_user_ids()), language()))

st.subheader(tr("privacy.propensity.title"))
evaluation = table_or_notice("propensity_evaluation")
if evaluation is not None:
    overall = evaluation[evaluation["segment"].isna() | (evaluation["segment"] == "all")]
    show_table(
        (overall if not overall.empty else evaluation)[["metric", "value", "description"]],
        formats={"value": "auto"},
    )
importance = table_or_notice("propensity_feature_importance")
if importance is not None:
    chart(
        charts.importance_chart(
            importance,
            "mean_abs_shap",
            "label",
            tr("privacy.axis.shap"),
            tr("privacy.propensity_importance.title"),
            language(),
        ),
        "privacy.propensity_importance.caption",
    )

st.subheader(tr("privacy.segmentation.title"))
quality = table_or_notice("segmentation_quality")
if quality is not None:
    show_table(
        quality[["k", "silhouette", "stability_ari", "is_chosen"]],
        formats={"silhouette": "decimal", "stability_ari": "decimal"},
    )

st.subheader(tr("privacy.forecast.title"))
forecast_eval = table_or_notice("forecast_evaluation")
if forecast_eval is not None:
    mase = forecast_eval[
        (forecast_eval["metric"] == "mase") & (forecast_eval["status"].fillna("ok") == "ok")
    ]
    show_table(
        mase[["series_id", "measure", "model", "value"]]
        .sort_values(["series_id", "measure", "value"])
        .rename(columns={"value": "mase"}),
        formats={"mase": "auto"},
        height=260,
    )

st.subheader(tr("privacy.reco.title"))
reco = table_or_notice("recommender_evaluation")
if reco is not None:
    overall = reco[
        (reco["slice_type"] == "all")
        & reco["metric"].isin(["ndcg", "precision", "recall", "coverage"])
    ]
    wide = overall.pivot_table(index="model", columns="metric", values="value").reset_index()
    show_table(wide, formats={c: "auto" for c in wide.columns if c != "model"})

st.subheader(tr("privacy.register.title"))
register = data.load("processing_register")
if register is None:
    st.info(tr("privacy.register.missing"))
else:
    show_table(register, height=320)
