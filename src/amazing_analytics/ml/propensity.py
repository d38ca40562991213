"""Purchase propensity: who is likely to buy in the next 30 days, and why.

Plain, typed functions; the dbt Python models are thin wrappers that read snapshot tables with
``dbt.ref(...).arrow()``, call these and return a pyarrow Table. Arrow in, Arrow out; numpy inside.

Input tables are customer snapshots (one row per customer and ``as_of_date``) with the columns
``snapshot``, ``as_of_date``, ``user_id``, the features in :data:`PROPENSITY_FEATURES` and ``label``
(bought in the 30 days after ``as_of_date``; null in the ``score`` snapshot). Features are computed
from events at or before ``as_of_date`` only; this module never uses ``label`` as a feature.

The model is XGBoost (``binary:logistic``) with fixed hyper-parameters, a fixed seed and a fixed
number of threads, so the same input gives the same probabilities. There is no class re-weighting,
so the probabilities stay calibrated (they can be read as "chance of buying in the next 30 days").

Reasons come from XGBoost's exact TreeSHAP (``pred_contribs=True``): for every customer the
``top_n`` features with the largest absolute contribution, each phrased with its value and its
direction, e.g. ``"Product views in the last 7 days: 12 (raises purchase chance)"`` or
``"Days since last order: never ordered (lowers purchase chance)"``. A reason may point against
the customer's overall direction (a likely buyer can still have one feature that lowers the
chance); features with an exactly zero contribution are never given as reasons, so a customer
can have fewer than ``top_n`` reasons (the remaining reason columns are null).

Ranking conventions, used everywhere: decile 1 holds the customers with the highest probability;
ties in probability are broken by ``user_id`` ascending (row order when there is no ``user_id``).
Precision at the top decile is tie-fair: when customers with equal probability straddle the
cut-off, they count in proportion, so the figure does not depend on the tie-break.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xgboost as xgb

from amazing_analytics.ml.arrow_utils import as_table, numeric_column

PROPENSITY_FEATURES: tuple[str, ...] = (
    "session_count",
    "view_count",
    "cart_count",
    "order_count",
    "revenue",
    "average_basket",
    "conversion_rate",
    "cart_abandonment_rate",
    "days_active",
    "tenure_days",
    "days_since_last_event",
    "days_since_last_order",
    "views_last_7_days",
    "views_last_30_days",
    "carts_last_30_days",
    "orders_last_90_days",
)

# Neutral, plain-words names; a reason adds the customer's value and the direction of the push,
# so the same label reads naturally whether the feature raises or lowers the chance.
FEATURE_LABELS: dict[str, str] = {
    "session_count": "Number of visits",
    "view_count": "Products viewed (all time)",
    "cart_count": "Add-to-carts (all time)",
    "order_count": "Orders (all time)",
    "revenue": "Total spend (all time)",
    "average_basket": "Average order value",
    "conversion_rate": "Share of visits that end in a purchase",
    "cart_abandonment_rate": "Share of carts left without buying",
    "days_active": "Days with any activity",
    "tenure_days": "Days since first visit",
    "days_since_last_event": "Days since last visit",
    "days_since_last_order": "Days since last order",
    "views_last_7_days": "Product views in the last 7 days",
    "views_last_30_days": "Product views in the last 30 days",
    "carts_last_30_days": "Add-to-carts in the last 30 days",
    "orders_last_90_days": "Orders in the last 90 days",
}

REASON_DIRECTIONS: dict[int, str] = {1: "raises purchase chance", -1: "lowers purchase chance"}

LABEL_HORIZON_DAYS = 30
MIN_TRAIN_ROWS = 200
MIN_TRAIN_PER_CLASS = 20
DEFAULT_CHUNK_ROWS = 200_000
NTHREAD = 2
NUM_BOOST_ROUND = 100

# Fixed, conservative settings (no tuning): shallow trees, shrinkage, row and column sampling
# and L2 regularisation. No scale_pos_weight: re-weighting would break calibration.
HYPERPARAMETERS: dict[str, Any] = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.1,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1.0,
    "max_bin": 256,
    "nthread": NTHREAD,
}


class InsufficientDataError(ValueError):
    """The data are too thin to train or evaluate the model; the message says what is missing."""


@dataclass(frozen=True)
class PropensityModel:
    """A trained propensity model and what it was trained on.

    ``booster_json`` is the XGBoost model in its portable JSON format (what to store or ship);
    ``booster`` loads it once, lazily. ``shap_base_margin`` is the TreeSHAP expected value in
    log-odds: for every row, contributions summed plus this value equal the model's margin.
    """

    booster_json: bytes = field(repr=False)
    feature_names: tuple[str, ...]
    seed: int
    base_rate: float
    as_of_date: dt.date | None
    n_train: int
    n_positive: int
    num_boost_round: int
    shap_base_margin: float
    xgboost_version: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

    @cached_property
    def booster(self) -> xgb.Booster:
        booster = xgb.Booster()
        booster.load_model(bytearray(self.booster_json))
        booster.set_param({"nthread": NTHREAD})
        return booster


# --------------------------------------------------------------------------------------------
# Guards
# --------------------------------------------------------------------------------------------


def _require_columns(table: pa.Table, columns: Sequence[str], role: str) -> None:
    missing = [name for name in columns if name not in table.column_names]
    if missing:
        raise ValueError(f"The {role} table is missing column(s): {', '.join(missing)}.")


def _as_of_dates(table: pa.Table) -> list[dt.date | None]:
    column = table.column("as_of_date")
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.date32())
    return pc.unique(column).to_pylist()


def _single_as_of_date(table: pa.Table, role: str) -> dt.date:
    dates = _as_of_dates(table)
    if None in dates:
        raise ValueError(f"The {role} table has rows without an as_of_date.")
    if len(dates) != 1:
        shown = ", ".join(str(d) for d in sorted(dates)[:5])
        raise ValueError(
            f"The {role} table mixes {len(dates)} snapshot dates ({shown}); it must hold exactly "
            "one as_of_date, otherwise outcomes of one snapshot can leak into another's features."
        )
    return dates[0]


def assert_no_leakage(train: pa.Table, *, features: Sequence[str] = PROPENSITY_FEATURES) -> None:
    """Cheap guards against label leakage in a training table; raises ValueError when one fails.

    Checks: no feature is called ``label``; the table has exactly one ``as_of_date`` and at most one
    ``snapshot`` value, which is not ``score``; every row has a label; no ``user_id`` appears twice;
    and no feature is identical to the label on every row (a copied outcome).
    """
    leaky = [name for name in features if name.strip().lower() == "label"]
    if leaky:
        raise ValueError("'label' is listed as a feature: the outcome must never be a model input.")
    _require_columns(train, ["as_of_date", "label", *features], "training")
    if "snapshot" in train.column_names:
        snapshots = pc.unique(train.column("snapshot")).to_pylist()
        if len(snapshots) > 1:
            raise ValueError(
                f"The training table mixes snapshots ({', '.join(map(str, snapshots))}); "
                "train on one snapshot at a time."
            )
        if snapshots == ["score"]:
            raise ValueError("The 'score' snapshot has no outcomes yet and cannot be trained on.")
    _single_as_of_date(train, "training")
    null_labels = train.column("label").null_count
    if null_labels:
        raise ValueError(
            f"{null_labels} training row(s) have no label; every training customer needs an outcome."
        )
    if "user_id" in train.column_names:
        users = train.column("user_id")
        if pc.count_distinct(users).as_py() != len(users):
            raise ValueError("A user_id appears more than once in the training snapshot.")
    if train.num_rows >= MIN_TRAIN_PER_CLASS:
        label = _labels(train).astype(np.float64)
        for name in features:
            values = _column_as_float(train, name)
            if np.array_equal(values, label):
                raise ValueError(
                    f"Feature '{name}' equals the label on every row: it looks like a copy of the "
                    "outcome, not something known at as_of_date."
                )


# --------------------------------------------------------------------------------------------
# Arrow -> numpy
# --------------------------------------------------------------------------------------------


def _column_as_float(table: pa.Table, name: str) -> np.ndarray:
    values = numeric_column(table, name)
    infinite = np.isinf(values)
    if infinite.any():  # a division by zero upstream is treated as unknown
        values = np.where(infinite, np.nan, values)
    return values


def _feature_matrix(table: pa.Table, feature_names: Sequence[str]) -> np.ndarray:
    _require_columns(table, feature_names, "features")
    matrix = np.empty((table.num_rows, len(feature_names)), dtype=np.float64)
    for j, name in enumerate(feature_names):
        matrix[:, j] = _column_as_float(table, name)
    return matrix


def _labels(table: pa.Table) -> np.ndarray:
    column = table.column("label")
    if column.null_count:
        raise ValueError(f"{column.null_count} row(s) have no label.")
    if not pa.types.is_boolean(column.type):
        column = pc.cast(column, pa.bool_())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=bool)


def _dmatrix(
    matrix: np.ndarray, feature_names: Sequence[str], label: np.ndarray | None = None
) -> xgb.DMatrix:
    return xgb.DMatrix(
        matrix, label=label, feature_names=list(feature_names), missing=np.nan, nthread=NTHREAD
    )


def _chunks(table: pa.Table, chunk_size: int) -> Iterator[pa.Table]:
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1.")
    for start in range(0, table.num_rows, chunk_size):
        yield table.slice(start, chunk_size)


# --------------------------------------------------------------------------------------------
# Training and prediction
# --------------------------------------------------------------------------------------------


def train_propensity(train: pa.Table, seed: int = 42) -> PropensityModel:
    """Train the purchase-propensity model on one training snapshot.

    Raises InsufficientDataError with fewer than 200 customers, or fewer than 20 buyers or 20
    non-buyers; ValueError when :func:`assert_no_leakage` finds a problem.
    """
    _require_columns(train, ["as_of_date", "label", *PROPENSITY_FEATURES], "training")
    if train.num_rows < MIN_TRAIN_ROWS:
        raise InsufficientDataError(
            f"Not enough customers to train the purchase-propensity model: the training snapshot "
            f"has {train.num_rows:,} and at least {MIN_TRAIN_ROWS:,} are needed."
        )
    assert_no_leakage(train)
    as_of = _single_as_of_date(train, "training")
    y = _labels(train)
    n, positives = len(y), int(y.sum())
    negatives = n - positives
    if positives < MIN_TRAIN_PER_CLASS or negatives < MIN_TRAIN_PER_CLASS:
        raise InsufficientDataError(
            f"Not enough of both outcomes to train the purchase-propensity model: of {n:,} "
            f"customers, {positives:,} bought and {negatives:,} did not buy in the "
            f"{LABEL_HORIZON_DAYS} days after {as_of}; at least {MIN_TRAIN_PER_CLASS} of each "
            "are needed."
        )
    base_rate = positives / n
    params = {**HYPERPARAMETERS, "seed": int(seed), "base_score": base_rate}
    dtrain = _dmatrix(_feature_matrix(train, PROPENSITY_FEATURES), PROPENSITY_FEATURES, y)
    booster = xgb.train(params, dtrain, num_boost_round=NUM_BOOST_ROUND)
    bias = booster.predict(dtrain.slice([0]), pred_contribs=True)[0, -1]
    return PropensityModel(
        booster_json=bytes(booster.save_raw("json")),
        feature_names=PROPENSITY_FEATURES,
        seed=int(seed),
        base_rate=base_rate,
        as_of_date=as_of,
        n_train=n,
        n_positive=positives,
        num_boost_round=NUM_BOOST_ROUND,
        shap_base_margin=float(bias),
        xgboost_version=xgb.__version__,
        params=params,
    )


def predict_proba(
    model: PropensityModel, features: pa.Table, *, chunk_size: int = DEFAULT_CHUNK_ROWS
) -> np.ndarray:
    """Probability of buying in the next 30 days, one float64 per row, in row order.

    Only the model's feature columns are read; ``label`` and any other column are ignored.
    """
    parts = [
        model.booster.predict(
            _dmatrix(_feature_matrix(chunk, model.feature_names), model.feature_names)
        )
        for chunk in _chunks(features, chunk_size)
    ]
    if not parts:
        return np.empty(0, dtype=np.float64)
    return np.concatenate(parts).astype(np.float64)


def predict_margin(
    model: PropensityModel, features: pa.Table, *, chunk_size: int = DEFAULT_CHUNK_ROWS
) -> np.ndarray:
    """The model's log-odds per row (what the SHAP contributions add up to)."""
    parts = [
        model.booster.predict(
            _dmatrix(_feature_matrix(chunk, model.feature_names), model.feature_names),
            output_margin=True,
        )
        for chunk in _chunks(features, chunk_size)
    ]
    if not parts:
        return np.empty(0, dtype=np.float64)
    return np.concatenate(parts).astype(np.float64)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------

_EVALUATION_SCHEMA = pa.schema(
    [
        ("metric", pa.string()),
        ("segment", pa.string()),
        ("value", pa.float64()),
        ("predicted_mean", pa.float64()),
        ("n", pa.int64()),
        ("description", pa.string()),
    ]
)


def _ranking_order(probabilities: np.ndarray, order_key: np.ndarray | None) -> np.ndarray:
    """Row indices from most to least likely; ties by order_key ascending, then row order."""
    if order_key is None:
        return np.argsort(-probabilities, kind="stable")
    return np.lexsort((np.arange(len(probabilities)), order_key, -probabilities))


def _auc(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula; tied scores get their average rank (count as half)."""
    order = np.argsort(probabilities, kind="stable")
    sorted_scores = probabilities[order]
    ranks = np.empty(len(probabilities), dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(sorted_scores)]
    average = (starts + ends + 1) / 2.0  # ranks are 1-based
    ranks[order] = np.repeat(average, ends - starts)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _top_share(probabilities: np.ndarray, labels: np.ndarray, k: int) -> tuple[float, float]:
    """Tie-fair precision and mean probability of the k most likely rows."""
    threshold = np.sort(probabilities)[::-1][k - 1]
    above = probabilities > threshold
    tied = probabilities == threshold
    share_of_tied = (k - int(above.sum())) / int(tied.sum())
    hits = labels[above].sum() + share_of_tied * labels[tied].sum()
    predicted = probabilities[above].sum() + (k - int(above.sum())) * threshold
    return float(hits / k), float(predicted / k)


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
    n = len(p)
    if n == 0:
        raise InsufficientDataError("There are no customers to evaluate the model on.")
    # Work in ranking order (most likely first): sums then do not depend on the input row order.
    order = _ranking_order(p, None if order_key is None else np.asarray(order_key))
    p, y = p[order], y[order]
    positives = int(y.sum())
    base_rate = positives / n
    reference = base_rate if reference_rate is None else float(reference_rate)
    k = math.ceil(n / 10)
    precision, top_mean = _top_share(p, y, k)
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    one_class = positives in (0, n)
    rows: list[tuple[str, str, float | None, float | None, int, str]] = [
        (
            "auc",
            "all",
            None if one_class else _auc(p, y),
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
            precision / base_rate if positives else None,
            None,
            k,
            "Precision at the top decile divided by the base rate (1 = no better than random)",
        ),
        ("base_rate", "all", base_rate, None, n, "Share of customers who bought"),
        ("mean_predicted", "all", float(p.mean()), None, n, "Average predicted probability"),
        (
            "brier_score",
            "all",
            float(np.mean((p - y) ** 2)),
            None,
            n,
            "Mean squared error of the probabilities (lower is better)",
        ),
        (
            "brier_score_base_rate",
            "all",
            float(np.mean((reference - y) ** 2)),
            reference,
            n,
            "Brier score of giving everyone the same probability (the reference rate)",
        ),
        (
            "log_loss",
            "all",
            float(-np.mean(np.where(y, np.log(clipped), np.log1p(-clipped)))),
            None,
            n,
            "Average negative log-likelihood of the outcomes (lower is better)",
        ),
        ("n_test", "all", float(n), None, n, "Customers evaluated"),
        ("n_positive", "all", float(positives), None, positives, "Customers who bought"),
    ]
    deciles = np.arange(n) * 10 // n + 1
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
    columns = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array(values, type=f.type)
            for values, f in zip(columns, _EVALUATION_SCHEMA, strict=True)
        ],
        schema=_EVALUATION_SCHEMA,
    )


def evaluate_propensity(
    model: PropensityModel, test: pa.Table, *, min_gap_days: int = LABEL_HORIZON_DAYS
) -> pa.Table:
    """Evaluate on a later, held-out snapshot; see :func:`evaluate_scores` for the schema.

    The test snapshot must be at least ``min_gap_days`` after the training snapshot, so the
    training outcomes (which look 30 days ahead) end before the test features begin.
    """
    _require_columns(test, ["as_of_date", "label", *model.feature_names], "test")
    if test.num_rows == 0:
        raise InsufficientDataError("The test snapshot is empty: no customers to evaluate on.")
    test_as_of = _single_as_of_date(test, "test")
    if model.as_of_date is not None and test_as_of < model.as_of_date + dt.timedelta(
        days=min_gap_days
    ):
        raise ValueError(
            f"The test snapshot ({test_as_of}) must be at least {min_gap_days} days after the "
            f"training snapshot ({model.as_of_date}); otherwise the training outcomes overlap "
            "the test period."
        )
    labels = _labels(test)
    order_key = (
        np.asarray(test.column("user_id").to_numpy(zero_copy_only=False))
        if "user_id" in test.column_names
        else None
    )
    return evaluate_scores(
        predict_proba(model, test), labels, reference_rate=model.base_rate, order_key=order_key
    )


# --------------------------------------------------------------------------------------------
# Explanations
# --------------------------------------------------------------------------------------------


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


def _contributions(model: PropensityModel, matrix: np.ndarray) -> np.ndarray:
    """Exact TreeSHAP contributions (rows x features, log-odds), without the bias column."""
    contribs = model.booster.predict(_dmatrix(matrix, model.feature_names), pred_contribs=True)
    return contribs[:, :-1]


def _reason_columns(
    feature_names: Sequence[str], matrix: np.ndarray, contribs: np.ndarray, top_n: int
) -> list[np.ndarray]:
    """``top_n`` object arrays of reason texts (None where the contribution is zero).

    Column i holds each row's i-th strongest feature by absolute contribution (ties: feature
    order). Texts are formatted once per distinct (feature, direction, value), not once per row.
    """
    rows = np.arange(matrix.shape[0])
    top = np.argsort(-np.abs(contribs), axis=1, kind="stable")[:, :top_n]
    columns = []
    for i in range(top_n):
        feature_index = top[:, i]
        contribution = contribs[rows, feature_index]
        value = matrix[rows, feature_index]
        column = np.full(len(rows), None, dtype=object)
        for j in np.unique(feature_index):
            for direction in (1, -1):
                pushed = contribution > 0 if direction == 1 else contribution < 0
                selected = (feature_index == j) & pushed
                if not selected.any():
                    continue
                distinct, inverse = np.unique(value[selected], return_inverse=True)
                texts = np.array(
                    [reason_text(feature_names[j], v, direction) for v in distinct.tolist()],
                    dtype=object,
                )
                column[selected] = texts[inverse]
        columns.append(column)
    return columns


def _check_top_n(model: PropensityModel, top_n: int) -> None:
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
    :func:`predict_margin`), and per row up to ``top_n`` reasons ordered by absolute contribution,
    largest first (ties: feature order); zero contributions are never reasons.
    """
    _check_top_n(model, top_n)
    matrices, reasons = [], []
    for chunk in _chunks(features, chunk_size):
        matrix = _feature_matrix(chunk, model.feature_names)
        contribs = _contributions(model, matrix)
        matrices.append(contribs.astype(np.float64))
        columns = _reason_columns(model.feature_names, matrix, contribs, top_n)
        reasons.extend(
            [text for text in row if text is not None] for row in zip(*columns, strict=True)
        )
    if not matrices:
        return np.empty((0, len(model.feature_names)), dtype=np.float64), []
    return np.concatenate(matrices), reasons


# --------------------------------------------------------------------------------------------
# Scoring and importance
# --------------------------------------------------------------------------------------------


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
    _check_top_n(model, top_n)
    _require_columns(features, ["user_id", *model.feature_names], "scoring")
    probabilities: list[np.ndarray] = []
    reason_parts: list[list[pa.Array]] = [[] for _ in range(top_n)]
    for chunk in _chunks(features, chunk_size):
        matrix = _feature_matrix(chunk, model.feature_names)
        dmatrix = _dmatrix(matrix, model.feature_names)
        probabilities.append(model.booster.predict(dmatrix).astype(np.float64))
        contribs = model.booster.predict(dmatrix, pred_contribs=True)[:, :-1]
        columns = _reason_columns(model.feature_names, matrix, contribs, top_n)
        for i, column in enumerate(columns):
            reason_parts[i].append(pa.array(column, type=pa.string()))
    n = features.num_rows
    probability = np.concatenate(probabilities) if probabilities else np.empty(0, np.float64)
    user_id = features.column("user_id").cast(pa.int64())
    order = _ranking_order(probability, np.asarray(user_id.to_numpy(zero_copy_only=False)))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    decile = (rank - 1) * 10 // max(n, 1) + 1
    if "as_of_date" in features.column_names:
        scored_as_of = features.column("as_of_date")
        if not pa.types.is_date32(scored_as_of.type):
            scored_as_of = pc.cast(scored_as_of, pa.date32())
    else:
        scored_as_of = pa.nulls(n, pa.date32())
    columns: dict[str, Any] = {
        "user_id": user_id,
        "purchase_probability": pa.array(probability, pa.float64()),
        "propensity_decile": pa.array(decile, pa.int64()),
        "propensity_rank": pa.array(rank, pa.int64()),
    }
    for i in range(top_n):
        columns[f"reason_{i + 1}"] = pa.chunked_array(reason_parts[i], type=pa.string())
    columns["model_as_of_date"] = pa.repeat(pa.scalar(model.as_of_date, pa.date32()), n)
    columns["scored_as_of_date"] = scored_as_of
    return pa.table(columns).take(pa.array(order, pa.int64()))


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
    for chunk in _chunks(features, chunk_size):
        contribs = _contributions(model, _feature_matrix(chunk, names))
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


# --------------------------------------------------------------------------------------------
# Storage: the trained model as a one-row table (train once in dbt, apply in other models)
# --------------------------------------------------------------------------------------------

MODEL_TABLE_SCHEMA = pa.schema(
    [
        ("status", pa.string()),
        ("message", pa.string()),
        ("booster_json", pa.string()),
        ("as_of_date", pa.date32()),
        ("n_train", pa.int64()),
        ("n_positive", pa.int64()),
        ("base_rate", pa.float64()),
        ("seed", pa.int64()),
        ("num_boost_round", pa.int64()),
        ("shap_base_margin", pa.float64()),
        ("xgboost_version", pa.string()),
    ]
)


def model_to_table(model: PropensityModel) -> pa.Table:
    """One row holding the model (XGBoost JSON) and what it was trained on; status 'trained'."""
    return pa.Table.from_pylist(
        [
            {
                "status": "trained",
                "message": None,
                "booster_json": model.booster_json.decode("utf-8"),
                "as_of_date": model.as_of_date,
                "n_train": model.n_train,
                "n_positive": model.n_positive,
                "base_rate": model.base_rate,
                "seed": model.seed,
                "num_boost_round": model.num_boost_round,
                "shap_base_margin": model.shap_base_margin,
                "xgboost_version": model.xgboost_version,
            }
        ],
        schema=MODEL_TABLE_SCHEMA,
    )


def untrained_model_table(reason: str) -> pa.Table:
    """The documented fallback: one row with status 'not_trained' and why (no propensity)."""
    return pa.Table.from_pylist(
        [{"status": "not_trained", "message": reason}], schema=MODEL_TABLE_SCHEMA
    )


def model_from_table(table: pa.Table) -> PropensityModel | None:
    """The model stored by :func:`model_to_table`, or None when the table records no model."""
    rows = as_table(table).to_pylist()
    if len(rows) != 1:
        raise ValueError(f"a propensity model table has exactly one row, not {len(rows)}")
    row = rows[0]
    if row["status"] != "trained" or not row["booster_json"]:
        return None
    return PropensityModel(
        booster_json=row["booster_json"].encode("utf-8"),
        feature_names=PROPENSITY_FEATURES,
        seed=int(row["seed"]),
        base_rate=float(row["base_rate"]),
        as_of_date=row["as_of_date"],
        n_train=int(row["n_train"]),
        n_positive=int(row["n_positive"]),
        num_boost_round=int(row["num_boost_round"]),
        shap_base_margin=float(row["shap_base_margin"]),
        xgboost_version=str(row["xgboost_version"]),
    )


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


def not_evaluated(reason: str) -> pa.Table:
    """evaluate_propensity's schema with one row saying why there is no evaluation."""
    row = {name: None for name in _EVALUATION_SCHEMA.names}
    row |= {"metric": "not_evaluated", "segment": "all", "n": 0, "description": reason}
    return pa.Table.from_pylist([row], schema=_EVALUATION_SCHEMA)


# --------------------------------------------------------------------------------------------
# The steps as the dbt Python models run them (one call each, fallbacks included)
# --------------------------------------------------------------------------------------------


def _snapshot(snapshots: pa.Table, name: str) -> pa.Table:
    snapshots = as_table(snapshots)
    return snapshots.filter(pc.equal(snapshots["snapshot"], name))


def build_model_table(snapshots: pa.Table, seed: int) -> pa.Table:
    """propensity_model (train step): trained on 'final_train', or 'not_trained' with the reason."""
    try:
        return model_to_table(train_propensity(_snapshot(snapshots, "final_train"), seed=seed))
    except InsufficientDataError as error:
        return untrained_model_table(str(error))


def build_evaluation(snapshots: pa.Table, seed: int, horizon_days: int) -> pa.Table:
    """propensity_evaluation: train on 'evaluation_train', test on the later 'final_train'."""
    try:
        model = train_propensity(_snapshot(snapshots, "evaluation_train"), seed=seed)
        return evaluate_propensity(
            model, _snapshot(snapshots, "final_train"), min_gap_days=horizon_days
        )
    except InsufficientDataError as error:
        return not_evaluated(str(error))


def build_scores(model_table: pa.Table, snapshots: pa.Table, flags: pa.Table) -> pa.Table:
    """customer_propensity (apply step): the 'score' snapshot scored, opt-outs flagged; empty
    without a model."""
    model = model_from_table(model_table)
    scores = (
        empty_scores() if model is None else score_customers(model, _snapshot(snapshots, "score"))
    )
    flags = as_table(flags).select(["user_id", "is_personalisation_opt_out"])
    return scores.join(flags, "user_id", join_type="left outer").sort_by("propensity_rank")


_IMPORTANCE_SCHEMA = pa.schema(
    [
        ("feature", pa.string()),
        ("label", pa.string()),
        ("gain", pa.float64()),
        ("mean_abs_shap", pa.float64()),
        ("rank", pa.int64()),
    ]
)


#: Mean |SHAP| of the importance table is measured on at most this many scored customers.
IMPORTANCE_SAMPLE_ROWS = 50_000


def build_feature_importance(model_table: pa.Table, snapshots: pa.Table) -> pa.Table:
    """propensity_feature_importance: gain and mean |SHAP| on the 'score' snapshot (on an evenly
    spaced, deterministic sample of IMPORTANCE_SAMPLE_ROWS customers by user_id when larger);
    empty without a model."""
    model = model_from_table(model_table)
    if model is None:
        return _IMPORTANCE_SCHEMA.empty_table()
    scored = _snapshot(snapshots, "score").sort_by("user_id")
    if scored.num_rows > IMPORTANCE_SAMPLE_ROWS:
        rows = np.linspace(0, scored.num_rows - 1, IMPORTANCE_SAMPLE_ROWS).round().astype(np.int64)
        scored = scored.take(pa.array(rows))
    return feature_importance(model, scored)
