"""Every recommender (popularity, recently viewed not yet bought, buy again, category popularity,
item-kNN, LightFM hybrid: its fits stored by recommender_evaluation_embeddings) trained on the
interactions before the test window and judged on what each user carted or bought in it,
overall and per slice, long form, with bootstrap intervals; marks the model that serves (chosen
on evidence). Thin wrapper over
amazing_analytics.ml.recommend.build.build_evaluation.
"""

from amazing_analytics.dbt_io import config_int, read_arrow, release_memory, stream_arrow
from amazing_analytics.ml.recommend.bounds import TrainingBounds, window_filter
from amazing_analytics.ml.recommend.build import build_evaluation, lightfm_params
from amazing_analytics.ml.recommend.data import PAIR_COLUMNS


def model(dbt, session):
    dbt.config(materialized="table")
    params = lightfm_params(
        components=dbt.config.get("components"),
        epochs=dbt.config.get("epochs"),
        learning_rate=dbt.config.get("learning_rate"),
        item_alpha=dbt.config.get("item_alpha"),
        threads=dbt.config.get("threads"),
    )
    seed = config_int(dbt.config.get("seed"), "seed")
    bounds = TrainingBounds(
        window_days=config_int(dbt.config.get("train_window_days"), "train_window_days"),
        max_training_rows=config_int(dbt.config.get("max_training_rows"), "max_training_rows"),
        eval_users=config_int(dbt.config.get("eval_sample_users"), "eval_sample_users"),
        seed=seed,
    )
    interactions = read_arrow(
        dbt.ref("int_interactions").filter(
            window_filter("split <> 'serving'", bounds.window_days, "evaluation_train")
        ),
        dictionary=["split"],
    )
    product_features = read_arrow(dbt.ref("int_recommender_product_features"))
    # LightFM's two fits, made once (the first shared with the session evaluation)
    embeddings = read_arrow(dbt.ref("recommender_evaluation_embeddings"))
    # the slice labels only (segment_name, price_band), not the 39 columns of the marts
    labels = [
        read_arrow(dbt.ref("customer_segments").project("user_id, segment_name")),
        read_arrow(dbt.ref("customer_features").project("user_id, price_band")),
    ]
    release_memory(session)  # DuckDB's cache of what was just read, before the fits
    return build_evaluation(
        interactions,
        product_features,
        # the co-visitation pairs, streamed into their matrices (opened last: DuckDB serves one
        # open result at a time), without the split they were filtered on
        stream_arrow(
            dbt.ref("int_product_cooccurrence")
            .filter("split = 'evaluation_train'")
            .project(", ".join(PAIR_COLUMNS)),
            session,
        ),
        labels,
        k=config_int(dbt.config.get("top_n"), "top_n"),
        seed=seed,
        params=params,
        min_test_users=config_int(dbt.config.get("min_test_users"), "min_test_users"),
        bootstrap_samples=config_int(dbt.config.get("bootstrap_samples"), "bootstrap_samples"),
        bounds=bounds,
        lightfm_embeddings=embeddings,
    )
