"""What the session models know from the days before the test window (split
evaluation_train): the popularity ranking, each shopper's recent history, and the neighbour
index (co-visitation, plus the LightFM embeddings' nearest products for the models that use
them)."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.recommend.bounds import NO_BOUNDS, TrainingBounds, bound_split
from amazing_analytics.ml.recommend.data import build_catalogue, build_training_data
from amazing_analytics.ml.recommend.models import LightFMParams, LightFMRecommender
from amazing_analytics.ml.recommend.session import embedding_neighbour_table

#: Models that need the LightFM embedding neighbours.
EMBEDDING_MODELS = ("embedding", "hybrid")


#: LightFM needs at least this many training interactions (as the batch evaluation).
MIN_EMBEDDING_INTERACTIONS = 200


def popularity_ranking(interactions: ArrowData) -> tuple[np.ndarray, np.ndarray]:
    """Products by summed decayed weight (most popular first, ties by product id) of the
    evaluation_train split: the popularity recommender's score on the training days."""
    table = as_table(interactions)
    table = table.filter(pc.equal(table.column("split"), "evaluation_train"))
    if table.num_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    grouped = table.group_by("product_id").aggregate([("weight", "sum")])
    ids = np.asarray(pc.cast(grouped.column("product_id"), pa.int64()).to_numpy(), np.int64)
    weights = np.nan_to_num(numeric_column(grouped, "weight_sum"))
    order = np.lexsort((ids, -weights))
    return ids[order], weights[order]


def recently_viewed_not_bought(
    interactions: ArrowData,
    limit: int,
    split: str = "evaluation_train",
    users: np.ndarray | None = None,
) -> dict[int, list[int]]:
    """Per user, the products viewed or carted and never bought in ``split``, most recent first
    (last_event_at, then product id), at most ``limit``: the shopper's history for the blend.
    ``users``: only these users' histories (the test sessions' shoppers; None: everyone)."""
    table = as_table(interactions)
    keep = pc.equal(table.column("split"), split)
    if users is not None:
        wanted = pa.array(np.unique(np.asarray(users, np.int64)), pa.int64())
        keep = pc.and_(keep, pc.is_in(pc.cast(table.column("user_id"), pa.int64()), wanted))
    table = table.filter(keep)
    bought = pc.fill_null(table.column("purchase_count"), 0)
    table = table.filter(pc.equal(bought, 0))
    if table.num_rows == 0:
        return {}
    users = np.asarray(pc.cast(table.column("user_id"), pa.int64()).to_numpy(), np.int64)
    products = np.asarray(pc.cast(table.column("product_id"), pa.int64()).to_numpy(), np.int64)
    last = np.asarray(
        pc.cast(table.column("last_event_at"), pa.timestamp("us"))
        .cast(pa.int64())
        .to_numpy(zero_copy_only=False),
        np.int64,
    )
    order = np.lexsort((products, -last, users))
    users, products = users[order], products[order]
    out: dict[int, list[int]] = {}
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], users.size]
    for start, end in zip(starts, ends, strict=True):
        out[int(users[start])] = products[start : min(end, start + limit)].tolist()
    return out


def embedding_index_rows(
    interactions: ArrowData,
    product_features: ArrowData,
    params: LightFMParams,
    seed: int,
    top_n: int,
    *,
    bounds: TrainingBounds = NO_BOUNDS,
    products: Collection[int] | None = None,
) -> pa.Table | None:
    """LightFM fitted on evaluation_train (within ``bounds``, as the batch models are), as the
    embedding neighbour rows of ``products`` (the test sessions' products; None: all), or
    None when there is too little data."""
    catalogue = build_catalogue(product_features)
    data = build_training_data(
        bound_split(interactions, "evaluation_train", bounds),
        catalogue,
        None,
        "evaluation_train",
    )
    if data.weights.nnz < MIN_EMBEDDING_INTERACTIONS or catalogue.size < 2:
        return None
    model = LightFMRecommender(params).fit(data, seed)
    vectors = np.asarray(model.item_vectors, np.float32)
    offsets = pa.array(np.arange(0, (catalogue.size + 1) * vectors.shape[1], vectors.shape[1]))
    embeddings = pa.table(
        {
            "product_id": pa.array(catalogue.item_ids, pa.int64()),
            "embedding": pa.ListArray.from_arrays(
                pa.array(offsets, pa.int32()), pa.array(vectors.ravel())
            ),
        }
    )
    return embedding_neighbour_table(embeddings, top_n, products)
