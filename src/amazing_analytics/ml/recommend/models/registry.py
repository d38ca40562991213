"""Every model by name, simplest first."""

from __future__ import annotations

from amazing_analytics.ml.recommend.models.base import Recommender
from amazing_analytics.ml.recommend.models.baselines import (
    BuyAgainRecommender,
    CategoryPopularityRecommender,
    PopularityRecommender,
    RecentlyViewedRecommender,
)
from amazing_analytics.ml.recommend.models.item_knn import ItemKNNRecommender
from amazing_analytics.ml.recommend.models.lightfm_hybrid import LightFMParams, LightFMRecommender

#: Every model, simplest first: the order the evidence-based selection walks (a model serves
#: instead of a simpler one only when its interval clears the simpler one's).
MODEL_NAMES = (
    "popularity",
    "recently_viewed",
    "buy_again",
    "category_popularity",
    "item_knn",
    "lightfm",
)


def make_model(name: str, params: LightFMParams | None = None) -> Recommender:
    if name == "popularity":
        return PopularityRecommender()
    if name == "recently_viewed":
        return RecentlyViewedRecommender()
    if name == "buy_again":
        return BuyAgainRecommender()
    if name == "category_popularity":
        return CategoryPopularityRecommender()
    if name == "item_knn":
        return ItemKNNRecommender()
    if name == "lightfm":
        return LightFMRecommender(params or LightFMParams())
    raise ValueError(f"unknown recommender {name!r}; expected one of {', '.join(MODEL_NAMES)}")
