"""The propensity model: XGBoost trained on one snapshot, its predictions and its storage.

XGBoost (``binary:logistic``) with fixed hyper-parameters, a fixed seed and a fixed number of
threads, so the same input gives the same probabilities. There is no class re-weighting, so the
probabilities stay calibrated (they read as "chance of buying in the next 30 days"). The trained
model is stored as a one-row table (:func:`model_to_table`): trained once in dbt
(``ml.propensity_model``), applied by the other models.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import xgboost as xgb

from amazing_analytics.ml.arrow_utils import as_table
from amazing_analytics.ml.guards import InsufficientDataError, require_columns
from amazing_analytics.ml.propensity.features import (
    DEFAULT_CHUNK_ROWS,
    PROPENSITY_FEATURES,
    chunks,
    feature_matrix,
    labels,
)
from amazing_analytics.ml.propensity.guards import (
    LABEL_HORIZON_DAYS,
    MIN_TRAIN_PER_CLASS,
    MIN_TRAIN_ROWS,
    assert_no_leakage,
    single_as_of_date,
)

logger = logging.getLogger(__name__)

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


def dmatrix(
    matrix: np.ndarray, feature_names: Sequence[str], label: np.ndarray | None = None
) -> xgb.DMatrix:
    """XGBoost's input for a feature matrix (NaN = missing), with the fixed thread count."""
    return xgb.DMatrix(
        matrix, label=label, feature_names=list(feature_names), missing=np.nan, nthread=NTHREAD
    )


def _check_both_outcomes(y: np.ndarray, as_of: dt.date) -> None:
    n, positives = len(y), int(y.sum())
    negatives = n - positives
    if positives < MIN_TRAIN_PER_CLASS or negatives < MIN_TRAIN_PER_CLASS:
        raise InsufficientDataError(
            f"Not enough of both outcomes to train the purchase-propensity model: of {n:,} "
            f"customers, {positives:,} bought and {negatives:,} did not buy in the "
            f"{LABEL_HORIZON_DAYS} days after {as_of}; at least {MIN_TRAIN_PER_CLASS} of each "
            "are needed."
        )


def train_propensity(train: pa.Table, seed: int = 42) -> PropensityModel:
    """Train the purchase-propensity model on one training snapshot.

    Raises InsufficientDataError with fewer than 200 customers, or fewer than 20 buyers or 20
    non-buyers; ValueError when :func:`assert_no_leakage` finds a problem.
    """
    require_columns(train, ["as_of_date", "label", *PROPENSITY_FEATURES], "The training table")
    if train.num_rows < MIN_TRAIN_ROWS:
        raise InsufficientDataError(
            f"Not enough customers to train the purchase-propensity model: the training snapshot "
            f"has {train.num_rows:,} and at least {MIN_TRAIN_ROWS:,} are needed."
        )
    assert_no_leakage(train)
    if "user_id" in train.column_names:
        # XGBoost's row subsampling follows the row order: fix it, so that the same snapshot
        # gives the same model whatever order the warehouse hands it over in
        train = train.sort_by("user_id")
    as_of = single_as_of_date(train, "training")
    y = labels(train)
    _check_both_outcomes(y, as_of)
    base_rate = int(y.sum()) / len(y)
    params = {**HYPERPARAMETERS, "seed": int(seed), "base_score": base_rate}
    dtrain = dmatrix(feature_matrix(train, PROPENSITY_FEATURES), PROPENSITY_FEATURES, y)
    booster = xgb.train(params, dtrain, num_boost_round=NUM_BOOST_ROUND)
    bias = booster.predict(dtrain.slice([0]), pred_contribs=True)[0, -1]
    logger.info(
        "propensity model trained on %d customers as of %s (base rate %.4f)",
        len(y),
        as_of,
        base_rate,
    )
    return PropensityModel(
        booster_json=bytes(booster.save_raw("json")),
        feature_names=PROPENSITY_FEATURES,
        seed=int(seed),
        base_rate=base_rate,
        as_of_date=as_of,
        n_train=len(y),
        n_positive=int(y.sum()),
        num_boost_round=NUM_BOOST_ROUND,
        shap_base_margin=float(bias),
        xgboost_version=xgb.__version__,
        params=params,
    )


def _predict(
    model: PropensityModel, features: pa.Table, chunk_size: int, *, output_margin: bool
) -> np.ndarray:
    """The booster's output per row, chunk by chunk, in row order (float64)."""
    parts = [
        model.booster.predict(
            dmatrix(feature_matrix(chunk, model.feature_names), model.feature_names),
            output_margin=output_margin,
        )
        for chunk in chunks(features, chunk_size)
    ]
    if not parts:
        return np.empty(0, dtype=np.float64)
    return np.concatenate(parts).astype(np.float64)


def predict_proba(
    model: PropensityModel, features: pa.Table, *, chunk_size: int = DEFAULT_CHUNK_ROWS
) -> np.ndarray:
    """Probability of buying in the next 30 days, one float64 per row, in row order.

    Only the model's feature columns are read; ``label`` and any other column are ignored.
    """
    return _predict(model, features, chunk_size, output_margin=False)


def predict_margin(
    model: PropensityModel, features: pa.Table, *, chunk_size: int = DEFAULT_CHUNK_ROWS
) -> np.ndarray:
    """The model's log-odds per row (what the SHAP contributions add up to)."""
    return _predict(model, features, chunk_size, output_margin=True)


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
