"""The session models (popularity, co-visitation, SKNN, V-SkNN, LightFM embedding similarity,
V-SkNN blended with the shopper's history) on the next-item-in-session protocol: neighbours and
popularity from the days before the test window, each next item of the test sessions predicted
from the session so far, HR / NDCG / MRR at k with bootstrap intervals, the served model chosen
on evidence. The embedding models' LightFM is recommender_evaluation_embeddings (the batch
evaluation's) unless var session_eval_split_at moves the split. Thin wrapper over
amazing_analytics.ml.recommend.build.build_session_evaluation.
"""

from amazing_analytics.dbt_io import config_int, read_arrow, release_memory
from amazing_analytics.ml.recommend.build import build_session_evaluation, lightfm_params


def model(dbt, session):
    dbt.config(materialized="table")
    params = lightfm_params(
        components=dbt.config.get("components"),
        epochs=dbt.config.get("epochs"),
        learning_rate=dbt.config.get("learning_rate"),
        item_alpha=dbt.config.get("item_alpha"),
        threads=dbt.config.get("threads"),
    )
    # the batch evaluation's LightFM when both split on the same day (var session_eval_split_at
    # unset); with the var set, the embedding models' LightFM is fitted on this model's history
    own_split = bool(str(dbt.config.get("split_at") or "").strip())
    shared = None if own_split else read_arrow(dbt.ref("recommender_evaluation_embeddings"))
    inputs = [
        read_arrow(dbt.ref("int_session_evaluation_sequences")),
        read_arrow(dbt.ref("int_session_item_neighbours_train")),
        read_arrow(dbt.ref("int_session_evaluation_history"), dictionary=["split"]),
        read_arrow(dbt.ref("int_recommender_product_features")),
    ]
    release_memory(session)  # DuckDB's cache of what was just read, before the scoring
    return build_session_evaluation(
        *inputs,
        k=config_int(dbt.config.get("k"), "k"),
        sample_sessions=config_int(dbt.config.get("sample_sessions"), "sample_sessions"),
        min_sessions=config_int(dbt.config.get("min_sessions"), "min_sessions"),
        bootstrap_samples=config_int(dbt.config.get("bootstrap_samples"), "bootstrap_samples"),
        neighbours_top_n=config_int(dbt.config.get("neighbours_top_n"), "neighbours_top_n"),
        seed=config_int(dbt.config.get("seed"), "seed"),
        params=params,
        window_days=config_int(dbt.config.get("train_window_days"), "train_window_days"),
        max_training_rows=config_int(dbt.config.get("max_training_rows"), "max_training_rows"),
        lightfm_embeddings=shared,
    )
