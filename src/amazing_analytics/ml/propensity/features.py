"""The propensity features: their names, their plain-words labels and the Arrow -> numpy reads.

Features are computed in SQL (macro ``customer_activity_features``) from events at or before
``as_of_date`` only; here they are read into a float64 matrix, infinities as unknown (NaN).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import numeric_column
from amazing_analytics.ml.guards import require_columns

PROPENSITY_FEATURES: tuple[str, ...] = (
    "session_count",
    "view_count",
    "cart_count",
    "order_count",
    "revenue",
    "average_basket",
    "conversion_rate",
    "cart_abandonment_rate",
    "days_active",
    "tenure_days",
    "days_since_last_event",
    "days_since_last_order",
    "views_last_7_days",
    "views_last_30_days",
    "carts_last_30_days",
    "orders_last_90_days",
)

# Neutral, plain-words names; a reason adds the customer's value and the direction of the push,
# so the same label reads naturally whether the feature raises or lowers the chance.
FEATURE_LABELS: dict[str, str] = {
    "session_count": "Number of visits",
    "view_count": "Products viewed (all time)",
    "cart_count": "Add-to-carts (all time)",
    "order_count": "Orders (all time)",
    "revenue": "Total spend (all time)",
    "average_basket": "Average order value",
    "conversion_rate": "Share of visits that end in a purchase",
    "cart_abandonment_rate": "Share of carts left without buying",
    "days_active": "Days with any activity",
    "tenure_days": "Days since first visit",
    "days_since_last_event": "Days since last visit",
    "days_since_last_order": "Days since last order",
    "views_last_7_days": "Product views in the last 7 days",
    "views_last_30_days": "Product views in the last 30 days",
    "carts_last_30_days": "Add-to-carts in the last 30 days",
    "orders_last_90_days": "Orders in the last 90 days",
}

#: Rows handled at once by prediction, scoring and explanation (the results do not depend on it).
DEFAULT_CHUNK_ROWS = 200_000


def column_as_float(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as float64, NaN for nulls and for infinities (a division by zero
    upstream is treated as unknown)."""
    values = numeric_column(table, name)
    infinite = np.isinf(values)
    if infinite.any():
        values = np.where(infinite, np.nan, values)
    return values


def feature_matrix(table: pa.Table, feature_names: Sequence[str]) -> np.ndarray:
    """Rows x ``feature_names`` float64 matrix of ``table``."""
    require_columns(table, feature_names, "The features table")
    matrix = np.empty((table.num_rows, len(feature_names)), dtype=np.float64)
    for j, name in enumerate(feature_names):
        matrix[:, j] = column_as_float(table, name)
    return matrix


def labels(table: pa.Table) -> np.ndarray:
    """The ``label`` column as a boolean array; every row must have one."""
    column = table.column("label")
    if column.null_count:
        raise ValueError(f"{column.null_count} row(s) have no label.")
    if not pa.types.is_boolean(column.type):
        column = pc.cast(column, pa.bool_())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=bool)


def chunks(table: pa.Table, chunk_size: int) -> Iterator[pa.Table]:
    """``table`` in consecutive slices of at most ``chunk_size`` rows."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1.")
    for start in range(0, table.num_rows, chunk_size):
        yield table.slice(start, chunk_size)
