"""The LightFM (WARP) hybrid: products and users as sums of feature embeddings
(:mod:`~amazing_analytics.ml.recommend.models.features`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from amazing_analytics.ml.recommend.data import TrainingData
from amazing_analytics.ml.recommend.models.base import Recommender
from amazing_analytics.ml.recommend.models.features import item_feature_matrix, user_feature_matrix
from amazing_analytics.ml.recommend.topk import top_k_dot


@dataclass(frozen=True)
class LightFMParams:
    """LightFM settings; the dbt models take them from the recommender_* vars."""

    components: int = 16
    epochs: int = 3
    learning_rate: float = 0.05
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    max_sampled: int = 10
    threads: int = 1
    user_identity: bool = True
    item_identity: bool = True
    loss: str = "warp"
    learning_schedule: str = "adagrad"
    use_sample_weight: bool = True


@dataclass
class LightFMRecommender(Recommender):
    params: LightFMParams = field(default_factory=LightFMParams)
    name = "lightfm"

    def _fit(self, data: TrainingData, seed: int) -> None:
        from lightfm import LightFM

        self.item_features, self.item_feature_names = item_feature_matrix(
            data, self.params.item_identity
        )
        self.user_features, self.user_feature_names = user_feature_matrix(
            data, self.params.user_identity
        )
        interactions = sp.coo_matrix(data.weights)
        binary = sp.coo_matrix(
            (np.ones(interactions.nnz, np.float32), (interactions.row, interactions.col)),
            shape=interactions.shape,
        )
        p = self.params
        self.model = LightFM(
            no_components=p.components,
            loss=p.loss,
            learning_schedule=p.learning_schedule,
            learning_rate=p.learning_rate,
            item_alpha=p.item_alpha,
            user_alpha=p.user_alpha,
            max_sampled=p.max_sampled,
            random_state=np.random.RandomState(seed),
        )
        # sample weights: the decayed weight relative to its mean (LightFM scales updates by it)
        sample_weight = interactions.data / max(float(interactions.data.mean()), 1e-12)
        sample_weight = sp.coo_matrix(
            (sample_weight.astype(np.float32), (interactions.row, interactions.col)),
            shape=interactions.shape,
        )
        self.model.fit(
            binary,
            user_features=self.user_features,
            item_features=self.item_features,
            sample_weight=sample_weight if p.use_sample_weight else None,
            epochs=p.epochs,
            num_threads=p.threads,
        )
        self.item_bias, self.item_vectors = self.model.get_item_representations(self.item_features)
        self.user_bias, self.user_vectors = self.model.get_user_representations(self.user_features)
        self.has_history = data.history_counts() > 0

    def _personal(self, rows, k, length, exclude):
        items, scores = top_k_dot(
            self.user_vectors[rows],
            self.item_vectors,
            self.item_bias,
            k,
            exclude=exclude,
        )
        # users without any history get no personal list (global popularity instead)
        items[~self.has_history[rows]] = -1
        scores[~self.has_history[rows]] = -np.inf
        return items, scores

    def scores_for(self, rows, items):
        personal = self.user_vectors[rows] @ self.item_vectors[items].T + self.item_bias[items]
        return np.where(
            self.has_history[rows][:, None],
            personal.astype(np.float64),
            Recommender.scores_for(self, rows, items),  # named: EmbeddingRecommender shares it
        )
