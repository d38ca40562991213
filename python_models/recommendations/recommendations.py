"""Top N products per active customer from the model the evaluation selected (apply step: LightFM
from recommender_embeddings, baselines from the serving interactions), with the producer and a
plain reason per row; opt-outs get the non-personalised list. Thin wrapper over
amazing_analytics.ml.recommend.build.build_recommendations.
"""

from amazing_analytics.dbt_io import config_int, read_arrow, release_memory, stream_arrow
from amazing_analytics.ml.recommend.bounds import window_filter
from amazing_analytics.ml.recommend.build import (
    CUSTOMER_COLUMNS,
    build_recommendations,
    cooccurrence_filter,
)
from amazing_analytics.ml.recommend.data import PAIR_COLUMNS


def model(dbt, session):
    dbt.config(materialized="table")
    window_days = config_int(dbt.config.get("train_window_days"), "train_window_days")
    release_memory(session)  # what earlier models left, before this model's reads
    evaluation = read_arrow(dbt.ref("recommender_evaluation"))
    interactions = read_arrow(
        dbt.ref("int_interactions").filter(
            window_filter("split = 'serving'", window_days, "serving")
        ),
        dictionary=["split"],
    )
    product_features = read_arrow(dbt.ref("int_recommender_product_features"))
    embeddings = read_arrow(dbt.ref("recommender_embeddings"))
    # the columns it uses, not the whole mart (0.6 GB at 30M events)
    customers = read_arrow(dbt.ref("customer_features").project(", ".join(CUSTOMER_COLUMNS)))
    release_memory(session)  # DuckDB's cache of what was just read, before the scoring
    return build_recommendations(
        interactions,
        product_features,
        # every serving pair only when the selected model scores with them (item_knn), streamed
        # into their matrices (opened last: DuckDB serves one open result at a time), without
        # the split they were filtered on
        stream_arrow(
            dbt.ref("int_product_cooccurrence")
            .filter(cooccurrence_filter(evaluation))
            .project(", ".join(PAIR_COLUMNS)),
            session,
        ),
        evaluation,
        embeddings,
        customers,
        k=config_int(dbt.config.get("top_n"), "top_n"),
        seed=config_int(dbt.config.get("seed"), "seed"),
        active_days=config_int(dbt.config.get("active_days"), "active_days"),
        window_days=window_days,
    )
