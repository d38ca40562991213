"""The propensity steps as the dbt Python models run them: one call each, fallbacks included.

``ml.propensity_model`` (train), ``propensity_evaluation``, ``customer_propensity`` (apply) and
``propensity_feature_importance``, all from ``int_customer_propensity_snapshots``. Too little
data gives the documented empty outputs with the reason (a WARN in the build log), never a crash.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import as_table
from amazing_analytics.ml.guards import InsufficientDataError
from amazing_analytics.ml.propensity.evaluation import evaluate_propensity, not_evaluated
from amazing_analytics.ml.propensity.explanation import feature_importance
from amazing_analytics.ml.propensity.model import (
    model_from_table,
    model_to_table,
    train_propensity,
    untrained_model_table,
)
from amazing_analytics.ml.propensity.scoring import empty_scores, score_customers

logger = logging.getLogger(__name__)

IMPORTANCE_SCHEMA = pa.schema(
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


def _snapshot(snapshots: pa.Table, name: str) -> pa.Table:
    snapshots = as_table(snapshots)
    return snapshots.filter(pc.equal(snapshots["snapshot"], name))


def build_model_table(snapshots: pa.Table, seed: int) -> pa.Table:
    """propensity_model (train step): trained on 'final_train', or 'not_trained' with the reason."""
    try:
        return model_to_table(train_propensity(_snapshot(snapshots, "final_train"), seed=seed))
    except InsufficientDataError as error:
        logger.warning("propensity model not trained: %s", error)
        return untrained_model_table(str(error))


def build_evaluation(snapshots: pa.Table, seed: int, horizon_days: int) -> pa.Table:
    """propensity_evaluation: train on 'evaluation_train', test on the later 'final_train'."""
    try:
        model = train_propensity(_snapshot(snapshots, "evaluation_train"), seed=seed)
        return evaluate_propensity(
            model, _snapshot(snapshots, "final_train"), min_gap_days=horizon_days
        )
    except InsufficientDataError as error:
        logger.warning("propensity model not evaluated: %s", error)
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


def build_feature_importance(model_table: pa.Table, snapshots: pa.Table) -> pa.Table:
    """propensity_feature_importance: gain and mean |SHAP| on the 'score' snapshot (on an evenly
    spaced, deterministic sample of IMPORTANCE_SAMPLE_ROWS customers by user_id when larger);
    empty without a model."""
    model = model_from_table(model_table)
    if model is None:
        return IMPORTANCE_SCHEMA.empty_table()
    scored = _snapshot(snapshots, "score").sort_by("user_id")
    if scored.num_rows > IMPORTANCE_SAMPLE_ROWS:
        rows = np.linspace(0, scored.num_rows - 1, IMPORTANCE_SAMPLE_ROWS).round().astype(np.int64)
        scored = scored.take(pa.array(rows))
    return feature_importance(model, scored)
