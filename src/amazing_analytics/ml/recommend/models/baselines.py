"""The baselines: popularity, category popularity, and the user's own history (recently viewed
not yet bought, buy again)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from amazing_analytics.ml.recommend.data import TrainingData
from amazing_analytics.ml.recommend.models.base import (
    SOURCE_BUY_AGAIN,
    SOURCE_CATEGORY,
    SOURCE_RECENT,
    Recommender,
)
from amazing_analytics.ml.recommend.topk import top_k_sparse


class PopularityRecommender(Recommender):
    name = "popularity"


class CategoryPopularityRecommender(Recommender):
    name = "category_popularity"
    personal_source = SOURCE_CATEGORY

    def _fit(self, data: TrainingData, seed: int) -> None:
        category = data.catalogue.category_id
        self.categories, self.item_category = np.unique(category, return_inverse=True)
        n_cat = self.categories.size
        onehot = sp.csr_matrix(
            (np.ones(category.size, np.float32), (np.arange(category.size), self.item_category)),
            shape=(category.size, n_cat),
        )
        user_category = (data.weights @ onehot).toarray() if data.n_users else np.zeros((0, n_cat))
        has_history = user_category.sum(axis=1) > 0
        self.preferred = np.where(has_history, np.argmax(user_category, axis=1), -1)
        # products of each category, most popular first
        order = np.lexsort((np.arange(category.size), -self.popularity, self.item_category))
        self.by_category = order
        self.category_start = np.searchsorted(self.item_category[order], np.arange(n_cat + 1))

    def _personal(self, rows, k, length, exclude):
        n = rows.size
        items = np.full((n, length), -1, dtype=np.int64)
        scores = np.full((n, length), -np.inf, dtype=np.float32)
        span = max(float(self.popularity.max()), 1e-12) if self.popularity.size else 1.0
        preferred = self.preferred[rows]
        for c in np.unique(preferred[preferred >= 0]):
            members = self.by_category[self.category_start[c] : self.category_start[c + 1]][:length]
            mask = preferred == c
            items[mask, : members.size] = members
            scores[mask, : members.size] = self.popularity[members] / span
        return items, scores

    def scores_for(self, rows, items):
        base = super().scores_for(rows, items)
        span = max(float(self.popularity.max()), 1e-12) if self.popularity.size else 1.0
        same = self.item_category[items][None, :] == self.preferred[rows][:, None]
        return np.where(same, 1.0 + base / span, base / span)


class _OwnHistoryRecommender(Recommender):
    """A list from the user's own history (``candidates``: users x products scores), then
    popularity."""

    def _candidates(self, data: TrainingData) -> sp.csr_matrix:
        raise NotImplementedError

    def _fit(self, data: TrainingData, seed: int) -> None:
        self.candidates = sp.csr_matrix(self._candidates(data), dtype=np.float64)
        self.candidates.eliminate_zeros()

    def _personal(self, rows, k, length, exclude):
        return top_k_sparse(self.candidates[rows], k, exclude=exclude)

    def scores_for(self, rows, items):
        personal = self.candidates[rows][:, items].toarray()
        return np.where(personal > 0, personal + 1e9, super().scores_for(rows, items))


class RecentlyViewedRecommender(_OwnHistoryRecommender):
    name = "recently_viewed"
    personal_source = SOURCE_RECENT

    def _candidates(self, data):
        recency = sp.csr_matrix(data.recency_scores(), dtype=np.float64)
        # never bought: drop the bought pairs (whatever their category)
        return recency - recency.multiply(data.bought)


class BuyAgainRecommender(_OwnHistoryRecommender):
    name = "buy_again"
    personal_source = SOURCE_BUY_AGAIN

    def _candidates(self, data):
        repeat = data.catalogue.is_repeat_purchase[None, :].astype(np.float64)
        return sp.csr_matrix(data.weights.multiply(data.bought).multiply(repeat))
