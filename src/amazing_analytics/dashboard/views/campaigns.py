"""Campaigns: audience size per campaign type x segment, the customers with their 3 products
and propensity, one personalised email, and the CSV for the emailing tool (never an opt-out)."""

from __future__ import annotations

import streamlit as st

from amazing_analytics.dashboard import campaigns, charts, data, formatting
from amazing_analytics.dashboard.texts import TEXTS
from amazing_analytics.dashboard.ui import chart, language, show_table, table_or_notice, tr

st.title(tr("campaigns.title"))
sizes = table_or_notice("campaign_audience_sizes")
audiences = table_or_notice("campaign_audiences")
if sizes is None or audiences is None:
    st.stop()

st.markdown(
    tr(
        "campaigns.intro",
        count=formatting.number(sizes["audience_size"].sum(), language()),
        campaigns=sizes["campaign_type"].nunique(),
    )
)
chart(charts.audience_heatmap(sizes, language()), "campaigns.sizes.caption")

names = sizes.drop_duplicates("campaign_type").set_index("campaign_type")
left, right = st.columns(2)
# widget keys carry the language: Streamlit keeps showing a selectbox's old label otherwise
campaign_type = left.selectbox(
    tr("campaigns.pick_campaign"),
    options=list(names.index),
    format_func=lambda key: str(names.loc[key, "campaign_name"]),
    key=f"campaign_type_{language()}",
)
segment_options = [""] + sorted(sizes["segment_name"].dropna().unique().tolist())
segment = right.selectbox(
    tr("campaigns.pick_segment"),
    options=segment_options,
    format_func=lambda name: name or tr("campaigns.all_segments"),
    key=f"campaign_segment_{language()}",
)

excluded = campaigns.excluded_user_ids(data.load("customers"), data.live_gdpr_user_ids())
chosen = audiences[audiences["campaign_type"] == campaign_type]
if segment:
    chosen = chosen[chosen["segment_name"] == segment]
held_out = campaigns.control_group_user_ids(data.load("campaign_assignments"), campaign_type)
rows = campaigns.emailing_list(chosen, excluded | held_out)

st.subheader(tr("campaigns.customers.title"))
if rows.empty:
    st.info(tr("campaigns.empty"))
    st.stop()
products = data.load("products")
shown = rows.head(200).copy()
for position in (1, 2, 3):
    shown[f"product_{position}"] = [
        f"{campaigns.product_label(pid, products, language())} — {reason or ''}"
        for pid, reason in zip(
            shown[f"product_{position}_id"], shown[f"product_{position}_reason"], strict=True
        )
    ]
show_table(
    shown[
        ["user_id", "segment_name", "purchase_probability", "product_1", "product_2", "product_3"]
    ],
    formats={"purchase_probability": "percent"},
    height=300,
)
st.caption(tr("campaigns.customers.caption", count=formatting.number(len(rows), language())))

st.download_button(
    tr("campaigns.download.label"),
    data=campaigns.to_csv(rows),
    file_name=f"campaign_{campaign_type}{'_' + segment.replace(' ', '_') if segment else ''}.csv",
    mime="text/csv",
    key="campaign_download",
)
st.caption(
    tr(
        "campaigns.download.caption",
        count=formatting.number(len(rows), language()),
        excluded=formatting.number(len(excluded), language()),
        held_out=formatting.number(len(held_out), language()),
    )
)

st.subheader(tr("campaigns.preview.title"))
customer = st.selectbox(
    tr("campaigns.preview.customer"),
    options=rows["user_id"].head(50).tolist(),
    format_func=lambda uid: f"#{uid}",
    key=f"campaign_preview_customer_{language()}",
)
row = rows[rows["user_id"] == customer].iloc[0]
# the seed's message, translated when the texts have it (a new campaign type shows the seed's)
message_key = f"campaign.message.{campaign_type}"
message = tr(message_key) if message_key in TEXTS else str(names.loc[campaign_type, "message"])
with st.container(border=True):
    st.markdown(campaigns.email_preview(row, message, products, language()))
