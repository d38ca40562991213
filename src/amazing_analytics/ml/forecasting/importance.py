"""What drives the tree forecasters: XGBoost gain and mean |SHAP|, Random Forest impurity.

Fitted at the last date (the forecast fit), XGBoost with the parameters tuned inside that
training window. Empty (with a WARNING in the dbt step) when no series is long enough.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from threadpoolctl import threadpool_limits

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.forecasting.estimators import NTHREAD, fit_tree, tune_xgboost
from amazing_analytics.ml.forecasting.features import FEATURES
from amazing_analytics.ml.forecasting.panel import (
    MEASURES,
    EmptyInputError,
    build_panel,
    check_measure,
)

_LOG = logging.getLogger(__name__)
IMPORTANCE_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("measure", pa.string()),
        ("feature", pa.string()),
        ("importance", pa.float64()),
        ("importance_type", pa.string()),
        ("mean_abs_shap", pa.float64()),
        ("rank", pa.int64()),
    ]
)


def _xgboost_importance(fit: Any, seed: int, shap_rows: int) -> tuple[np.ndarray, list]:
    import xgboost as xgb

    gain = fit.trained.get_score(importance_type="total_gain")
    importance = np.array([gain.get(f, 0.0) for f in FEATURES])
    X = fit.features.train_X
    if X.shape[0] > shap_rows:
        pick = np.random.default_rng(seed).choice(X.shape[0], shap_rows, replace=False)
        X = X[np.sort(pick)]
    contribs = fit.trained.predict(
        xgb.DMatrix(X, feature_names=list(FEATURES), nthread=NTHREAD), pred_contribs=True
    )
    return importance, np.abs(contribs[:, :-1]).mean(axis=0).tolist()


@threadpool_limits.wrap(limits=NTHREAD)  # BLAS: see estimators.NTHREAD
def feature_importance(
    daily: ArrowData,
    measure: str,
    horizon: int = 28,
    seed: int = 42,
    shap_rows: int = 2000,
    holiday_dates: Sequence[dt.date] | None = None,
    models: Sequence[str] = ("xgboost",),
) -> pa.Table:
    """Columns of :data:`IMPORTANCE_SCHEMA`; ``rank`` 1 = most important per model."""
    check_measure(measure)
    panel = build_panel(daily, extra_days=horizon, holiday_dates=holiday_dates)
    rows: list[dict[str, Any]] = []
    for model in (m for m in ("xgboost", "random_forest") if m in models):
        params = (
            tune_xgboost(panel, measure, panel.last, horizon, seed)[0]
            if model == "xgboost"
            else None
        )
        fit = fit_tree(panel, measure, model, panel.last, horizon, seed, params)
        if fit.trained is None or fit.features is None:
            continue
        if model == "xgboost":
            importance, shap = _xgboost_importance(fit, seed, shap_rows)
            kind = "gain"
        else:
            importance = np.asarray(fit.trained.feature_importances_, dtype=np.float64)
            shap, kind = [None] * len(FEATURES), "impurity"
        ranks = np.empty(len(FEATURES), dtype=np.int64)
        ranks[np.lexsort((np.arange(len(FEATURES)), -importance))] = np.arange(1, len(FEATURES) + 1)
        rows.extend(
            {
                "model": model,
                "measure": measure,
                "feature": f,
                "importance": float(importance[i]),
                "importance_type": kind,
                "mean_abs_shap": shap[i],
                "rank": int(ranks[i]),
            }
            for i, f in enumerate(FEATURES)
        )
    return pa.Table.from_pylist(rows, schema=IMPORTANCE_SCHEMA)


def build_feature_importance(
    daily: ArrowData,
    horizon: int,
    seed: int,
    holidays: ArrowData | None = None,
    models: Sequence[str] | None = ("xgboost",),
) -> pa.Table:
    """forecast_feature_importance, both measures; empty with a WARNING without data."""
    days = None
    if holidays is not None:
        days = [d for d in as_table(holidays).column("holiday_date").to_pylist() if d is not None]
    try:
        parts = [
            feature_importance(daily, m, horizon, seed, holiday_dates=days, models=models)
            for m in MEASURES
        ]
    except EmptyInputError as error:
        _LOG.warning("forecast_feature_importance: %s; the table is left empty.", error)
        return IMPORTANCE_SCHEMA.empty_table()
    return pa.concat_tables(parts)
