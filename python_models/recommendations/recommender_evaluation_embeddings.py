"""The batch evaluation's two LightFM fits, made once, side by side: 'evaluation' on its training
data (evaluation_train within the bounds, the sampled test users' histories first) and
'cold_start' on the same data without the simulated new products. recommender_evaluation
scores both instead of fitting them; session_recommender_evaluation's embedding models rank by
the first's product vectors. Per fit, one row per product and per evaluated test user with
history. Empty when the split cannot be evaluated. Thin wrapper over
amazing_analytics.ml.recommend.build.build_evaluation_embeddings.
"""

from amazing_analytics.dbt_io import config_int, read_arrow, release_memory
from amazing_analytics.ml.recommend.bounds import TrainingBounds, window_filter
from amazing_analytics.ml.recommend.build import build_evaluation_embeddings, lightfm_params


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
    # the rows recommender_evaluation reads (the co-visitation pairs aside: LightFM has no use)
    interactions = read_arrow(
        dbt.ref("int_interactions").filter(
            window_filter("split <> 'serving'", bounds.window_days, "evaluation_train")
        ),
        dictionary=["split"],
    )
    product_features = read_arrow(dbt.ref("int_recommender_product_features"))
    release_memory(session)  # DuckDB's cache of what was just read, before the fit
    return build_evaluation_embeddings(
        interactions, product_features, seed=seed, params=params, bounds=bounds
    )
