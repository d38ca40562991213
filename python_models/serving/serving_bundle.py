"""The serving bundle the recommendation API reads (Parquet + manifest.json beside the
warehouse, replaced atomically at every build); one row per file with its row count. Thin
wrapper over amazing_analytics.serving.bundle.build_serving_bundle.
"""

from pathlib import Path

from amazing_analytics.dbt_io import config_int, read_arrow, release_memory
from amazing_analytics.serving.bundle import build_serving_bundle, serving_dir
from amazing_analytics.serving.bundle.content import INTERACTION_COLUMNS


def model(dbt, session):
    dbt.config(materialized="table")
    target = dbt.config.get("serving_dir") or serving_dir(dbt.config.get("warehouse"))
    release_memory(session)  # what earlier models left, before this model's reads
    tables = dict(
        # relations: the bundle reads them sorted by their keys (the warehouse's DuckDB sorts),
        # so that the same marts give the same files
        recommendations=dbt.ref("recommendations"),
        session_item_neighbours=dbt.ref("session_item_neighbours"),
        similar_products=dbt.ref("similar_products"),
        item_embeddings=dbt.ref("item_embeddings"),
        user_embeddings=dbt.ref("user_embeddings"),
        popular_products=read_arrow(dbt.ref("popular_products")),
        product_features=read_arrow(dbt.ref("int_recommender_product_features")),
        # not read: the histories and the popular list are ranked and summed by the warehouse's
        # DuckDB, under its memory limit (the serving split is 80M rows at 100M events)
        interactions=dbt.ref("int_interactions")
        .filter("split = 'serving'")
        .project(", ".join(INTERACTION_COLUMNS)),
        opt_outs=read_arrow(dbt.ref("gdpr_personalisation_opt_outs")),
        erasures=read_arrow(dbt.ref("gdpr_erasure_requests")),
        recommender_evaluation=read_arrow(dbt.ref("recommender_evaluation")),
        session_recommender_evaluation=read_arrow(dbt.ref("session_recommender_evaluation")),
    )
    release_memory(session)  # DuckDB's cache of what was just read, before the bundle's work
    # (the relations above are read, sorted, inside it)
    return build_serving_bundle(
        Path(target),
        **tables,
        history_size=config_int(dbt.config.get("history_size"), "history_size"),
        neighbours_top_n=config_int(dbt.config.get("neighbours_top_n"), "neighbours_top_n"),
    )
