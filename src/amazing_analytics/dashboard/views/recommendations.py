"""Recommendations: each model against its baselines (batch, and session when evaluated), the
bias audit by slice, a customer lookup (history, list, why) and the API's live answer."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from amazing_analytics.dashboard import api_client, campaigns, charts, data, formatting
from amazing_analytics.dashboard.ui import chart, language, show_table, table_or_notice, tr

METRIC_LABELS = {
    "ndcg": "NDCG",
    "precision": "Precision",
    "recall": "Recall",
    "map": "MAP",
    "hit_rate": "Hit rate",
    "coverage": "Coverage",
    "novelty": "Novelty",
    "mrr": "MRR",
}
#: Metrics of a list of k products carry their k in the label ("Hit rate@20").
AT_K = frozenset({"ndcg", "precision", "recall", "map", "hit_rate", "mrr"})


def _label(metric: str, table: pd.DataFrame | None = None) -> str:
    name = METRIC_LABELS.get(metric, metric)
    if metric in AT_K and table is not None and "k" in table and not table.empty:
        ks = table.loc[table["metric"] == metric, "k"].dropna()
        if not ks.empty:
            return f"{name}@{int(ks.iloc[0])}"
    return name


st.title(tr("reco.title"))
evaluation = table_or_notice("recommender_evaluation")
if evaluation is not None:
    # rows with a value: 'ok', or 'not_enough_evidence' (measured, but too few test users to
    # let anything but popularity serve)
    ok = evaluation[evaluation["value"].notna()] if "value" in evaluation else evaluation
    if "status" in ok and (ok["status"] == "not_enough_evidence").any():
        st.info(tr("reco.not_enough_evidence"))
    selected = ok.loc[ok["is_selected"].fillna(False).astype(bool), "model"]
    model_in_use = str(selected.iloc[0]) if not selected.empty else "popularity"
    st.markdown(tr("reco.intro", model=model_in_use))
    overall = ok[ok["slice_type"] == "all"]
    metrics = [m for m in METRIC_LABELS if m in set(overall["metric"])] or sorted(
        set(overall["metric"])
    )
    metric = st.selectbox(
        tr("reco.metric"),
        options=metrics,
        format_func=lambda m: _label(m, overall),
        key=f"reco_metric_{language()}",
    )
    chart(
        charts.model_comparison_chart(
            overall[overall["metric"] == metric],
            _label(metric, overall),
            tr("reco.models.title", metric=_label(metric, overall)),
            language(),
        ),
        "reco.models.caption",
    )

    if data.has_table("session_recommender_evaluation"):
        sessions = data.load("session_recommender_evaluation")
        if sessions is not None and not sessions.empty:
            st.subheader(tr("reco.session.title"))
            session_all = sessions[(sessions["slice_type"] == "all")]
            session_metric = (
                metric if metric in set(session_all["metric"]) else session_all["metric"].iloc[0]
            )
            chart(
                charts.model_comparison_chart(
                    session_all[session_all["metric"] == session_metric],
                    _label(session_metric, session_all),
                    tr("reco.models.title", metric=_label(session_metric, session_all)),
                    language(),
                ),
                "reco.session.caption",
            )

    slices = ok[
        (ok["slice_type"] != "all") & (ok["model"] == model_in_use) & (ok["metric"] == metric)
    ]
    if not slices.empty:
        chart(
            charts.slice_chart(
                slices.sort_values(["slice_type", "slice"]),
                _label(metric, overall),
                tr("reco.bias.title", metric=_label(metric, overall)),
                language(),
            ),
            "reco.bias.caption",
        )

st.subheader(tr("reco.lookup.title"))
recommendations = table_or_notice("recommendations")
if recommendations is not None:
    customers = data.load("customers")
    products = data.load("products")
    # start on the best customer with a list, so the lookup shows a real history
    listed_users = recommendations["user_id"].unique()
    example = int(recommendations["user_id"].min())
    if customers is not None:
        known = customers[
            customers["user_id"].isin(listed_users)
            & ~customers["is_personalisation_opt_out"].fillna(False).astype(bool)
        ]
        if not known.empty:
            example = int(
                known.sort_values(["order_count", "user_id"], ascending=[False, True])[
                    "user_id"
                ].iloc[0]
            )
    user_id = int(
        st.number_input(
            tr("reco.lookup.input"), min_value=1, value=example, step=1, key="reco_user"
        )
    )
    mine = recommendations[recommendations["user_id"] == user_id].sort_values("rank")
    if mine.empty:
        st.info(tr("reco.lookup.unknown", user_id=user_id))
    else:
        left, right = st.columns(2)
        with left:
            st.markdown(f"**{tr('reco.lookup.history')}**")
            if customers is not None:
                row = customers[customers["user_id"] == user_id]
                if not row.empty:
                    row = row.iloc[0]
                    last_seen = pd.Timestamp(row["last_seen_at"])
                    st.markdown(
                        tr(
                            "reco.lookup.history_line",
                            sessions=formatting.number(row["session_count"], language()),
                            orders=formatting.number(row["order_count"], language()),
                            revenue=formatting.money(row["revenue"] or 0, language()),
                            last_seen=last_seen.strftime(
                                "%d/%m/%Y" if language() == "fr" else "%d %b %Y"
                            ),
                        )
                    )
                    if bool(row["is_personalisation_opt_out"]):
                        st.warning(tr("reco.lookup.opt_out"))
            orders = data.load("orders")
            if orders is not None:
                recent = orders[orders["user_id"] == user_id].sort_values(
                    "ordered_at", ascending=False
                )
                if not recent.empty:
                    st.caption(tr("reco.lookup.orders"))
                    show_table(
                        recent.head(5)[["ordered_at", "item_count", "basket_value"]],
                        formats={"item_count": "number", "basket_value": "money"},
                    )
        with right:
            st.markdown(f"**{tr('reco.lookup.list')}**")
            listed = mine.assign(
                product=[
                    campaigns.product_label(p, products, language()) for p in mine["product_id"]
                ]
            )
            show_table(listed[["rank", "product", "reason"]])

        st.subheader(tr("reco.api.title"))
        base_url = api_client.api_url()
        if base_url is None:
            st.caption(tr("reco.api.off"))
        else:
            try:
                answer = api_client.user_recommendations(base_url, user_id)
            except api_client.ApiUnavailableError as error:
                st.warning(tr("reco.api.error", url=base_url, error=error))
            else:
                st.caption(
                    tr(
                        "reco.api.answer",
                        model=answer.get("model", "?"),
                        build_id=answer.get("build_id", "?"),
                        personalised=tr("yes") if answer.get("is_personalised") else tr("no"),
                    )
                )
                items = pd.DataFrame(answer.get("items", []))
                if not items.empty:
                    items["product"] = [
                        campaigns.product_label(p, products, language())
                        for p in items["product_id"]
                    ]
                    show_table(items[["product", "reason"]])
