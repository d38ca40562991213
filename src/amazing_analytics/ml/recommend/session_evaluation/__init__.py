"""The next-item-in-session evaluation of the session models (session_recommender_evaluation).

Protocol (the published REES46 benchmarks, Transformers4Rec): the test sessions are those
starting in the test window (``int_session_evaluation_sequences``: consecutive repeats
collapsed, at least 2 items); the neighbours and the popularity come from the days before it
(``int_session_item_neighbours_train``, ``interactions`` split evaluation_train). For every
session and every position t >= 2, each model is asked, through
:func:`~amazing_analytics.ml.recommend.session.recommended_ids` (the product ids of
:func:`~amazing_analytics.ml.recommend.session.recommend_for_session`, the API's call, without
building its items) completed with the training days' popular products
(:func:`~amazing_analytics.ml.recommend.session.popular_fill`, the fill of
:func:`~amazing_analytics.ml.recommend.session.fill_with_popular`), for k products
given items 1..t-1; item t is the truth. Per prediction, with r the truth's 1-based rank in
the list (no hit: r = infinity):

* HR@k (``hit_rate``) = 1 if r <= k
* NDCG@k (``ndcg``) = 1 / log2(r + 1) (one relevant item: the ideal DCG is 1)
* MRR@k (``mrr``) = 1 / r

averaged over the predictions of a slice: ``all``, ``session_length`` (2, 3-4, 5-9, 10+
items), ``user_type`` (``returning``: the shopper has events before the window; ``new``) and
``category_family`` (the family, first level of category_code, of the item to predict: only
those predictions count, in the sessions that have one).
Intervals: a seeded percentile bootstrap resampling whole sessions (the same draws for every
model: a paired comparison). Selection: :func:`~amazing_analytics.ml.recommend.selection.
select_by_evidence` on HR@k over ``all``, models in
:data:`~amazing_analytics.ml.recommend.session.SESSION_MODELS` order (simplest first). Fewer
test sessions than ``min_sessions``: status ``not_enough_evidence`` and popularity serves.

To keep the cost bounded, a seeded sample of at most ``sample_sessions`` test sessions is
evaluated (the message says how many of how many).

One module per job: ``sessions`` (the test sessions, their sample and slices), ``training``
(popularity, histories and the embedding neighbours from the training days), ``scoring`` (the
truth's rank in each list, the metrics per session), ``table`` (the evaluation's rows) and
``evaluate`` (every model, the intervals and the selection); the package re-exports their
public names.
"""

from amazing_analytics.ml.recommend.session_evaluation.evaluate import (
    SELECTION_METRIC,
    SessionEvaluationSettings,
    evaluate_sessions,
)
from amazing_analytics.ml.recommend.session_evaluation.scoring import (
    SESSION_METRICS,
    per_session_metrics,
    session_ranks,
)
from amazing_analytics.ml.recommend.session_evaluation.sessions import (
    LENGTH_BUCKETS,
    SEQUENCE_COLUMNS,
    TestSessions,
    load_test_sessions,
    prediction_families,
    session_slices,
    session_sums,
)
from amazing_analytics.ml.recommend.session_evaluation.table import (
    SESSION_EVALUATION_SCHEMA,
    evaluation_record,
    not_evaluated,
)
from amazing_analytics.ml.recommend.session_evaluation.training import (
    EMBEDDING_MODELS,
    MIN_EMBEDDING_INTERACTIONS,
    embedding_index_rows,
    popularity_ranking,
    recently_viewed_not_bought,
)

__all__ = [
    "EMBEDDING_MODELS",
    "LENGTH_BUCKETS",
    "MIN_EMBEDDING_INTERACTIONS",
    "SELECTION_METRIC",
    "SEQUENCE_COLUMNS",
    "SESSION_EVALUATION_SCHEMA",
    "SESSION_METRICS",
    "SessionEvaluationSettings",
    "TestSessions",
    "embedding_index_rows",
    "evaluate_sessions",
    "evaluation_record",
    "load_test_sessions",
    "not_evaluated",
    "per_session_metrics",
    "popularity_ranking",
    "prediction_families",
    "recently_viewed_not_bought",
    "session_ranks",
    "session_slices",
    "session_sums",
]
