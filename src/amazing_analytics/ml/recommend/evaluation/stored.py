"""The evaluations' LightFM fits, stored by recommender_evaluation_embeddings and scored here
instead of fitted again: the evaluation's (``fit = 'evaluation'``, on its training data) and the
simulated cold start's (``fit = 'cold_start'``, on the same data without the hidden products).
Each is checked against the data it is scored on, so that a table built with other
recommender_* vars is a clear error instead of another model's scores."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.recommend.data import TrainingData
from amazing_analytics.ml.recommend.models import Recommender
from amazing_analytics.ml.recommend.serving import EMBEDDING_SCHEMA, EmbeddingRecommender

EVALUATION_FIT = "evaluation"
COLD_START_FIT = "cold_start"
#: recommender_evaluation_embeddings' columns: the stored LightFM's, which fit a row belongs to,
#: and that fit's wall time.
EVALUATION_EMBEDDING_SCHEMA = EMBEDDING_SCHEMA.append(pa.field("fit", pa.string())).append(
    pa.field("fit_seconds", pa.float64())
)


def fit_rows(embeddings: ArrowData, fit: str, columns: tuple[str, ...] = ()) -> pa.Table:
    """The rows of one stored ``fit`` (the one reading of the table's ``fit`` column); a clear
    error when the table lacks ``fit``, ``entity``, ``entity_id``, ``embedding`` or one of
    ``columns``."""
    table = as_table(embeddings)
    needed = ("fit", "entity", "entity_id", "embedding", *columns)
    require_columns(table, needed, "the evaluation embeddings")
    return table.filter(pc.equal(table.column("fit"), fit))


def stored_item_embeddings(embeddings: ArrowData) -> pa.Table:
    """The ``evaluation`` fit's product rows as product_id and embedding: what the session
    evaluation's embedding models build their neighbour table from."""
    items = fit_rows(embeddings, EVALUATION_FIT)
    items = items.filter(pc.equal(items.column("entity"), "item"))
    return pa.table(
        {
            "product_id": pc.cast(items.column("entity_id"), pa.int64()),
            "embedding": items.column("embedding"),
        }
    )


def stored_lightfm(
    embeddings: ArrowData, data: TrainingData, rows: np.ndarray, seed: int, fit: str
) -> tuple[Recommender, float]:
    """The stored LightFM ``fit`` of ``embeddings`` on ``data``, for the user ``rows`` it
    scores, and its fit seconds. Raises ValueError when it was not fitted on this data: one of
    ``rows`` with history without a vector or one without history with a vector, or a product
    without one."""
    table = fit_rows(embeddings, fit, tuple(EVALUATION_EMBEDDING_SCHEMA.names))
    model = EmbeddingRecommender(table).fit(data, seed)
    with_history = data.history_counts()[rows] > 0
    wrong_users = int((model.has_history[rows] != with_history).sum())
    missing_products = int((~np.isfinite(model.item_bias)).sum())
    if wrong_users or missing_products:
        raise ValueError(
            f"the evaluation embeddings' {fit!r} fit was made on other data than this "
            f"evaluation's: {wrong_users} of the {rows.size} users it scores have a vector "
            f"without history or history without a vector, {missing_products} of the "
            f"{data.catalogue.size} products have none; build recommender_evaluation_embeddings "
            "with the same recommender_* vars"
        )
    return model, float(table.column("fit_seconds")[0].as_py()) if table.num_rows else 0.0
