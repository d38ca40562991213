"""Purchase propensity: who is likely to buy in the next 30 days, and why.

Plain, typed functions; the dbt Python models are thin wrappers that read snapshot tables with
``dbt.ref(...).arrow()``, call one ``build_*`` function and return a pyarrow Table. Arrow in,
Arrow out; numpy inside. One module per job:

- :mod:`.features` - the feature names, their plain-words labels, Arrow -> numpy;
- :mod:`.guards` - too little data, label leakage, one snapshot per table;
- :mod:`.model` - XGBoost training, prediction, the model stored as a one-row table;
- :mod:`.evaluation` - AUC, top-decile precision and lift, Brier, log loss, calibration;
- :mod:`.explanation` - TreeSHAP reasons in plain words and the feature importance;
- :mod:`.scoring` - probability, decile, rank and reasons per customer;
- :mod:`.build` - the steps the dbt models call, with their fallbacks.

Input tables are customer snapshots (one row per customer and ``as_of_date``) with the columns
``snapshot``, ``as_of_date``, ``user_id``, the features in :data:`PROPENSITY_FEATURES` and ``label``
(bought in the 30 days after ``as_of_date``; null in the ``score`` snapshot). Features are computed
from events at or before ``as_of_date`` only; the package never uses ``label`` as a feature.
"""

from amazing_analytics.ml.guards import InsufficientDataError
from amazing_analytics.ml.propensity.build import (
    IMPORTANCE_SAMPLE_ROWS,
    build_evaluation,
    build_feature_importance,
    build_model_table,
    build_scores,
)
from amazing_analytics.ml.propensity.evaluation import (
    evaluate_propensity,
    evaluate_scores,
    not_evaluated,
)
from amazing_analytics.ml.propensity.explanation import (
    REASON_DIRECTIONS,
    explain,
    feature_importance,
    reason_text,
)
from amazing_analytics.ml.propensity.features import FEATURE_LABELS, PROPENSITY_FEATURES
from amazing_analytics.ml.propensity.guards import (
    LABEL_HORIZON_DAYS,
    MIN_TRAIN_PER_CLASS,
    MIN_TRAIN_ROWS,
    assert_no_leakage,
)
from amazing_analytics.ml.propensity.model import (
    HYPERPARAMETERS,
    MODEL_TABLE_SCHEMA,
    PropensityModel,
    model_from_table,
    model_to_table,
    predict_margin,
    predict_proba,
    train_propensity,
    untrained_model_table,
)
from amazing_analytics.ml.propensity.scoring import empty_scores, score_customers

__all__ = [
    "FEATURE_LABELS",
    "HYPERPARAMETERS",
    "IMPORTANCE_SAMPLE_ROWS",
    "LABEL_HORIZON_DAYS",
    "MIN_TRAIN_PER_CLASS",
    "MIN_TRAIN_ROWS",
    "MODEL_TABLE_SCHEMA",
    "PROPENSITY_FEATURES",
    "REASON_DIRECTIONS",
    "InsufficientDataError",
    "PropensityModel",
    "assert_no_leakage",
    "build_evaluation",
    "build_feature_importance",
    "build_model_table",
    "build_scores",
    "empty_scores",
    "evaluate_propensity",
    "evaluate_scores",
    "explain",
    "feature_importance",
    "model_from_table",
    "model_to_table",
    "not_evaluated",
    "predict_margin",
    "predict_proba",
    "reason_text",
    "score_customers",
    "train_propensity",
    "untrained_model_table",
]
