"""The served LightFM hybrid (train step): fitted on every interaction up to as_of_date, stored
as one row per product and per user (bias and embedding). Empty when there are too few
interactions. Thin wrapper over amazing_analytics.ml.recommend.build.build_embeddings.
"""

from amazing_analytics.dbt_io import config_int, read_arrow, release_memory
from amazing_analytics.ml.recommend.bounds import TrainingBounds, window_filter
from amazing_analytics.ml.recommend.build import build_embeddings, lightfm_params


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
        seed=seed,
    )
    interactions = read_arrow(
        dbt.ref("int_interactions").filter(
            window_filter("split = 'serving'", bounds.window_days, "serving")
        ),
        dictionary=["split"],
    )
    product_features = read_arrow(dbt.ref("int_recommender_product_features"))
    release_memory(session)  # DuckDB's cache of what was just read, before the fit
    return build_embeddings(
        interactions,
        product_features,
        seed=seed,
        params=params,
        bounds=bounds,
    )
