"""What the warehouse publishes: embeddings (train step), recommendations with reasons,
similar products (embeddings and bought together).

Reasons, in order of precedence, for each recommended product:

1. ``Often bought with <product>`` - the user bought a product that was bought in the same
   session as this one (serving co-occurrence);
2. ``Because you viewed / put in your cart / bought <product>`` - for the personal models, the
   product of the user's history most similar to this one (embedding cosine for LightFM,
   co-occurrence similarity for item-kNN);
3. ``You looked at it recently`` (recently viewed, not yet bought) and ``Buy it again`` (a
   repeat-purchase product the user bought);
4. ``Popular in <category>`` - category popularity;
5. ``Popular right now`` - global popularity (users without history, opt-outs, filling).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from amazing_analytics.ml.recommend.data import BOUGHT, CARTED, TrainingData
from amazing_analytics.ml.recommend.models import (
    SOURCE_BUY_AGAIN,
    SOURCE_CATEGORY,
    SOURCE_PERSONAL,
    SOURCE_POPULAR,
    SOURCE_RECENT,
    LightFMRecommender,
    Recommendations,
    Recommender,
)
from amazing_analytics.ml.recommend.threads import in_order
from amazing_analytics.ml.recommend.topk import top_k_dot, top_k_sparse

#: History products considered when looking for the one a recommendation resembles most.
REASON_HISTORY = 20

EMBEDDING_SCHEMA = pa.schema(
    [
        ("entity", pa.string()),
        ("entity_id", pa.int64()),
        ("bias", pa.float64()),
        ("embedding", pa.list_(pa.float32())),
        ("interaction_count", pa.int64()),
        ("model", pa.string()),
        ("components", pa.int32()),
    ]
)
RECOMMENDATION_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("product_id", pa.int64()),
        ("rank", pa.int32()),
        ("score", pa.float64()),
        ("model", pa.string()),
        ("is_personalised", pa.bool_()),
        ("reason", pa.string()),
    ]
)
SIMILAR_SCHEMA = pa.schema(
    [
        ("product_id", pa.int64()),
        ("similar_product_id", pa.int64()),
        ("method", pa.string()),
        ("rank", pa.int32()),
        ("score", pa.float64()),
        ("reason", pa.string()),
    ]
)


class EmbeddingRecommender(Recommender):
    """LightFM at serving time, from the stored embeddings (no retraining)."""

    name = "lightfm"

    def __init__(self, embeddings: pa.Table) -> None:
        self.embeddings = embeddings

    def _fit(self, data: TrainingData, seed: int) -> None:
        items = self.embeddings.filter(pa.compute.equal(self.embeddings.column("entity"), "item"))
        users = self.embeddings.filter(pa.compute.equal(self.embeddings.column("entity"), "user"))
        dim = _dimension(self.embeddings)
        self.item_vectors = np.zeros((data.catalogue.size, dim), np.float32)
        self.item_bias = np.full(data.catalogue.size, -np.inf, np.float32)
        pos = data.catalogue.index(np.asarray(items.column("entity_id").to_numpy(), np.int64))
        ok = pos >= 0
        self.item_vectors[pos[ok]] = _vectors(items, dim)[ok]
        self.item_bias[pos[ok]] = np.asarray(items.column("bias").to_numpy(), np.float32)[ok]
        self.user_vectors = np.zeros((data.n_users, dim), np.float32)
        self.has_history = np.zeros(data.n_users, bool)
        pos = data.user_index(np.asarray(users.column("entity_id").to_numpy(), np.int64))
        ok = pos >= 0
        self.user_vectors[pos[ok]] = _vectors(users, dim)[ok]
        self.has_history[pos[ok]] = True

    _personal = LightFMRecommender._personal
    scores_for = LightFMRecommender.scores_for


def _dimension(embeddings: pa.Table) -> int:
    if embeddings.num_rows == 0:
        return 0
    return len(embeddings.column("embedding")[0].as_py())


def _vectors(table: pa.Table, dim: int) -> np.ndarray:
    flat = table.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, np.float32).reshape(table.num_rows, dim)


def embeddings_table(
    model: LightFMRecommender, data: TrainingData, user_rows: np.ndarray | None = None
) -> pa.Table:
    """The fitted LightFM as rows: every catalogue product, every user with history (of
    ``user_rows`` only, when given: the rows of the users the table is for)."""
    has_history = data.history_counts() > 0
    if user_rows is not None:
        chosen = np.zeros(has_history.size, bool)
        chosen[np.asarray(user_rows, np.int64)] = True
        has_history &= chosen
    users = np.flatnonzero(has_history)
    item_counts = data.users_per_item()
    dim = model.item_vectors.shape[1]
    n_items, n_users = data.catalogue.size, users.size

    def block(entity, ids, bias, vectors, counts):
        values = pa.array(np.asarray(vectors, np.float32).ravel())
        offsets = pa.array(np.arange(0, (ids.size + 1) * dim, dim, dtype=np.int32))
        return pa.table(
            {
                "entity": pa.array([entity] * ids.size, pa.string()),
                "entity_id": pa.array(ids, pa.int64()),
                "bias": pa.array(np.asarray(bias, np.float64)),
                "embedding": pa.ListArray.from_arrays(offsets, values),
                "interaction_count": pa.array(np.asarray(counts, np.int64)),
                "model": pa.array(["lightfm"] * ids.size, pa.string()),
                "components": pa.array(np.full(ids.size, dim, np.int32)),
            },
            schema=EMBEDDING_SCHEMA,
        )

    return (
        pa.concat_tables(
            [
                block(
                    "item",
                    data.catalogue.item_ids,
                    model.item_bias,
                    model.item_vectors,
                    item_counts,
                ),
                block(
                    "user",
                    data.user_ids[users],
                    model.user_bias[users],
                    model.user_vectors[users],
                    data.history_counts()[users],
                ),
            ]
        )
        if n_items + n_users
        else EMBEDDING_SCHEMA.empty_table()
    )


def _history(data: TrainingData, rows: np.ndarray, limit: int) -> np.ndarray:
    """(n, limit) each user's products with the highest weight first (-1 padding)."""
    sub = data.weights[rows]
    items, _ = top_k_sparse(sub, limit)
    return items


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _verb(code: int) -> str:
    return {BOUGHT: "bought", CARTED: "put in your cart"}.get(int(code), "viewed")


def reasons(
    model: Recommender, data: TrainingData, rows: np.ndarray, recs: Recommendations
) -> np.ndarray:
    """A plain-language reason per recommended product (n x k object array, None = empty)."""
    cat = data.catalogue
    n, k = recs.items.shape
    out = np.full((n, k), None, dtype=object)
    valid = recs.items >= 0
    labels = cat.category_label(recs.items.clip(0).ravel()).reshape(n, k)
    out[valid & (recs.source == SOURCE_POPULAR)] = "Popular right now"
    out[valid & (recs.source == SOURCE_RECENT)] = "You looked at it recently"
    out[valid & (recs.source == SOURCE_BUY_AGAIN)] = "Buy it again"
    category = valid & (recs.source == SOURCE_CATEGORY)
    out[category] = np.char.add("Popular in ", labels[category].astype(str)).astype(object)
    personal = valid & (recs.source == SOURCE_PERSONAL)
    if personal.any() and n:
        history = _history(data, rows, REASON_HISTORY)
        anchor = _most_similar(model, history, recs.items)
        has = personal & (anchor >= 0)
        if has.any():
            r, c = np.nonzero(has)
            a = anchor[r, c]
            strongest = np.asarray(data.strongest[rows[r], a]).ravel()
            desc = cat.describe(a)
            out[r, c] = [
                f"Because you {_verb(s)} {d}" for s, d in zip(strongest, desc, strict=True)
            ]
        out[personal & (anchor < 0)] = "Recommended for you"
    # bought together with something the user bought takes precedence
    bought = data.bought[rows]
    if bought.nnz and data.bought_together.nnz:
        reach = sp.csr_matrix(bought.astype(np.float32) @ data.bought_together)
        hit = np.asarray(reach[np.repeat(np.arange(n), k), recs.items.clip(0).ravel()]).ravel()
        hit = (hit > 0).reshape(n, k) & valid
        r, c = np.nonzero(hit)
        if r.size:
            partners = bought_with(bought, data.bought_together, r, recs.items[r, c])
            out[r, c] = [f"Often bought with {d}" for d in cat.describe(partners)]
    return out


def bought_with(
    bought: sp.csr_matrix, together: sp.csr_matrix, rows: np.ndarray, items: np.ndarray
) -> np.ndarray:
    """For each pair (``rows[i]``, ``items[i]``), the product of row ``rows[i]`` of ``bought``
    most often bought together with ``items[i]`` (``together``: product x product counts); on a
    tie, the first in the row's order. Every row must hold at least one product.

    All pairs at once: one lookup of every (bought product, item) count, then the first
    maximum per pair. A loop per pair indexed the sparse matrices twice per recommended
    product (about 100 microseconds each): half of ``recommendations`` at 30M events.
    """
    starts = bought.indptr[rows]
    counts = bought.indptr[rows + 1] - starts
    if (counts < 1).any():
        raise ValueError("bought_with needs at least one bought product per row")
    pair = np.repeat(np.arange(rows.size), counts)
    position = np.arange(pair.size) - np.repeat(np.cumsum(counts) - counts, counts)
    mine = bought.indices[np.repeat(starts, counts) + position]
    strength = np.asarray(together[mine, np.repeat(items, counts)], dtype=np.float64).ravel()
    # by pair, the strongest first, then the first in the row: the first entry of each pair
    order = np.lexsort((position, -strength, pair))
    first = order[np.r_[0, np.flatnonzero(np.diff(pair[order])) + 1]]
    return mine[first]


def _most_similar(model: Recommender, history: np.ndarray, items: np.ndarray) -> np.ndarray:
    """For each recommended product, the history product most similar to it (-1 if none)."""
    n, h = history.shape
    k = items.shape[1]
    embedding = isinstance(model, LightFMRecommender | EmbeddingRecommender)
    if embedding:
        unit = _normalised(model.item_vectors)
        sims = np.einsum("nhd,nkd->nhk", unit[history.clip(0)], unit[items.clip(0)])
    elif hasattr(model, "similarity"):
        sim = model.similarity
        rows = np.repeat(history.clip(0), k, axis=1).ravel()
        cols = np.tile(items.clip(0), (1, h)).ravel()
        sims = np.asarray(sim[rows, cols]).ravel().reshape(n, h, k)
    else:
        return np.full(items.shape, -1, np.int64)
    sims = np.where((history >= 0)[:, :, None], sims, -np.inf)
    best = np.argmax(sims, axis=1)
    anchor = np.take_along_axis(history, best, axis=1)
    best_similarity = np.max(sims, axis=1)
    # co-occurrence similarity 0 means "never seen together": no anchor to name
    found = np.isfinite(best_similarity) & (embedding | (best_similarity > 0))
    return np.where(found & (items >= 0), anchor, -1)


def recommendation_rows(
    model: Recommender,
    data: TrainingData,
    user_ids: np.ndarray,
    k: int,
    *,
    personalised: bool,
    chunk_size: int = 20_000,
) -> pa.Table:
    """Top-k rows for ``user_ids`` (all must be rows of ``data``); non-personalised users get
    global popularity (the exclusions of their history are not applied either: none is used)."""
    rows_all = data.user_index(user_ids)
    if (rows_all < 0).any():
        raise ValueError("every user to recommend to must be a row of the serving data")
    exclude = data.exclusions() if personalised else None

    def chunk(start: int) -> pa.Table:
        rows = rows_all[start : start + chunk_size]
        if personalised:
            recs = model.recommend(rows, k, exclude)
        else:
            items, scores = model._popular(rows.size, k)
            recs = Recommendations(items, scores, np.full(items.shape, SOURCE_POPULAR, np.int8))
        why = (
            reasons(model, data, rows, recs)
            if personalised
            else np.where(recs.items >= 0, "Popular right now", None)
        )
        valid = recs.items >= 0
        producer = np.where(recs.source == SOURCE_POPULAR, "popularity", model.name)
        r, c = np.nonzero(valid)
        return pa.table(
            {
                "user_id": pa.array(data.user_ids[rows[r]], pa.int64()),
                "product_id": pa.array(data.catalogue.item_ids[recs.items[r, c]], pa.int64()),
                "rank": pa.array((c + 1).astype(np.int32)),
                "score": pa.array(recs.scores[r, c].astype(np.float64)),
                "model": pa.array(producer[r, c].astype(str), pa.string()),
                "is_personalised": pa.array(np.full(r.size, personalised)),
                "reason": pa.array(why[r, c].astype(str) if r.size else [], pa.string()),
            },
            schema=RECOMMENDATION_SCHEMA,
        )

    # two chunks at a time: the sparse products and sorts release Python's lock; the chunks are
    # independent and kept in order, so the rows do not depend on it
    tables = in_order(chunk, range(0, rows_all.size, chunk_size))
    return pa.concat_tables(tables) if tables else RECOMMENDATION_SCHEMA.empty_table()


def similar_products(data: TrainingData, item_vectors: np.ndarray | None, k: int) -> pa.Table:
    """Top-k similar products per product: by embedding cosine (every product with a vector)
    and bought together (products bought in the same session, most often first)."""
    cat = data.catalogue
    n = cat.size
    tables = []
    if item_vectors is not None and item_vectors.size and n > 1:
        unit = _normalised(np.asarray(item_vectors, np.float32))
        itself = sp.identity(n, format="csr", dtype=bool)
        items, scores = top_k_dot(unit, unit, None, min(k, n - 1), exclude=itself)
        tables.append(
            _similar_table(cat, items, scores, "embedding", "Similar shoppers look at both")
        )
    if data.bought_together.nnz:
        bt = sp.csr_matrix(data.bought_together)
        # ties on the count broken by the session co-occurrence of the same pairs (so the other
        # pairs need not be read), then the product index
        tie = sp.csr_matrix(bt.multiply(data.cooccurrence))
        strength = bt + sp.csr_matrix(tie.multiply(1.0 / (tie.max() + 1.0)))
        items, scores = top_k_sparse(strength, k)
        counts = np.floor(scores)
        tables.append(_similar_table(cat, items, counts, "bought_together", None))
    return pa.concat_tables(tables) if tables else SIMILAR_SCHEMA.empty_table()


def _similar_table(
    cat, items: np.ndarray, scores: np.ndarray, method: str, reason: str | None
) -> pa.Table:
    r, c = np.nonzero(items >= 0)
    if reason is None:
        words = [
            f"Bought together in {int(s)} session{'s' if int(s) != 1 else ''}" for s in scores[r, c]
        ]
    else:
        words = [reason] * r.size
    return pa.table(
        {
            "product_id": pa.array(cat.item_ids[r], pa.int64()),
            "similar_product_id": pa.array(cat.item_ids[items[r, c]], pa.int64()),
            "method": pa.array([method] * r.size, pa.string()),
            "rank": pa.array((c + 1).astype(np.int32)),
            "score": pa.array(scores[r, c].astype(np.float64)),
            "reason": pa.array(words, pa.string()),
        },
        schema=SIMILAR_SCHEMA,
    )
