"""Daily sales forecasting: statistical candidates, a global XGBoost, combinations, evidence-
based selection, conformal intervals and a reconciled hierarchy. One module per job:

* :mod:`.panel`: the input as (series x day) arrays, validation, the calendar (holidays);
* :mod:`.features`: the global tree models' features, relative to the origin;
* :mod:`.estimators`: the candidates (baselines, statsforecast, XGBoost, Random Forest, Prophet);
* :mod:`.intervals`: conformal 80 % / 95 % intervals pooled by horizon band;
* :mod:`.backtest`: the weekly rolling-origin backtest, combinations included;
* :mod:`.selection`: combinations and the choice of one model per series, as evidence;
* :mod:`.evaluation`: metrics per model, series and measure;
* :mod:`.reconciliation`: the coherent hierarchy, OLS and MinT (shrink);
* :mod:`.importance`: XGBoost gain and SHAP;
* :mod:`.build`: the dbt steps and the package-level ``backtest``/``forecast``.
"""

from amazing_analytics.ml.forecasting.backtest import (
    BACKTEST_SCHEMA,
    BASE_MODELS,
    DEFAULT_MODELS,
    MODELS,
)
from amazing_analytics.ml.forecasting.build import (
    FORECAST_SCHEMA,
    backtest,
    build_backtest,
    build_evaluation,
    build_forecast,
    forecast,
)
from amazing_analytics.ml.forecasting.estimators import MIN_HISTORY_DAYS
from amazing_analytics.ml.forecasting.evaluation import EVALUATION_SCHEMA, METRICS, evaluate
from amazing_analytics.ml.forecasting.features import FEATURES, make_features
from amazing_analytics.ml.forecasting.importance import (
    build_feature_importance,
    feature_importance,
)
from amazing_analytics.ml.forecasting.panel import MEASURES, REQUIRED_COLUMNS

__all__ = [
    "BACKTEST_SCHEMA",
    "BASE_MODELS",
    "DEFAULT_MODELS",
    "EVALUATION_SCHEMA",
    "FEATURES",
    "FORECAST_SCHEMA",
    "MEASURES",
    "METRICS",
    "MIN_HISTORY_DAYS",
    "MODELS",
    "REQUIRED_COLUMNS",
    "backtest",
    "build_backtest",
    "build_evaluation",
    "build_feature_importance",
    "build_forecast",
    "evaluate",
    "feature_importance",
    "forecast",
    "make_features",
]
