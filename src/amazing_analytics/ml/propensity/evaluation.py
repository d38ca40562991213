"""How good the propensity model is on a later, held-out snapshot.

One long table, one row per metric: AUC, precision and lift at the top decile (tie-fair: when
customers with equal probability straddle the cut-off they count in proportion, so the figure
does not depend on the tie-break), the base rate, the Brier score beside that of a constant
probability, the log loss, and the calibration by decile (decile 1 = the highest probabilities).
AUC, Brier score and log loss are scikit-learn's.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from amazing_analytics.ml.guards import InsufficientDataError, require_columns
from amazing_analytics.ml.propensity.features import labels as label_array
from amazing_analytics.ml.propensity.guards import LABEL_HORIZON_DAYS, single_as_of_date
from amazing_analytics.ml.propensity.model import PropensityModel, predict_proba
from amazing_analytics.ml.propensity.scoring import ranking_order

EVALUATION_SCHEMA = pa.schema(
    [
        ("metric", pa.string()),
        ("segment", pa.string()),
        ("value", pa.float64()),
        ("predicted_mean", pa.float64()),
        ("n", pa.int64()),
        ("description", pa.string()),
    ]
)

_Row = tuple[str, str, float | None, float | None, int, str]


def _top_share(probabilities: np.ndarray, labels: np.ndarray, k: int) -> tuple[float, float]:
    """Tie-fair precision and mean probability of the k most likely rows."""
    threshold = np.sort(probabilities)[::-1][k - 1]
    above = probabilities > threshold
    tied = probabilities == threshold
    share_of_tied = (k - int(above.sum())) / int(tied.sum())
    hits = labels[above].sum() + share_of_tied * labels[tied].sum()
    predicted = probabilities[above].sum() + (k - int(above.sum())) * threshold
    return float(hits / k), float(predicted / k)


def _ranking_rows(p: np.ndarray, y: np.ndarray) -> list[_Row]:
    """AUC, precision and lift at the top decile (p, y in ranking order)."""
    n, positives = len(p), int(y.sum())
    k = math.ceil(n / 10)
    precision, top_mean = _top_share(p, y, k)
    one_class = positives in (0, n)
    return [
        (
            "auc",
            "all",
            None if one_class else float(roc_auc_score(y, p)),
            None,
            n,
            "Chance that a random buyer is ranked above a random non-buyer (0.5 = coin flip, "
            "1 = perfect); null when the test has only one outcome",
        ),
        (
            "precision_at_top_decile",
            "top_decile",
            precision,
            top_mean,
            k,
            "Share of buyers among the 10% of customers with the highest probability",
        ),
        (
            "lift_at_top_decile",
            "top_decile",
            precision / (positives / n) if positives else None,
            None,
            k,
            "Precision at the top decile divided by the base rate (1 = no better than random)",
        ),
    ]


def _probability_rows(p: np.ndarray, y: np.ndarray, reference: float) -> list[_Row]:
    """Base rate, mean prediction, Brier score (model and constant reference), log loss, counts."""
    n, positives = len(p), int(y.sum())
    outcome = y.astype(np.int64)
    return [
        ("base_rate", "all", positives / n, None, n, "Share of customers who bought"),
        ("mean_predicted", "all", float(p.mean()), None, n, "Average predicted probability"),
        (
            "brier_score",
            "all",
            float(brier_score_loss(outcome, p, labels=[0, 1])),
            None,
            n,
            "Mean squared error of the probabilities (lower is better)",
        ),
        (
            "brier_score_base_rate",
            "all",
            float(brier_score_loss(outcome, np.full(n, reference), labels=[0, 1])),
            reference,
            n,
            "Brier score of giving everyone the same probability (the reference rate)",
        ),
        (
            "log_loss",
            "all",
            float(log_loss(outcome, p, labels=[0, 1])),
            None,
            n,
            "Average negative log-likelihood of the outcomes (lower is better)",
        ),
        ("n_test", "all", float(n), None, n, "Customers evaluated"),
        ("n_positive", "all", float(positives), None, positives, "Customers who bought"),
    ]


def _calibration_rows(p: np.ndarray, y: np.ndarray) -> list[_Row]:
    """Observed rate vs mean probability per probability decile (p, y in ranking order)."""
    n = len(p)
    deciles = np.arange(n) * 10 // n + 1
    rows: list[_Row] = []
    for decile in range(1, 11):
        members = deciles == decile
        size = int(members.sum())
        if size == 0:
            continue
        rows.append(
            (
                "calibration",
                f"decile={decile}",
                float(y[members].mean()),
                float(p[members].mean()),
                size,
                "Observed buying rate vs mean probability in this probability decile "
                "(1 = most likely)",
            )
        )
    return rows


def evaluate_scores(
    probabilities: np.ndarray,
    labels: np.ndarray,
    *,
    reference_rate: float | None = None,
    order_key: np.ndarray | None = None,
) -> pa.Table:
    """Metrics for given probabilities and 0/1 outcomes (the model-free part of evaluation).

    Long form, one row per metric: ``metric``, ``segment`` ('all', 'top_decile' or 'decile=k'),
    ``value``, ``predicted_mean`` (mean probability where it applies, else null), ``n`` (rows
    behind the figure) and a plain-words ``description``. ``reference_rate`` is the constant
    probability the Brier score is compared with (default: the observed base rate).
    Calibration rows: decile 1 = the highest probabilities; value = observed buying rate.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError("probabilities and labels must be 1-d arrays of the same length.")
    if len(p) == 0:
        raise InsufficientDataError("There are no customers to evaluate the model on.")
    # Work in ranking order (most likely first): sums then do not depend on the input row order.
    order = ranking_order(p, None if order_key is None else np.asarray(order_key))
    p, y = p[order], y[order]
    reference = int(y.sum()) / len(y) if reference_rate is None else float(reference_rate)
    rows = _ranking_rows(p, y) + _probability_rows(p, y, reference) + _calibration_rows(p, y)
    columns = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array(values, type=f.type)
            for values, f in zip(columns, EVALUATION_SCHEMA, strict=True)
        ],
        schema=EVALUATION_SCHEMA,
    )


def evaluate_propensity(
    model: PropensityModel, test: pa.Table, *, min_gap_days: int = LABEL_HORIZON_DAYS
) -> pa.Table:
    """Evaluate on a later, held-out snapshot; see :func:`evaluate_scores` for the schema.

    The test snapshot must be at least ``min_gap_days`` after the training snapshot, so the
    training outcomes (which look 30 days ahead) end before the test features begin.
    """
    require_columns(test, ["as_of_date", "label", *model.feature_names], "The test table")
    if test.num_rows == 0:
        raise InsufficientDataError("The test snapshot is empty: no customers to evaluate on.")
    test_as_of = single_as_of_date(test, "test")
    if model.as_of_date is not None and test_as_of < model.as_of_date + dt.timedelta(
        days=min_gap_days
    ):
        raise ValueError(
            f"The test snapshot ({test_as_of}) must be at least {min_gap_days} days after the "
            f"training snapshot ({model.as_of_date}); otherwise the training outcomes overlap "
            "the test period."
        )
    order_key = (
        np.asarray(test.column("user_id").to_numpy(zero_copy_only=False))
        if "user_id" in test.column_names
        else None
    )
    return evaluate_scores(
        predict_proba(model, test),
        label_array(test),
        reference_rate=model.base_rate,
        order_key=order_key,
    )


def not_evaluated(reason: str) -> pa.Table:
    """evaluate_propensity's schema with one row saying why there is no evaluation."""
    row = {name: None for name in EVALUATION_SCHEMA.names}
    row |= {"metric": "not_evaluated", "segment": "all", "n": 0, "description": reason}
    return pa.Table.from_pylist([row], schema=EVALUATION_SCHEMA)
