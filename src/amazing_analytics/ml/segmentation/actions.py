"""The segments' marketing actions: copy from seed ``segment_actions`` (one sentence per role,
price level and family), put together for each segment by :func:`suggested_action`."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.segmentation.naming import PRICE_LEVELS, ROLES, SegmentLabel, family_label


def action_copy_from_table(table: ArrowData) -> dict[tuple[str, str], str]:
    """``{(profile_part, profile_value): suggested_action}`` from seed segment_actions.

    Raises:
        ValueError: a column is missing, or a role, price level or the family sentence has no
            row.
    """
    table = as_table(table)
    columns = ["profile_part", "profile_value", "suggested_action"]
    require_columns(table, columns, "the segment actions table")
    copy = {
        (row["profile_part"], row["profile_value"]): row["suggested_action"]
        for row in table.select(columns).to_pylist()
    }
    needed = [("role", r) for r in ROLES] + [("price", p) for p in PRICE_LEVELS]
    needed.append(("family", "any"))
    absent = [f"{part}:{value}" for part, value in needed if not copy.get((part, value))]
    if absent:
        raise ValueError(f"seed segment_actions has no action for {', '.join(absent)}")
    return copy


def action_copy_table(copy: Mapping[tuple[str, str], str]) -> pa.Table:
    """The inverse of :func:`action_copy_from_table` (for tests and benchmarks)."""
    keys = list(copy)
    return pa.table(
        {
            "profile_part": [part for part, _ in keys],
            "profile_value": [value for _, value in keys],
            "suggested_action": [copy[key] for key in keys],
        }
    )


def suggested_action(
    label: SegmentLabel,
    copy: Mapping[tuple[str, str], str],
    family_labels: Mapping[str, str] | None = None,
) -> str:
    """The role's action, then the price level's and the family's when the name has them."""
    sentences = [copy[("role", label.role)]]
    if label.price_level:
        sentences.append(copy[("price", label.price_level)])
    if label.family:
        family = family_label(label.family, family_labels or {})
        sentences.append(copy[("family", "any")].replace("{family}", family))
    return " ".join(sentences)
