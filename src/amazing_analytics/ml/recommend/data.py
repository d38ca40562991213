"""From the warehouse's Arrow tables to indexed sparse matrices the recommenders train on.

* :class:`Catalogue` - every product of ``int_recommender_product_features`` (so products
  without any interaction, the cold-start ones, still have an index and content features).
* :class:`TrainingData` - one split of ``interactions``: users x products decayed weights, what
  each user bought (excluded from their lists unless the category is bought repeatedly), the
  strongest event per pair (for reasons) and the split's session co-occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from amazing_analytics.ml.arrow_utils import ArrowData, as_reader, as_table, numeric_column

# MissingColumnsError is re-exported: callers catch it from here
from amazing_analytics.ml.guards import MissingColumnsError as MissingColumnsError
from amazing_analytics.ml.guards import require_columns

PRODUCT_FEATURE_COLUMNS = (
    "product_id",
    "category_id",
    "category_code",
    "category_level_1",
    "category_level_2_code",
    "brand",
    "price_band",
    "is_repeat_purchase_category",
)
INTERACTION_COLUMNS = (
    "split",
    "user_id",
    "product_id",
    "view_count",
    "cart_count",
    "purchase_count",
    "weight",
)
#: A product pair's columns; :data:`COOCCURRENCE_COLUMNS` with the split it belongs to.
PAIR_COLUMNS = ("product_id", "other_product_id", "session_count", "bought_together_count")
COOCCURRENCE_COLUMNS = ("split", *PAIR_COLUMNS)
#: Strongest event of a user x product pair, as stored in :attr:`TrainingData.strongest`.
VIEWED, CARTED, BOUGHT = 1, 2, 3


def _ids(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    if column.null_count:
        raise ValueError(f"column {name!r} has {column.null_count} null id(s)")
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _text(table: pa.Table, name: str, default: str = "unknown") -> np.ndarray:
    column = pc.fill_null(pc.cast(table.column(name), pa.string()), default)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


def _index_of(sorted_ids: np.ndarray | pd.Index, ids: np.ndarray) -> np.ndarray:
    """Position of each id in ``sorted_ids`` (unique), -1 where absent. A hash look-up
    (pandas): 5x less CPU than a binary search for the 43M co-occurrence pairs of 10M events.
    Pass the ids as a ``pd.Index`` kept between calls (:meth:`Catalogue.index`): its hash table
    is built once, not at every call (16x less time per batch of 60k pairs from 250k products)."""
    if len(sorted_ids) == 0:
        return np.full(np.shape(ids), -1, dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    lookup = sorted_ids if isinstance(sorted_ids, pd.Index) else pd.Index(sorted_ids)
    positions = lookup.get_indexer(ids.ravel())
    return np.asarray(positions, dtype=np.int64).reshape(ids.shape)


@dataclass(frozen=True)
class Catalogue:
    """Products that can be recommended, in product_id order, with their content features."""

    item_ids: np.ndarray
    category_id: np.ndarray
    category_code: np.ndarray
    category_level_1: np.ndarray
    category_level_2_code: np.ndarray
    brand: np.ndarray
    price_band: np.ndarray
    is_repeat_purchase: np.ndarray

    @property
    def size(self) -> int:
        return int(self.item_ids.size)

    def index(self, product_ids: np.ndarray) -> np.ndarray:
        return _index_of(self._lookup, np.asarray(product_ids, dtype=np.int64))

    @cached_property
    def _lookup(self) -> pd.Index:
        return pd.Index(self.item_ids)

    def category_label(self, items: np.ndarray) -> np.ndarray:
        """A category name for people: the category_code, else 'category <category_id>'."""
        return self._category_labels[np.asarray(items, dtype=np.int64)]

    def describe(self, items: np.ndarray) -> np.ndarray:
        """A short product description: brand and the last level of its category."""
        return self._descriptions[np.asarray(items, dtype=np.int64)]

    # Worded once per product, then looked up: the served lists name millions of products at
    # scale (5.5M at 10M events), a Python loop per name took minutes.
    @cached_property
    def _category_labels(self) -> np.ndarray:
        return np.array(
            [
                c if c != "unknown" else f"category {i}"
                for c, i in zip(self.category_code, self.category_id, strict=True)
            ],
            dtype=object,
        )

    @cached_property
    def _descriptions(self) -> np.ndarray:
        out = []
        for brand, code, product in zip(
            self.brand, self.category_code, self.item_ids.tolist(), strict=True
        ):
            kind = code.rsplit(".", 1)[-1] if code != "unknown" else ""
            if brand != "unknown" and kind:
                out.append(f"{brand} {kind}")
            elif brand != "unknown":
                out.append(f"{brand} product {product}")
            elif kind:
                out.append(f"{kind} {product}")
            else:
                out.append(f"product {product}")
        return np.array(out, dtype=object)


#: The repeat-purchase flag learned from the purchases before the test window only.
EVALUATION_REPEAT_COLUMN = "evaluation_is_repeat_purchase_category"


def evaluation_catalogue(product_features: ArrowData) -> Catalogue:
    """The catalogue as the evaluated models may know it: the repeat-purchase flag (which bought
    products may be recommended again, and what buy_again offers) from the purchases before the
    test window (:data:`EVALUATION_REPEAT_COLUMN`), not from those up to as_of_date, which
    include the test window's purchases the models are judged on."""
    table = as_table(product_features)
    require_columns(
        table,
        (*PRODUCT_FEATURE_COLUMNS, EVALUATION_REPEAT_COLUMN),
        "int_recommender_product_features",
    )
    position = table.schema.get_field_index("is_repeat_purchase_category")
    flag = table.column(EVALUATION_REPEAT_COLUMN)
    return build_catalogue(table.set_column(position, "is_repeat_purchase_category", flag))


def build_catalogue(product_features: ArrowData) -> Catalogue:
    table = as_table(product_features)
    require_columns(table, PRODUCT_FEATURE_COLUMNS, "int_recommender_product_features")
    table = table.sort_by("product_id")
    ids = _ids(table, "product_id")
    if np.unique(ids).size != ids.size:
        raise ValueError("int_recommender_product_features has duplicate product_id values")
    category_id = pc.cast(pc.fill_null(table.column("category_id"), -1), pa.int64())
    repeat = pc.fill_null(table.column("is_repeat_purchase_category"), False)
    return Catalogue(
        item_ids=ids,
        category_id=np.asarray(category_id.to_numpy(zero_copy_only=False), dtype=np.int64),
        category_code=_text(table, "category_code"),
        category_level_1=_text(table, "category_level_1"),
        category_level_2_code=_text(table, "category_level_2_code"),
        brand=_text(table, "brand"),
        price_band=_text(table, "price_band", "mid"),
        is_repeat_purchase=np.asarray(repeat.to_numpy(zero_copy_only=False), dtype=bool),
    )


@dataclass(frozen=True)
class TrainingData:
    """One split of the interactions, indexed: rows = ``user_ids``, columns = the catalogue."""

    catalogue: Catalogue
    user_ids: np.ndarray
    weights: sp.csr_matrix
    strongest: sp.csr_matrix
    bought: sp.csr_matrix
    cooccurrence: sp.csr_matrix
    bought_together: sp.csr_matrix
    #: users x products 1 / (1 + days since the pair's last event), when the interactions say
    #: (days_since_last_event); else None and the decayed weights stand in for recency.
    recency: sp.csr_matrix | None = None

    @property
    def n_users(self) -> int:
        return int(self.user_ids.size)

    def user_index(self, user_ids: np.ndarray) -> np.ndarray:
        # called a few times per split: its hash table (millions of users) is not kept
        return _index_of(self.user_ids, np.asarray(user_ids, dtype=np.int64))

    def history_counts(self) -> np.ndarray:
        """Products each user interacted with in this split."""
        return np.diff(self.weights.indptr)

    def users_per_item(self) -> np.ndarray:
        return np.diff(self.weights.tocsc().indptr)

    def recency_scores(self) -> sp.csr_matrix:
        """users x products: higher = the pair's last event is more recent."""
        return self.recency if self.recency is not None else self.weights

    def exclusions(self) -> sp.csr_matrix:
        """Pairs never recommended: bought products, unless bought again and again."""
        keep = ~self.catalogue.is_repeat_purchase
        return sp.csr_matrix(self.bought.multiply(keep[None, :].astype(np.float32)), dtype=bool)


def _split(table: pa.Table, split: str) -> pa.Table:
    """The rows of ``split`` (the column may be text or dictionary-encoded text)."""
    keep = pc.equal(table.column("split"), split)
    if table.num_rows and keep.null_count == 0 and pc.all(keep).as_py():
        # the dbt models read one split already: no copy of tens of millions of rows then
        return table
    return table.filter(keep)


def no_interactions() -> pa.Table:
    """An interactions table without rows: for the steps that need the catalogue and the
    product pairs only (similar products), not the users."""
    types = {"split": pa.string(), "user_id": pa.int64(), "product_id": pa.int64()}
    return pa.table(
        {name: pa.array([], types.get(name, pa.float64())) for name in INTERACTION_COLUMNS}
    )


def build_training_data(
    interactions: ArrowData,
    catalogue: Catalogue,
    cooccurrence: ArrowData | None,
    split: str,
    *,
    extra_user_ids: np.ndarray | None = None,
) -> TrainingData:
    """Index one split. ``extra_user_ids`` adds users without interactions (empty rows)."""
    table = as_table(interactions)
    require_columns(table, INTERACTION_COLUMNS, "interactions")
    rows = _split(table, split)
    users = _ids(rows, "user_id")
    items = catalogue.index(_ids(rows, "product_id"))
    known = items >= 0  # interactions on products missing from the features are ignored
    users, items, rows = users[known], items[known], rows.filter(pa.array(known))
    all_users = users if extra_user_ids is None else np.concatenate([users, extra_user_ids])
    user_ids = np.unique(all_users.astype(np.int64))
    r = _index_of(user_ids, users)
    shape = (user_ids.size, catalogue.size)
    weight = np.nan_to_num(numeric_column(rows, "weight"), nan=0.0).clip(min=0)
    carts = np.nan_to_num(numeric_column(rows, "cart_count"))
    buys = np.nan_to_num(numeric_column(rows, "purchase_count"))
    strongest = np.where(buys > 0, BOUGHT, np.where(carts > 0, CARTED, VIEWED)).astype(np.int8)
    weights = sp.csr_matrix((weight, (r, items)), shape=shape, dtype=np.float64)
    strong = sp.csr_matrix((strongest, (r, items)), shape=shape)
    bought = sp.csr_matrix((buys > 0, (r, items)), shape=shape, dtype=bool)
    bought.eliminate_zeros()
    cooc, together = _cooccurrence(cooccurrence, catalogue, split)
    recency = None
    if "days_since_last_event" in rows.column_names:
        days = np.nan_to_num(numeric_column(rows, "days_since_last_event"), nan=1e9).clip(min=0)
        recency = sp.csr_matrix((1.0 / (1.0 + days), (r, items)), shape=shape, dtype=np.float64)
    return TrainingData(catalogue, user_ids, weights, strong, bought, cooc, together, recency)


def _joined(column: list[np.ndarray], dtype: type) -> np.ndarray:
    """One array of a column's batches, each batch let go as soon as it is copied."""
    joined = np.concatenate(column) if column else np.zeros(0, dtype)
    column.clear()
    return joined


def _cooccurrence(
    cooccurrence: ArrowData | None, catalogue: Catalogue, split: str
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The split's session co-occurrence and bought-together matrices (products x products).

    Tens of millions of pairs at scale, so they are taken batch by batch (a RecordBatchReader,
    as the dbt models pass them, is never held whole: 28 bytes a pair as Arrow, 16 here): int32
    positions (a catalogue has far fewer than 2**31 products), float32 counts; the
    bought-together matrix is built from its non-zero pairs only.

    Without a ``split`` column, every pair is taken as one of ``split``: the dbt models stream
    the pairs of the split they filtered on, without the column (comparing its text row by row
    took 9.6 s of the batch loop at 100M events)."""
    n = catalogue.size
    if cooccurrence is None:
        empty = sp.csr_matrix((n, n), dtype=np.float32)
        return empty, empty.copy()
    batches = as_reader(cooccurrence)
    require_columns(batches.schema.empty_table(), PAIR_COLUMNS, "int_product_cooccurrence")
    has_split = "split" in batches.schema.names
    # per column: positions a, b (int32), session and bought-together counts (float32)
    parts: list[list[np.ndarray]] = [[], [], [], []]
    for batch in batches:
        rows = pa.Table.from_batches([batch])
        if has_split:
            rows = _split(rows, split)
        a = catalogue.index(_ids(rows, "product_id")).astype(np.int32)
        b = catalogue.index(_ids(rows, "other_product_id")).astype(np.int32)
        ok = (a >= 0) & (b >= 0)
        sessions = np.nan_to_num(numeric_column(rows, "session_count")).astype(np.float32)
        together = np.nan_to_num(numeric_column(rows, "bought_together_count")).astype(np.float32)
        for column, values in zip(parts, (a, b, sessions, together), strict=True):
            column.append(values[ok])
    a, b, sessions, together = (
        _joined(column, dtype)
        for column, dtype in zip(parts, (np.int32, np.int32, np.float32, np.float32), strict=True)
    )
    cooc = sp.csr_matrix((sessions, (a, b)), shape=(n, n))
    del sessions
    pairs = together != 0
    bt = sp.csr_matrix((together[pairs], (a[pairs], b[pairs])), shape=(n, n))
    return cooc, bt


def relevant_matrix(
    interactions: ArrowData, catalogue: Catalogue, user_ids: np.ndarray, split: str
) -> sp.csr_matrix:
    """users x products: 1 where the user carted or bought the product in ``split``."""
    table = _split(as_table(interactions), split)
    engaged = pc.or_(
        pc.greater(pc.fill_null(table.column("cart_count"), 0), 0),
        pc.greater(pc.fill_null(table.column("purchase_count"), 0), 0),
    )
    table = table.filter(engaged)
    r = _index_of(user_ids, _ids(table, "user_id"))
    c = catalogue.index(_ids(table, "product_id"))
    ok = (r >= 0) & (c >= 0)
    m = sp.csr_matrix(
        (np.ones(int(ok.sum()), np.float32), (r[ok], c[ok])), shape=(user_ids.size, catalogue.size)
    )
    m.data[:] = 1.0
    return m
