"""Embedding neighbours and the serving index: the top products per product by the cosine of
their LightFM item embeddings (:func:`embedding_neighbour_table`, rows with ``source =
'embedding'``), and :func:`serving_index`, session_item_neighbours plus those rows, the index
the API serves with."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, list_matrix
from amazing_analytics.ml.recommend.session.items import SessionInputError
from amazing_analytics.ml.recommend.session.neighbour_index import (
    NEIGHBOUR_COLUMNS,
    NeighbourIndex,
    int_column,
)
from amazing_analytics.ml.recommend.topk import top_k_dot

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
    squared (100k products: 10^10 scores). Exact, without the products x products matrix:
    :func:`~amazing_analytics.ml.recommend.topk.top_k_dot` scores chunks of products against
    cache-sized tiles of the catalogue and re-ranks only the best blocks (ties: lower product
    id), as similar_products does.
    """
    table = as_table(item_embeddings)
    for column in ("product_id", "embedding"):
        if column not in table.column_names:
            raise SessionInputError(f"item embeddings lack column {column!r}")
    table = table.filter(pc.is_valid(table.column("embedding")))
    if table.num_rows < 2 or top_n < 1:
        return EMBEDDING_NEIGHBOUR_SCHEMA.empty_table()
    table = table.sort_by("product_id")  # top_k_dot breaks ties by position: by product id
    ids = int_column(table, "product_id")
    vectors = list_matrix(table.column("embedding"), SessionInputError, "item embeddings")
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
    itself = sp.csr_matrix(
        (np.ones(asked.size, bool), (np.arange(asked.size), asked)), shape=(asked.size, ids.size)
    )
    top, top_scores = top_k_dot(unit[asked], unit, None, n, exclude=itself)
    valid = top >= 0  # -1: no finite score left (a non-finite embedding)
    rows, rank = np.nonzero(valid)
    return pa.table(
        {
            "product_id": ids[asked][rows],
            "neighbour_product_id": ids[top[valid]],
            "neighbour_rank": (rank + 1).astype(np.int32),
            "score": top_scores[valid].astype(np.float64),
            "source": np.full(rows.size, "embedding", dtype=object),
        },
        schema=EMBEDDING_NEIGHBOUR_SCHEMA,
    )


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
