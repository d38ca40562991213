"""The recommenders compared by the evaluation, all with the same interface.

* ``popularity`` - recent global popularity: products by their summed decayed weight.
* ``category_popularity`` - popularity within the user's preferred category (the category_id
  with the most decayed weight in their history), filled with global popularity.
* ``item_knn`` - item-based kNN on session co-occurrence: score(u, j) = sum over the user's
  products i of weight(u, i) x sim(i, j), sim the co-occurrence count normalised by the
  square root of both products' totals, the ``KNN_NEIGHBOURS`` best neighbours per product.
* ``recently_viewed`` - "recently viewed, not yet bought": the products the user viewed or
  carted and never bought, the most recent first (the pair's last event).
* ``buy_again`` - "buy again": the products the user bought in a repeat-purchase category
  (int_recommender_product_features), by decayed weight.
* ``lightfm`` - LightFM (WARP) hybrid: a product is the sum of embeddings of its id (when it had
  interactions), category_id, family, brand and price band, so products never interacted with
  still get a representation (cold start); a user is the sum of embeddings of their id,
  preferred category_id and preferred price band.

Every model leaves out the products a user bought (``exclude``) and fills lists it cannot fill
(a user without history, few neighbours) with global popularity, so every list has k products.

One module per job: ``base`` (lists, merge, the base class), ``baselines``, ``item_knn``,
``lightfm_hybrid`` with its ``features``, and ``registry`` (the names and ``make_model``); the
package re-exports their public names.
"""

from amazing_analytics.ml.recommend.models.base import (
    SOURCE_BUY_AGAIN,
    SOURCE_CATEGORY,
    SOURCE_PERSONAL,
    SOURCE_POPULAR,
    SOURCE_RECENT,
    Recommendations,
    Recommender,
    merge_ranked,
    popularity_scores,
)
from amazing_analytics.ml.recommend.models.baselines import (
    BuyAgainRecommender,
    CategoryPopularityRecommender,
    PopularityRecommender,
    RecentlyViewedRecommender,
)
from amazing_analytics.ml.recommend.models.features import (
    item_feature_matrix,
    user_feature_matrix,
    user_profile,
)
from amazing_analytics.ml.recommend.models.item_knn import (
    KNN_NEIGHBOURS,
    ItemKNNRecommender,
    item_similarity,
)
from amazing_analytics.ml.recommend.models.lightfm_hybrid import LightFMParams, LightFMRecommender
from amazing_analytics.ml.recommend.models.registry import MODEL_NAMES, make_model

__all__ = [
    "KNN_NEIGHBOURS",
    "MODEL_NAMES",
    "SOURCE_BUY_AGAIN",
    "SOURCE_CATEGORY",
    "SOURCE_PERSONAL",
    "SOURCE_POPULAR",
    "SOURCE_RECENT",
    "BuyAgainRecommender",
    "CategoryPopularityRecommender",
    "ItemKNNRecommender",
    "LightFMParams",
    "LightFMRecommender",
    "PopularityRecommender",
    "RecentlyViewedRecommender",
    "Recommendations",
    "Recommender",
    "item_feature_matrix",
    "item_similarity",
    "make_model",
    "merge_ranked",
    "popularity_scores",
    "user_feature_matrix",
    "user_profile",
]
