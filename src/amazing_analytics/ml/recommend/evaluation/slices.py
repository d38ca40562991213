"""Who is evaluated in each slice, and on which products: all users, new and returning, per
segment and price band, per category family, and the products without training interactions.

A slice is ``(slice type, slice, user mask, relevant products or None = all of theirs)``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.recommend.data import Catalogue, TrainingData

Slice = tuple[str, str, np.ndarray, sp.csr_matrix | None]


def evaluated_users(relevant: sp.csr_matrix) -> np.ndarray:
    """Users with at least one relevant product (the others have no metric)."""
    return np.diff(sp.csr_matrix(relevant).indptr) > 0


def user_labels(labels: Sequence[ArrowData], user_ids: np.ndarray, column: str) -> np.ndarray:
    """The first of the label tables that has ``column``, looked up per user (None if absent)."""
    out = np.full(user_ids.size, None, dtype=object)
    tables = [as_table(t) for t in labels]
    tables = [t for t in tables if column in t.column_names and "user_id" in t.column_names]
    if not tables:
        return out
    table = tables[0]
    ids = np.asarray(pc.cast(table.column("user_id"), pa.int64()).to_numpy(zero_copy_only=False))
    values = np.asarray(
        pc.cast(table.column(column), pa.string()).to_numpy(zero_copy_only=False), dtype=object
    )
    order = np.argsort(ids, kind="stable")
    ids, values = ids[order], values[order]
    if ids.size == 0:
        return out
    pos = np.searchsorted(ids, user_ids).clip(0, ids.size - 1)
    hit = ids[pos] == user_ids
    out[hit] = values[pos[hit]]
    return out


def user_slices(
    train: TrainingData,
    rows: np.ndarray,
    relevant: sp.csr_matrix,
    labels: Sequence[ArrowData],
    test_users: np.ndarray,
) -> list[Slice]:
    """all, user_type, segment, price_band and the products without training interactions."""
    n = rows.size
    out: list[Slice] = [("all", "all", np.ones(n, bool), None)]
    returning = train.history_counts()[rows] > 0
    out.append(("user_type", "returning", returning, None))
    out.append(("user_type", "new", ~returning, None))
    for column, slice_type in (("segment_name", "segment"), ("price_band", "price_band")):
        values = user_labels(labels, test_users, column)
        for value in sorted({v for v in values if v is not None}):
            out.append((slice_type, value, values == value, None))
    cold = train.users_per_item() == 0
    cold_relevant = sp.csr_matrix(relevant.multiply(cold[None, :].astype(np.float32)))
    cold_relevant.eliminate_zeros()
    has_cold = np.diff(cold_relevant.indptr) > 0
    out.append(
        ("cold_start_products", "products without training interactions", has_cold, cold_relevant)
    )
    return out


def category_family_slices(
    relevant: sp.csr_matrix, catalogue: Catalogue
) -> list[tuple[str, str, np.ndarray, sp.csr_matrix]]:
    """One ``category_family`` slice per family (first level of category_code) of the test
    products: the users who carted or bought a product of the family in the test window, with
    only those products counting as relevant (is the family's demand recommended?)."""
    families = np.asarray(catalogue.category_level_1, dtype=object)
    out: list[tuple[str, str, np.ndarray, sp.csr_matrix]] = []
    coo = sp.coo_matrix(relevant)
    present = sorted({str(f) for f in families[coo.col[coo.data > 0]]})
    for family in present:
        in_family = (families == family).astype(np.float32)
        family_relevant = sp.csr_matrix(relevant.multiply(in_family[None, :]))
        family_relevant.eliminate_zeros()
        has = np.diff(family_relevant.indptr) > 0
        out.append(("category_family", family, has, family_relevant))
    return out
