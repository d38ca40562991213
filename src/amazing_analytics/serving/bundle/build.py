"""The dbt step (python_models/serving/serving_bundle.py): the bundle's tables and manifest
from the warehouse's, written atomically beside it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.serving.bundle.content import Input, Interactions, bundle_tables
from amazing_analytics.serving.bundle.manifest import manifest_models
from amazing_analytics.serving.bundle.writer import write_bundle


def build_serving_bundle(
    target: Path,
    *,
    recommendations: Input,
    session_item_neighbours: Input,
    similar_products: Input,
    item_embeddings: Input,
    user_embeddings: Input,
    popular_products: ArrowData,
    product_features: ArrowData,
    interactions: Interactions,
    opt_outs: ArrowData | None = None,
    erasures: ArrowData | None = None,
    recommender_evaluation: ArrowData | None = None,
    session_recommender_evaluation: ArrowData | None = None,
    history_size: int = 20,
    neighbours_top_n: int = 50,
    created_at: datetime | None = None,
) -> pa.Table:
    """The dbt step: the bundle's tables and manifest written atomically to ``target``; one row
    per file with its row count. Inputs may be relations of the warehouse (the histories and
    the popular list are computed, and the lists sorted, by its DuckDB)."""
    if session_recommender_evaluation is not None:
        session_recommender_evaluation = as_table(session_recommender_evaluation)
    models = manifest_models(recommender_evaluation, session_recommender_evaluation)
    tables = bundle_tables(
        recommendations=recommendations,
        session_item_neighbours=session_item_neighbours,
        similar_products=similar_products,
        item_embeddings=item_embeddings,
        user_embeddings=user_embeddings,
        popular_products=popular_products,
        product_features=product_features,
        interactions=interactions,
        opt_outs=opt_outs,
        erasures=erasures,
        history_size=history_size,
        session_model=str(models["session"]["name"]),
        neighbours_top_n=neighbours_top_n,
    )
    return write_bundle(target, tables, models, created_at=created_at).as_table()
