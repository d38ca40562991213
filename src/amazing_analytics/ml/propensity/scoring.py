"""Scoring every customer: probability, decile, rank and the top reasons.

Ranking conventions, used everywhere: decile 1 holds the customers with the highest probability;
ties in probability are broken by ``user_id`` ascending (row order when there is no ``user_id``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.propensity.explanation import check_top_n, reason_columns
from amazing_analytics.ml.propensity.features import DEFAULT_CHUNK_ROWS, chunks, feature_matrix
from amazing_analytics.ml.propensity.model import PropensityModel, dmatrix


def ranking_order(probabilities: np.ndarray, order_key: np.ndarray | None) -> np.ndarray:
    """Row indices from most to least likely; ties by order_key ascending, then row order."""
    if order_key is None:
        return np.argsort(-probabilities, kind="stable")
    return np.lexsort((np.arange(len(probabilities)), order_key, -probabilities))


def _probabilities_and_reasons(
    model: PropensityModel, features: pa.Table, top_n: int, chunk_size: int
) -> tuple[np.ndarray, list[pa.ChunkedArray]]:
    """Per row the probability and ``top_n`` reason columns, one prediction pass per chunk."""
    probabilities: list[np.ndarray] = []
    reason_parts: list[list[pa.Array]] = [[] for _ in range(top_n)]
    for chunk in chunks(features, chunk_size):
        matrix = feature_matrix(chunk, model.feature_names)
        data = dmatrix(matrix, model.feature_names)
        probabilities.append(model.booster.predict(data).astype(np.float64))
        contribs = model.booster.predict(data, pred_contribs=True)[:, :-1]
        for i, column in enumerate(reason_columns(model.feature_names, matrix, contribs, top_n)):
            reason_parts[i].append(pa.array(column, type=pa.string()))
    probability = np.concatenate(probabilities) if probabilities else np.empty(0, np.float64)
    return probability, [pa.chunked_array(parts, type=pa.string()) for parts in reason_parts]


def _scored_as_of(features: pa.Table) -> pa.ChunkedArray | pa.Array:
    if "as_of_date" not in features.column_names:
        return pa.nulls(features.num_rows, pa.date32())
    scored_as_of = features.column("as_of_date")
    if not pa.types.is_date32(scored_as_of.type):
        scored_as_of = pc.cast(scored_as_of, pa.date32())
    return scored_as_of


def score_customers(
    model: PropensityModel,
    features: pa.Table,
    top_n: int = 3,
    *,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
) -> pa.Table:
    """Score every customer: probability, decile, rank and plain-words reasons.

    Columns: ``user_id``, ``purchase_probability`` (float64), ``propensity_decile`` (1 = most
    likely .. 10), ``propensity_rank`` (1..n, contiguous; ties by ``user_id``), ``reason_1`` ..
    ``reason_{top_n}`` (null when a customer has fewer non-zero contributions),
    ``model_as_of_date`` and ``scored_as_of_date`` (the row's ``as_of_date``). Rows are returned in
    rank order. Works in chunks of ``chunk_size`` rows; the result does not depend on it.
    """
    check_top_n(model, top_n)
    require_columns(features, ["user_id", *model.feature_names], "The scoring table")
    probability, reasons = _probabilities_and_reasons(model, features, top_n, chunk_size)
    n = features.num_rows
    user_id = features.column("user_id").cast(pa.int64())
    order = ranking_order(probability, np.asarray(user_id.to_numpy(zero_copy_only=False)))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    decile = (rank - 1) * 10 // max(n, 1) + 1
    columns: dict[str, Any] = {
        "user_id": user_id,
        "purchase_probability": pa.array(probability, pa.float64()),
        "propensity_decile": pa.array(decile, pa.int64()),
        "propensity_rank": pa.array(rank, pa.int64()),
    }
    for i, reason in enumerate(reasons):
        columns[f"reason_{i + 1}"] = reason
    columns["model_as_of_date"] = pa.repeat(pa.scalar(model.as_of_date, pa.date32()), n)
    columns["scored_as_of_date"] = _scored_as_of(features)
    return pa.table(columns).take(pa.array(order, pa.int64()))


def empty_scores(top_n: int = 3) -> pa.Table:
    """score_customers' schema with no rows: the output when no model could be trained."""
    fields = [
        ("user_id", pa.int64()),
        ("purchase_probability", pa.float64()),
        ("propensity_decile", pa.int64()),
        ("propensity_rank", pa.int64()),
        *[(f"reason_{i}", pa.string()) for i in range(1, top_n + 1)],
        ("model_as_of_date", pa.date32()),
        ("scored_as_of_date", pa.date32()),
    ]
    return pa.schema(fields).empty_table()
