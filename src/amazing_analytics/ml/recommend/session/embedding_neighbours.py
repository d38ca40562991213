"""Embedding neighbours and the serving index: the top products per product by the cosine of
their LightFM item embeddings (:func:`embedding_neighbour_table`, rows with ``source =
'embedding'``), and :func:`serving_index`, session_item_neighbours plus those rows, the index
the API serves with."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.recommend.session.items import SessionInputError
from amazing_analytics.ml.recommend.session.neighbour_index import (
    NEIGHBOUR_COLUMNS,
    NeighbourIndex,
    int_column,
)

#: Products scored against the whole catalogue at once (memory: this many x products floats).
EMBEDDING_BLOCK_SIZE = 1024
EMBEDDING_NEIGHBOUR_SCHEMA = pa.schema(
    [
        ("product_id", pa.int64()),
        ("neighbour_product_id", pa.int64()),
        ("neighbour_rank", pa.int32()),
        ("score", pa.float64()),
        ("source", pa.string()),
    ]
)


def embedding_neighbour_table(
    item_embeddings: ArrowData, top_n: int, products: Collection[int] | None = None
) -> pa.Table:
    """Top ``top_n`` products per product by cosine of their embeddings, as neighbour rows
    with ``source = 'embedding'`` (append them to session_item_neighbours for the index).

    ``item_embeddings``: product_id and embedding (a list of floats), as in item_embeddings.
    ``products``: rows only for these products (their neighbours are still found among all
    products): the evaluation needs the products of its test sessions, not the catalogue
    squared (100k products: 10^10 scores). Computed in blocks of 1,024 products, so memory
    stays at 1,024 x products floats.
    """
    table = as_table(item_embeddings)
    for column in ("product_id", "embedding"):
        if column not in table.column_names:
            raise SessionInputError(f"item embeddings lack column {column!r}")
    table = table.filter(pc.is_valid(table.column("embedding")))
    if table.num_rows < 2 or top_n < 1:
        return EMBEDDING_NEIGHBOUR_SCHEMA.empty_table()
    ids = int_column(table, "product_id")
    vectors = np.asarray(table.column("embedding").to_pylist(), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    n = min(top_n, ids.size - 1)
    asked = (
        np.arange(ids.size)
        if products is None
        else np.flatnonzero(np.isin(ids, np.fromiter(products, np.int64)))
    )
    if asked.size == 0:
        return EMBEDDING_NEIGHBOUR_SCHEMA.empty_table()
    parts_ids, parts_nb, parts_score = [], [], []
    for start in range(0, asked.size, EMBEDDING_BLOCK_SIZE):
        positions = asked[start : start + EMBEDDING_BLOCK_SIZE]
        top, top_scores = _nearest(unit, ids, positions, n)
        parts_ids.append(np.repeat(ids[positions], n))
        parts_nb.append(ids[top].ravel())
        parts_score.append(top_scores.ravel().astype(np.float64))
    count = sum(p.size for p in parts_ids)
    return pa.table(
        {
            "product_id": np.concatenate(parts_ids),
            "neighbour_product_id": np.concatenate(parts_nb),
            "neighbour_rank": np.tile(np.arange(1, n + 1, dtype=np.int32), count // n),
            "score": np.concatenate(parts_score),
            "source": np.full(count, "embedding", dtype=object),
        },
        schema=EMBEDDING_NEIGHBOUR_SCHEMA,
    )


def _nearest(
    unit: np.ndarray, ids: np.ndarray, positions: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` nearest products (positions in ``unit``) of each product at ``positions`` and
    their cosines, best first, ties by product id; a product is never its own neighbour."""
    block = unit[positions] @ unit.T
    rows = np.arange(block.shape[0])
    block[rows, positions] = -np.inf
    top = np.argpartition(-block, n - 1, axis=1)[:, :n]
    top_scores = np.take_along_axis(block, top, axis=1)
    order = np.lexsort((ids[top], -top_scores), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    return top, np.take_along_axis(block, top, axis=1)


def serving_index(
    session_neighbours: ArrowData, item_embeddings: ArrowData | None = None, top_n: int = 50
) -> NeighbourIndex:
    """The index the API serves with: session_item_neighbours, plus the top ``top_n`` embedding
    neighbours of item_embeddings (for the ``embedding`` and ``hybrid`` models), the same
    computation the evaluation scores with."""
    table = as_table(session_neighbours).select(list(NEIGHBOUR_COLUMNS))
    parts = [
        pa.table(
            {
                "product_id": pc.cast(table.column("product_id"), pa.int64()),
                "neighbour_product_id": pc.cast(table.column("neighbour_product_id"), pa.int64()),
                "neighbour_rank": pc.cast(table.column("neighbour_rank"), pa.int32()),
                "score": pc.cast(table.column("score"), pa.float64()),
                "source": pa.array(["session"] * table.num_rows, pa.string()),
            }
        )
    ]
    if item_embeddings is not None:
        parts.append(embedding_neighbour_table(item_embeddings, top_n))
    return NeighbourIndex.from_arrow(pa.concat_tables(parts))
