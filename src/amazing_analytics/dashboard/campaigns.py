"""The campaign emailing list and the email preview (no Streamlit: tested directly).

Opt-outs are never in the list: ``campaign_audiences`` already leaves them out at build time,
and :func:`emailing_list` drops again every customer flagged in ``customers`` or listed in the
live GDPR lists since the build (``amazing gdpr opt-out`` / ``erase``), so a request made this
morning is honoured before the next build. The campaign's control group
(:func:`control_group_user_ids`) is left out too: it receives nothing.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from amazing_analytics.dashboard import formatting
from amazing_analytics.dashboard.formatting import Language
from amazing_analytics.dashboard.texts import text

#: Columns of the emailing tool's file, in order.
EMAIL_COLUMNS: tuple[str, ...] = (
    "campaign_type",
    "campaign_name",
    "segment_name",
    "user_id",
    "product_1_id",
    "product_1_reason",
    "product_2_id",
    "product_2_reason",
    "product_3_id",
    "product_3_reason",
    "purchase_probability",
)


def excluded_user_ids(customers: pd.DataFrame | None, live_ids: Collection[int]) -> frozenset[int]:
    """Customers who must get no personalised email: flagged in ``customers``, or live-listed."""
    flagged: set[int] = set()
    if customers is not None and "is_personalisation_opt_out" in customers.columns:
        mask = customers["is_personalisation_opt_out"].fillna(False).astype(bool)
        flagged = {int(v) for v in customers.loc[mask, "user_id"]}
    return frozenset(flagged | {int(v) for v in live_ids})


def control_group_user_ids(assignments: pd.DataFrame | None, campaign_type: str) -> frozenset[int]:
    """The campaign's A/B control group (``campaign_assignments``): they receive nothing, so
    that ``campaign_results`` can measure the uplift. Empty when the build has no assignments."""
    if assignments is None or assignments.empty or "group_name" not in assignments.columns:
        return frozenset()
    mask = (assignments["campaign_type"] == campaign_type) & (
        assignments["group_name"] == "control"
    )
    return frozenset(int(v) for v in assignments.loc[mask, "user_id"])


def emailing_list(audiences: pd.DataFrame, excluded: Collection[int]) -> pd.DataFrame:
    """The rows for the emailing tool, opt-outs and erased customers removed, likeliest first."""
    missing = [c for c in EMAIL_COLUMNS if c not in audiences.columns]
    if missing:
        raise ValueError(f"campaign_audiences lacks the columns {', '.join(missing)}")
    keep = ~audiences["user_id"].isin(list(excluded))
    rows = audiences.loc[keep, list(EMAIL_COLUMNS)]
    return rows.sort_values(
        ["campaign_type", "purchase_probability", "user_id"],
        ascending=[True, False, True],
        na_position="last",
    ).reset_index(drop=True)


def to_csv(rows: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a header, as emailing tools import it."""
    return rows.to_csv(index=False).encode("utf-8")


def product_label(product_id: object, products: pd.DataFrame | None, language: Language) -> str:
    """'Brand — category (price)' for a product id; the id alone when unknown."""
    if product_id is None or pd.isna(product_id):
        return "–"
    pid = int(product_id)
    if products is not None:
        match = products[products["product_id"] == pid]
        if not match.empty:
            row = match.iloc[0]
            brand = row["brand"] if isinstance(row["brand"], str) and row["brand"] else ""
            category = row["category_code"] if isinstance(row["category_code"], str) else ""
            leaf = category.rsplit(".", 1)[-1].replace("_", " ") if category else ""
            name = " ".join(part for part in (brand.title(), leaf) if part)
            price = formatting.money(row["median_price"], language)
            return f"{name} (#{pid}, {price})" if name else f"#{pid} ({price})"
    return f"#{pid}"


def email_preview(
    row: pd.Series, message: str, products: pd.DataFrame | None, language: Language
) -> str:
    """The personalised email of one audience row, as Markdown."""
    lines = [
        f"**{text('campaigns.preview.subject', language, name=row['campaign_name'])}**",
        "",
        text("campaigns.preview.greeting", language),
        "",
        message,
        "",
    ]
    for position in (1, 2, 3):
        product = row.get(f"product_{position}_id")
        if product is None or pd.isna(product):
            continue
        reason = row.get(f"product_{position}_reason") or ""
        lines.append(f"{position}. **{product_label(product, products, language)}** — _{reason}_")
    lines += ["", text("campaigns.preview.signature", language)]
    return "\n".join(lines)
