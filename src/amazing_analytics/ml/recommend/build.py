"""Entry points of the dbt Python models (each wrapper calls exactly one of these).

Every function degrades instead of failing: too little data for the temporal split gives a
one-row evaluation that says so and popularity serves; no LightFM embeddings (too few
interactions) leaves the embedding tables empty and the embedding half of similar_products out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.dbt_io import config_float, config_int
from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.recommend.bounds import (
    NO_BOUNDS,
    TrainingBounds,
    bound_evaluation_interactions,
    bound_split,
)
from amazing_analytics.ml.recommend.data import (
    TrainingData,
    build_catalogue,
    build_training_data,
    evaluation_catalogue,
    no_interactions,
)
from amazing_analytics.ml.recommend.evaluation import (
    COLD_START_FIT,
    EVALUATION_EMBEDDING_SCHEMA,
    EVALUATION_FIT,
    MIN_TRAIN_INTERACTIONS,
    evaluate,
    evaluation_training_data,
    hidden_products,
    hide_products,
)
from amazing_analytics.ml.recommend.models import LightFMParams, LightFMRecommender, make_model
from amazing_analytics.ml.recommend.serving import (
    EMBEDDING_SCHEMA,
    RECOMMENDATION_SCHEMA,
    EmbeddingRecommender,
    embeddings_table,
    recommendation_rows,
    similar_products,
)
from amazing_analytics.ml.recommend.session_evaluation import (
    SessionEvaluationSettings,
    evaluate_sessions,
)
from amazing_analytics.ml.recommend.threads import in_order

CUSTOMER_COLUMNS = ("user_id", "recency_days", "is_personalisation_opt_out")

logger = logging.getLogger(__name__)


def lightfm_params(
    *, components: Any, epochs: Any, learning_rate: Any, item_alpha: Any, threads: Any
) -> LightFMParams:
    """LightFM settings from the model config (strings from the vars)."""
    params = LightFMParams(
        components=config_int(components, "components"),
        epochs=config_int(epochs, "epochs"),
        learning_rate=config_float(learning_rate, "learning_rate"),
        item_alpha=config_float(item_alpha, "item_alpha"),
        user_alpha=config_float(item_alpha, "item_alpha"),
        threads=config_int(threads, "threads"),
    )
    if params.components < 1 or params.epochs < 1 or params.threads < 1:
        raise ValueError("components, epochs and threads must be at least 1")
    return params


def build_evaluation(
    interactions: ArrowData,
    product_features: ArrowData,
    cooccurrence: ArrowData,
    user_labels: Sequence[ArrowData],
    *,
    k: int,
    seed: int,
    params: LightFMParams,
    min_test_users: int,
    bootstrap_samples: int,
    bounds: TrainingBounds = NO_BOUNDS,
    lightfm_embeddings: ArrowData | None = None,
) -> pa.Table:
    """recommender_evaluation; ``bounds`` samples the test users and cuts the training rows
    (amazing_analytics.ml.recommend.bounds). The catalogue's repeat-purchase flag is the one
    learned before the test window (:func:`~amazing_analytics.ml.recommend.data.evaluation_catalogue`).
    ``lightfm_embeddings``: recommender_evaluation_embeddings (:func:`build_evaluation_embeddings`
    with the same bounds), scored instead of fitting LightFM again; None: fitted here."""
    if 0 < bounds.eval_users < min_test_users:
        raise ValueError(
            f"recommender_eval_sample_users ({bounds.eval_users}) is below "
            f"recommender_min_test_users ({min_test_users}): the sample could never select a "
            "model; raise it or set it to 0 (every test user)"
        )
    catalogue = evaluation_catalogue(product_features)
    return evaluate(
        bound_evaluation_interactions(interactions, bounds),
        catalogue,
        cooccurrence,
        k=k,
        seed=seed,
        params=params,
        user_labels=user_labels,
        min_test_users=min_test_users,
        bootstrap_samples=bootstrap_samples,
        lightfm_embeddings=lightfm_embeddings,
    ).table


def build_evaluation_embeddings(
    interactions: ArrowData,
    product_features: ArrowData,
    *,
    seed: int,
    params: LightFMParams,
    bounds: TrainingBounds = NO_BOUNDS,
) -> pa.Table:
    """recommender_evaluation_embeddings: the batch evaluation's two LightFM fits, made once,
    side by side (LightFM releases Python's lock): ``evaluation``, on its training data
    (evaluation_train under ``bounds``, the sampled test users' histories kept first), and
    ``cold_start``, on the same data without the simulated new products
    (:func:`~amazing_analytics.ml.recommend.evaluation.cold_start.hidden_products`).
    recommender_evaluation scores both instead of fitting them, and
    session_recommender_evaluation's embedding models rank by the ``evaluation`` fit's product
    vectors (one fit instead of two: 14 CPU seconds at 10M events). Rows per fit: every
    product, and the evaluated test users with history in that fit's data (no one else's
    vector); ``fit_seconds``, the fit's wall time. Empty, with a WARNING, when the split
    cannot be evaluated (the evaluation then says why, and the session evaluation fits its
    own)."""
    _, test_users, train, reason = evaluation_training_data(
        bound_evaluation_interactions(interactions, bounds),
        evaluation_catalogue(product_features),
        None,
    )
    if reason is not None:
        logger.warning("recommender_evaluation_embeddings empty: %s", reason)
        return EVALUATION_EMBEDDING_SCHEMA.empty_table()
    rows = train.user_index(test_users)
    hidden = hidden_products(train, seed)
    fits = [(EVALUATION_FIT, train)]
    if hidden is not None:
        fits.append((COLD_START_FIT, hide_products(train, hidden)))

    def fit(named: tuple[str, TrainingData]) -> pa.Table:
        name, data = named
        started = time.perf_counter()
        model = LightFMRecommender(params).fit(data, seed)
        seconds = time.perf_counter() - started
        logger.info(
            "evaluation LightFM (%s) fitted on %d users x %d products (%d interactions) in %.1f s",
            name,
            data.n_users,
            data.catalogue.size,
            data.weights.nnz,
            seconds,
        )
        stored = embeddings_table(model, data, user_rows=rows)
        return stored.append_column(
            "fit", pa.array([name] * stored.num_rows, pa.string())
        ).append_column("fit_seconds", pa.array(np.full(stored.num_rows, seconds), pa.float64()))

    return pa.concat_tables(in_order(fit, fits))


def build_session_evaluation(
    sequences: ArrowData,
    neighbours: ArrowData,
    interactions: ArrowData,
    product_features: ArrowData,
    *,
    k: int,
    sample_sessions: int,
    min_sessions: int,
    bootstrap_samples: int,
    neighbours_top_n: int,
    seed: int,
    params: LightFMParams,
    window_days: int = 0,
    max_training_rows: int = 0,
    lightfm_embeddings: ArrowData | None = None,
) -> pa.Table:
    """session_recommender_evaluation: every session model on the next-item protocol.
    ``lightfm_embeddings``: recommender_evaluation_embeddings when the session evaluation splits
    where the batch evaluation does (its product vectors, not a second fit); None: fitted on
    ``interactions``."""
    settings = SessionEvaluationSettings(
        k=k,
        sample_sessions=sample_sessions,
        min_sessions=min_sessions,
        bootstrap_samples=bootstrap_samples,
        seed=seed,
        neighbours_top_n=neighbours_top_n,
        train_window_days=window_days,
        max_training_rows=max_training_rows,
    )
    return evaluate_sessions(
        sequences,
        neighbours,
        interactions,
        product_features,
        settings=settings,
        lightfm=params,
        lightfm_embeddings=lightfm_embeddings,
    )


def build_embeddings(
    interactions: ArrowData,
    product_features: ArrowData,
    *,
    seed: int,
    params: LightFMParams,
    bounds: TrainingBounds = NO_BOUNDS,
) -> pa.Table:
    """Train step: LightFM fitted on the serving split (cut by the window and the row cap of
    ``bounds``), as item and user rows (empty when the serving split has fewer than
    MIN_TRAIN_INTERACTIONS interactions)."""
    catalogue = build_catalogue(product_features)
    data = build_training_data(
        bound_split(interactions, "serving", bounds), catalogue, None, "serving"
    )
    if data.weights.nnz < MIN_TRAIN_INTERACTIONS:
        logger.warning(
            "recommender_embeddings empty: %d serving interactions, at least %d needed",
            data.weights.nnz,
            MIN_TRAIN_INTERACTIONS,
        )
        return EMBEDDING_SCHEMA.empty_table()
    model = LightFMRecommender(params).fit(data, seed)
    logger.info(
        "LightFM fitted on %d users x %d products (%d interactions)",
        data.n_users,
        catalogue.size,
        data.weights.nnz,
    )
    return embeddings_table(model, data)


def selected_model(evaluation: ArrowData) -> str:
    """The model the evaluation selected (popularity when it selected none)."""
    table = as_table(evaluation)
    if table.num_rows == 0 or "is_selected" not in table.column_names:
        return "popularity"
    chosen = table.filter(pc.fill_null(table.column("is_selected"), False))
    names = sorted(set(chosen.column("model").to_pylist()))
    return names[0] if len(names) == 1 else "popularity"


#: The served models that score with the session co-occurrence counts (item_knn's similarity);
#: every other model uses only the bought-together pairs, for its "Often bought with" reasons.
COOCCURRENCE_MODELS = frozenset({"item_knn"})


#: The serving product pairs bought together in a session (SQL filter of
#: int_product_cooccurrence): 12 thousand of its 16 million serving pairs at 10M events, and
#: all of it that similar_products and every served model but item_knn use.
BOUGHT_TOGETHER_PAIRS = "split = 'serving' and bought_together_count > 0"


def cooccurrence_filter(evaluation: ArrowData) -> str:
    """The SQL filter of the product pairs :func:`build_recommendations` needs for the model the
    evaluation selected: every serving pair for a co-occurrence model, else
    :data:`BOUGHT_TOGETHER_PAIRS` (the pairs a model does not use were the largest thing
    recommendations read at 100M events). The rows are the same either way."""
    if selected_model(evaluation) in COOCCURRENCE_MODELS:
        return "split = 'serving'"
    return BOUGHT_TOGETHER_PAIRS


def build_recommendations(
    interactions: ArrowData,
    product_features: ArrowData,
    cooccurrence: ArrowData,
    evaluation: ArrowData,
    embeddings: ArrowData,
    customers: ArrowData,
    *,
    k: int,
    seed: int,
    active_days: int,
    window_days: int = 0,
) -> pa.Table:
    """Top k per active customer (last event within ``active_days``) by the selected model,
    from the serving pairs of the last ``window_days`` days (0 = all, the training window of
    the evaluation); opt-outs get the non-personalised popularity list, flagged."""
    interactions = bound_split(
        interactions, "serving", TrainingBounds(window_days=window_days, seed=seed)
    )
    customers = as_table(customers)
    require_columns(customers, CUSTOMER_COLUMNS, "customer_features")
    recency = pc.fill_null(customers.column("recency_days"), 10**9)
    active = customers.filter(pc.less_equal(recency, active_days))
    opt_out = np.asarray(
        pc.fill_null(active.column("is_personalisation_opt_out"), False).to_numpy(
            zero_copy_only=False
        ),
        bool,
    )
    user_ids = np.asarray(
        pc.cast(active.column("user_id"), pa.int64()).to_numpy(zero_copy_only=False)
    )
    catalogue = build_catalogue(product_features)
    data = build_training_data(
        interactions, catalogue, cooccurrence, "serving", extra_user_ids=user_ids
    )
    if catalogue.size == 0 or user_ids.size == 0:
        logger.warning(
            "recommendations empty: %d products, %d active customers", catalogue.size, user_ids.size
        )
        return RECOMMENDATION_SCHEMA.empty_table()
    name = selected_model(evaluation)
    logger.info(
        "recommendations by %s for %d active customers (%d opted out: popularity)",
        name,
        user_ids.size,
        int(opt_out.sum()),
    )
    embeddings = as_table(embeddings)
    if name == "lightfm" and embeddings.num_rows:
        model = EmbeddingRecommender(embeddings).fit(data, seed)
    else:
        model = make_model("popularity" if name == "lightfm" else name).fit(data, seed)
    parts = [
        recommendation_rows(model, data, np.sort(user_ids[~opt_out]), k, personalised=True),
        recommendation_rows(model, data, np.sort(user_ids[opt_out]), k, personalised=False),
    ]
    return pa.concat_tables(parts).sort_by([("user_id", "ascending"), ("rank", "ascending")])


def build_similar_products(
    product_features: ArrowData,
    cooccurrence: ArrowData,
    embeddings: ArrowData,
    *,
    k: int,
) -> pa.Table:
    """similar_products: by the served embeddings and bought together (the product pairs and
    vectors only: the interactions are not read, at 30M events 22M rows). Of the pairs, only
    the bought-together ones are used (:data:`BOUGHT_TOGETHER_PAIRS`, what the dbt model
    reads): their session counts break ties."""
    catalogue = build_catalogue(product_features)
    data = build_training_data(no_interactions(), catalogue, cooccurrence, "serving")
    embeddings = as_table(embeddings)
    vectors = None
    if embeddings.num_rows:
        model = EmbeddingRecommender(embeddings).fit(data, 0)
        vectors = model.item_vectors
    return similar_products(data, vectors, k)
