"""Why a customer is likely to buy: exact TreeSHAP contributions, reasons in plain words, and the
model's global feature importance.

Reasons come from XGBoost's exact TreeSHAP (``pred_contribs=True``): for every customer the
``top_n`` features with the largest absolute contribution, each phrased with its value and its
direction, e.g. ``"Product views in the last 7 days: 12 (raises purchase chance)"`` or
``"Days since last order: never ordered (lowers purchase chance)"``. A reason may point against
the customer's overall direction (a likely buyer can still have one feature that lowers the
chance); features with an exactly zero contribution are never given as reasons, so a customer
can have fewer than ``top_n`` reasons (the remaining reason columns are null).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from amazing_analytics.ml.guards import InsufficientDataError
from amazing_analytics.ml.propensity.features import (
    DEFAULT_CHUNK_ROWS,
    FEATURE_LABELS,
    chunks,
    feature_matrix,
)
from amazing_analytics.ml.propensity.model import PropensityModel, dmatrix

REASON_DIRECTIONS: dict[int, str] = {1: "raises purchase chance", -1: "lowers purchase chance"}


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _share(value: float) -> str:
    return f"{value:.0%}"


def _days(value: float) -> str:
    return "1 day" if round(value) == 1 else f"{value:,.0f} days"


_FORMATS: dict[str, tuple[Callable[[float], str], str]] = {
    # feature: (how to show a value, what a missing value means)
    "session_count": (_count, "none"),
    "view_count": (_count, "none"),
    "cart_count": (_count, "none"),
    "order_count": (_count, "none"),
    "revenue": (_money, "none"),
    "average_basket": (_money, "no orders yet"),
    "conversion_rate": (_share, "not known"),
    "cart_abandonment_rate": (_share, "no carts yet"),
    "days_active": (_count, "none"),
    "tenure_days": (_days, "not known"),
    "days_since_last_event": (_days, "not known"),
    "days_since_last_order": (_days, "never ordered"),
    "views_last_7_days": (_count, "none"),
    "views_last_30_days": (_count, "none"),
    "carts_last_30_days": (_count, "none"),
    "orders_last_90_days": (_count, "none"),
}


def reason_text(feature: str, value: float, contribution: float) -> str:
    """One reason in plain words: label, the customer's value and the direction of the push."""
    show, missing = _FORMATS.get(feature, (lambda v: f"{v:,.2f}", "not known"))
    shown = missing if value is None or math.isnan(value) else show(value)
    label = FEATURE_LABELS.get(feature, feature.replace("_", " "))
    return f"{label}: {shown} ({REASON_DIRECTIONS[1 if contribution > 0 else -1]})"


def contributions(model: PropensityModel, matrix: np.ndarray) -> np.ndarray:
    """Exact TreeSHAP contributions (rows x features, log-odds), without the bias column."""
    contribs = model.booster.predict(dmatrix(matrix, model.feature_names), pred_contribs=True)
    return contribs[:, :-1]


def _reason_column(
    feature_names: Sequence[str], feature_index: np.ndarray, value: np.ndarray, pushed: np.ndarray
) -> np.ndarray:
    """One reason column: per row the text of its feature ``feature_index`` with ``value``,
    formatted once per distinct (feature, direction, value), not once per row."""
    column = np.full(len(feature_index), None, dtype=object)
    for j in np.unique(feature_index):
        for direction in (1, -1):
            selected = (feature_index == j) & (pushed == direction)
            if not selected.any():
                continue
            distinct, inverse = np.unique(value[selected], return_inverse=True)
            texts = np.array(
                [reason_text(feature_names[j], v, direction) for v in distinct.tolist()],
                dtype=object,
            )
            column[selected] = texts[inverse]
    return column


def reason_columns(
    feature_names: Sequence[str], matrix: np.ndarray, contribs: np.ndarray, top_n: int
) -> list[np.ndarray]:
    """``top_n`` object arrays of reason texts (None where the contribution is zero).

    Column i holds each row's i-th strongest feature by absolute contribution (ties: feature
    order).
    """
    rows = np.arange(matrix.shape[0])
    top = np.argsort(-np.abs(contribs), axis=1, kind="stable")[:, :top_n]
    columns = []
    for i in range(top_n):
        feature_index = top[:, i]
        pushed = np.sign(contribs[rows, feature_index]).astype(np.int64)
        value = matrix[rows, feature_index]
        columns.append(_reason_column(feature_names, feature_index, value, pushed))
    return columns


def check_top_n(model: PropensityModel, top_n: int) -> None:
    """ValueError unless 1 <= ``top_n`` <= the number of features."""
    if not 1 <= top_n <= len(model.feature_names):
        raise ValueError(f"top_n must be between 1 and {len(model.feature_names)}, not {top_n}.")


def explain(
    model: PropensityModel,
    features: pa.Table,
    top_n: int = 3,
    *,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
) -> tuple[np.ndarray, list[list[str]]]:
    """Exact TreeSHAP contributions and the top reasons per row.

    Returns a float64 matrix (rows x ``model.feature_names``) of log-odds contributions, with
    ``contributions.sum(axis=1) + model.shap_base_margin == margin`` (see
    :func:`~amazing_analytics.ml.propensity.model.predict_margin`), and per row up to ``top_n``
    reasons ordered by absolute contribution, largest first (ties: feature order); zero
    contributions are never reasons.
    """
    check_top_n(model, top_n)
    matrices, reasons = [], []
    for chunk in chunks(features, chunk_size):
        matrix = feature_matrix(chunk, model.feature_names)
        contribs = contributions(model, matrix)
        matrices.append(contribs.astype(np.float64))
        columns = reason_columns(model.feature_names, matrix, contribs, top_n)
        reasons.extend(
            [text for text in row if text is not None] for row in zip(*columns, strict=True)
        )
    if not matrices:
        return np.empty((0, len(model.feature_names)), dtype=np.float64), []
    return np.concatenate(matrices), reasons


def feature_importance(
    model: PropensityModel, features: pa.Table, *, chunk_size: int = DEFAULT_CHUNK_ROWS
) -> pa.Table:
    """Global importance: one row per model feature.

    Columns: ``feature``, ``label`` (plain words), ``gain`` (share of the total split gain in
    training, sums to 1), ``mean_abs_shap`` (average absolute TreeSHAP contribution on
    ``features``, log-odds) and ``rank`` (1 = most important by mean_abs_shap; ties by gain, then
    feature order).
    """
    if features.num_rows == 0:
        raise InsufficientDataError("There are no customers to compute feature importance on.")
    names = model.feature_names
    total_gain = model.booster.get_score(importance_type="total_gain")
    gain = np.array([total_gain.get(name, 0.0) for name in names], dtype=np.float64)
    if gain.sum() > 0:
        gain = gain / gain.sum()
    abs_sum = np.zeros(len(names), dtype=np.float64)
    for chunk in chunks(features, chunk_size):
        contribs = contributions(model, feature_matrix(chunk, names))
        abs_sum += np.abs(contribs).sum(axis=0, dtype=np.float64)
    mean_abs = abs_sum / features.num_rows
    order = np.lexsort((np.arange(len(names)), -gain, -mean_abs))
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(1, len(names) + 1)
    table = pa.table(
        {
            "feature": pa.array(names, pa.string()),
            "label": pa.array([FEATURE_LABELS.get(n, n) for n in names], pa.string()),
            "gain": pa.array(gain, pa.float64()),
            "mean_abs_shap": pa.array(mean_abs, pa.float64()),
            "rank": pa.array(rank, pa.int64()),
        }
    )
    return table.take(pa.array(order, pa.int64()))
