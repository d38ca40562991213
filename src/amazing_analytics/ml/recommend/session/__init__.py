"""Session-based recommendation: the next product for a live session, from item neighbours.

One function, :func:`recommend_for_session`, scores every session model. The evaluation
(``session_recommender_evaluation``) and the live API both call it, with the model name and
params the evaluation selected, so what is served is what was evaluated.

The neighbours come from ``session_item_neighbours`` (co-visitation within past sessions,
weighted by event type and recency, top N per product, computed in SQL; see
``macros/session_item_neighbours.sql``), loaded into a :class:`NeighbourIndex`. An index can
also hold LightFM embedding neighbours (rows with ``source = 'embedding'``, built by
:func:`embedding_neighbour_table` from ``item_embeddings``) for the ``embedding`` model.

Models (:data:`SESSION_MODELS`, simplest first: the selection's complexity order):

* ``popularity`` - returns nothing: the caller fills the list with popular products (the API
  from ``popular_products``, the evaluation from the training days' popularity).
* ``covisitation`` - the last product's co-visitation neighbours (item-to-item).
* ``sknn`` - session-kNN in its item form: every product of the session votes for its
  neighbours with the same weight. Session-kNN (Ludewig & Jannach 2018) scores a product by the
  summed similarity of the past sessions that contain it; with the dot product of binary
  session vectors as the similarity and all past sessions as neighbours, that sum is exactly
  the sum over the session's products of their co-visitation counts, which is what the
  neighbour table holds (truncated to the top N per product).
* ``vsknn`` - V-SkNN: the same, with the votes decayed linearly by position (the last product
  weighs 1, the first 1/length) and weighted by event type (a cart or purchase says more than
  a view).
* ``embedding`` - LightFM item-embedding similarity, V-SkNN-weighted over the session.
* ``vsknn_history`` - V-SkNN blended with the known shopper's history: the products they
  recently viewed and did not buy, and those products' neighbours, at ``history_weight``.
* ``hybrid`` - ``vsknn_history`` plus the embedding neighbours of the session's products at
  ``embedding_weight``: co-visitation leads where past sessions know the products, LightFM's
  content-aware embeddings speak for products that past sessions have not seen together.

Each product's neighbour scores are divided by its best neighbour's score before products are
combined, so a heavily visited product does not drown the others of the session. The current
(last) product is never returned (consecutive repeats are collapsed, so it cannot be next),
nor any product in ``exclude``.

One module per job: ``items`` (a session's events, the scored products, the input error),
``params`` (the models and their params), ``neighbour_index`` (the in-memory neighbour lists),
``votes`` (what each product's vote weighs, the votes' combination and ranking), ``scoring``
(:func:`recommend_for_session` and the popularity fill; :func:`recommended_ids` and
:func:`popular_fill`, the same lists as product ids, for the evaluation), ``embedding_neighbours`` (the
embedding neighbour rows and the serving index) and ``selected_model`` (the model the
evaluation selected); the package re-exports their public names, so
``from amazing_analytics.ml.recommend.session import ...`` reads as before.
"""

from amazing_analytics.ml.recommend.session.embedding_neighbours import (
    embedding_neighbour_table,
    serving_index,
)
from amazing_analytics.ml.recommend.session.items import (
    EVENT_TYPES,
    ScoredItem,
    SessionInputError,
    SessionItem,
)
from amazing_analytics.ml.recommend.session.neighbour_index import (
    NEIGHBOUR_COLUMNS,
    NEIGHBOUR_SOURCES,
    NeighbourIndex,
)
from amazing_analytics.ml.recommend.session.params import (
    DEFAULT_MODEL,
    DEFAULT_PARAMS,
    SESSION_MODELS,
    model_params,
)
from amazing_analytics.ml.recommend.session.scoring import (
    fill_with_popular,
    popular_fill,
    recommend_for_session,
    recommended_ids,
    session_votes,
)
from amazing_analytics.ml.recommend.session.selected_model import selected_session_model

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_PARAMS",
    "EVENT_TYPES",
    "NEIGHBOUR_COLUMNS",
    "NEIGHBOUR_SOURCES",
    "SESSION_MODELS",
    "NeighbourIndex",
    "ScoredItem",
    "SessionInputError",
    "SessionItem",
    "embedding_neighbour_table",
    "fill_with_popular",
    "model_params",
    "popular_fill",
    "recommend_for_session",
    "recommended_ids",
    "selected_session_model",
    "serving_index",
    "session_votes",
]
