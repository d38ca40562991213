"""Item-based kNN on session co-occurrence."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from amazing_analytics.ml.recommend.data import TrainingData
from amazing_analytics.ml.recommend.models.base import Recommender
from amazing_analytics.ml.recommend.topk import top_k_sparse

#: Neighbours kept per product by item_knn.
KNN_NEIGHBOURS = 50


class ItemKNNRecommender(Recommender):
    name = "item_knn"

    def _fit(self, data: TrainingData, seed: int) -> None:
        self.similarity = item_similarity(data.cooccurrence, KNN_NEIGHBOURS)

    def _personal(self, rows, k, length, exclude):
        scores = (self.data.weights[rows] @ self.similarity).tocsr()
        items, values = top_k_sparse(scores, k, exclude=exclude)
        return items, values

    def scores_for(self, rows, items):
        personal = (self.data.weights[rows] @ self.similarity[:, items]).toarray()
        has = np.asarray(personal.any(axis=1))
        return np.where(has[:, None], personal + 1e9, super().scores_for(rows, items))


def item_similarity(cooccurrence: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
    """Co-occurrence normalised by sqrt(total_i x total_j), the best ``neighbours`` per row."""
    # a copy (the caller's matrix is the training data's), scaled in place on its stored
    # entries: inv_i * c_ij * inv_j, what diag @ cooc @ diag computes, without that product's
    # two intermediate matrices of tens of millions of entries
    sim = sp.csr_matrix(cooccurrence, dtype=np.float32, copy=True)
    totals = np.asarray(sim.sum(axis=1)).ravel()
    inv = np.where(totals > 0, 1.0 / np.sqrt(np.maximum(totals, 1e-12)), 0.0).astype(np.float32)
    sim.data *= np.repeat(inv, np.diff(sim.indptr))
    sim.data *= inv[sim.indices]
    items, values = top_k_sparse(sim, neighbours)
    keep = items >= 0
    rows = np.repeat(np.arange(items.shape[0]), items.shape[1])[keep.ravel()]
    return sp.csr_matrix((values[keep], (rows, items[keep])), shape=sim.shape)
