"""The candidate forecasters, each fitted at one origin for every series of a panel.

* Baselines: ``seasonal_naive`` (the last observed week repeated), ``moving_average`` (the mean
  of the last 28 days).
* Statistical, per series, from statsforecast with weekly seasonality: ``auto_ets``,
  ``auto_arima``, ``auto_theta`` and ``mstl`` (weekly and monthly seasons, for series with at
  least :data:`MIN_HISTORY_DAYS` ``['mstl']`` days). Each is fitted on the series divided by its
  mean level. In a backtest the parameters are re-estimated every ``refit_days`` days of origin
  and in between the fitted model is run forward over the newer data (statsforecast
  ``forward``: the state is updated, the parameters kept), which is how they afford weekly
  origins; the final forecast always re-estimates.
* ``xgboost`` (global across series, see :mod:`.features`; tuned by time-series
  cross-validation inside the training window) and ``random_forest`` (bounded benchmark).
* ``prophet`` per series (available, not a default candidate: see docs/forecasting.md).

A model is *skipped* for a series with less history than it needs, with the reason; a failure
for one series is status ``failed`` with the error and never stops the others.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from amazing_analytics.ml.forecasting.features import (
    FEATURES,
    TREE_MIN_HISTORY_DAYS,
    FeatureSet,
    features_at,
)
from amazing_analytics.ml.forecasting.panel import Panel, recent_scale

BASELINE_MODELS: tuple[str, ...] = ("seasonal_naive", "moving_average")
STAT_MODELS: tuple[str, ...] = ("auto_ets", "auto_theta", "auto_arima", "mstl")
TREE_MODELS: tuple[str, ...] = ("xgboost", "random_forest")
#: Days of history (series' first day up to the origin, inclusive) each model needs.
MIN_HISTORY_DAYS: dict[str, int] = {
    "seasonal_naive": 7,
    "moving_average": 1,
    "auto_ets": 28,
    "auto_theta": 28,
    "auto_arima": 28,
    "mstl": 91,
    "xgboost": TREE_MIN_HISTORY_DAYS,
    "random_forest": TREE_MIN_HISTORY_DAYS,
    "prophet": 28,
}
MOVING_AVERAGE_DAYS = 28
SEASON_DAYS = 7
MSTL_SEASONS: tuple[int, ...] = (7, 30)
#: One thread for XGBoost, Random Forest and BLAS: on a shared 2-core machine a second thread
#: spin-waits for the busy core (4-17x the CPU and wall time of one thread at load 7 for a
#: 40,000-row fit: docs/benchmarks.md), and one thread gives the same model on every run.
NTHREAD = 1
MAX_TRAIN_ROWS = 40_000
#: The XGBoost grid searched by time-series cross-validation inside the training window.
XGB_GRID: tuple[dict[str, Any], ...] = (
    {"max_depth": 3, "eta": 0.15, "rounds": 120, "min_child_weight": 10.0},
    {"max_depth": 5, "eta": 0.1, "rounds": 120, "min_child_weight": 5.0},
    {"max_depth": 7, "eta": 0.1, "rounds": 100, "min_child_weight": 3.0},
)
XGB_BASE: dict[str, Any] = {
    "objective": "reg:squarederror",
    "tree_method": "hist",
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1.0,
    "max_bin": 64,
    "nthread": NTHREAD,
}
RF_PARAMS: dict[str, Any] = {
    "n_estimators": 60,
    "max_depth": 12,
    "min_samples_leaf": 5,
    "max_features": 0.5,
    "n_jobs": NTHREAD,
}
RF_MAX_SAMPLES = 20_000
PROPHET_UNCERTAINTY_SAMPLES = 100

_LOG = logging.getLogger(__name__)


@dataclass
class Fit:
    """One model fitted at one origin: predictions per series, NaN where it did not run."""

    model: str
    origin: int
    yhat: np.ndarray  # (n_series, horizon), >= 0
    status: list[str]
    reason: list[str | None]
    trained: Any = None  # the fitted model (tree models), for feature importance
    features: FeatureSet | None = None
    info: dict[int, str] = field(default_factory=dict)  # per series: fitted model description


def too_short(panel: Panel, model: str, origin: int) -> tuple[np.ndarray, list[str | None]]:
    """Which series have the history ``model`` needs at ``origin``, and the reason for the rest."""
    history = origin - panel.start + 1
    need = MIN_HISTORY_DAYS[model]
    ok = history >= need
    reasons = [
        None
        if good
        else f"too short: {max(int(days), 0)} day(s) of history at the origin, {model} needs {need}"
        for good, days in zip(ok, history, strict=True)
    ]
    return ok, reasons


def _empty_fit(panel: Panel, model: str, origin: int, horizon: int) -> Fit:
    ok, reasons = too_short(panel, model, origin)
    yhat = np.full((len(panel.series_ids), horizon), np.nan)
    return Fit(model, origin, yhat, ["ok" if g else "skipped" for g in ok], reasons)


def fit_naive(panel: Panel, measure: str, model: str, origin: int, horizon: int) -> Fit:
    fit = _empty_fit(panel, model, origin, horizon)
    values = panel.values[measure]
    hs = np.arange(1, horizon + 1)
    for s in (i for i, st in enumerate(fit.status) if st == "ok"):
        if model == "seasonal_naive":
            fit.yhat[s] = values[s, origin - SEASON_DAYS + (hs - 1) % SEASON_DAYS + 1]
        else:
            first = max(int(panel.start[s]), origin - MOVING_AVERAGE_DAYS + 1)
            fit.yhat[s] = values[s, first : origin + 1].mean()
    return fit


# --------------------------------------------------------------------------------------------
# Statistical models (statsforecast)
# --------------------------------------------------------------------------------------------


def _statsforecast_models() -> dict[str, Callable[[], Any]]:
    os.environ.setdefault("NIXTLA_NUMBA_CACHE", "1")  # compile once, reuse across processes
    from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta

    return {
        "auto_ets": lambda: AutoETS(season_length=SEASON_DAYS),
        "auto_theta": lambda: AutoTheta(season_length=SEASON_DAYS),
        "auto_arima": lambda: AutoARIMA(
            season_length=SEASON_DAYS,
            max_p=2,
            max_q=2,
            max_P=1,
            max_Q=1,
            max_order=4,
            # CSS estimation was 3-4x faster but gave 2.3x the noise floor on the demo whole shop
        ),
        "mstl": lambda: MSTL(
            season_length=list(MSTL_SEASONS), trend_forecaster=AutoETS(model="ZZN")
        ),
    }


def describe_statistical(model: str, fitted: Any) -> str:
    """A short description of a fitted statsforecast model (e.g. the ETS components)."""
    state = getattr(fitted, "model_", None)
    if isinstance(state, Mapping):
        if "method" in state:
            return str(state["method"])
        if "components" in state:
            return "ETS(" + ",".join(str(c) for c in state["components"][:3]) + ")"
    return model


def fit_statistical_series(model: str, y: np.ndarray, horizon: int) -> tuple[np.ndarray, Any]:
    """Fit one statsforecast model on ``y`` (already scaled) and forecast ``horizon`` days."""
    fitted = _statsforecast_models()[model]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = fitted.fit(y=np.asarray(y, dtype=np.float64))
        mean = fitted.predict(h=horizon)["mean"]
    return np.asarray(mean, dtype=np.float64), fitted


class StatisticalFitter:
    """Per-series statsforecast fits of one model and measure, re-estimated every ``refit_days``
    days of origin and run forward in between. Call :meth:`fit` with ascending origins."""

    def __init__(self, panel: Panel, measure: str, model: str, refit_days: int) -> None:
        self.panel, self.measure, self.model, self.refit_days = panel, measure, model, refit_days
        self._state: dict[int, tuple[Any, int, float]] = {}  # series -> (fitted, origin, scale)

    def fit(self, origin: int, horizon: int) -> Fit:
        fit = _empty_fit(self.panel, self.model, origin, horizon)
        values = self.panel.values[self.measure]
        for s in (i for i, st in enumerate(fit.status) if st == "ok"):
            y = values[s, int(self.panel.start[s]) : origin + 1]
            try:
                fit.yhat[s], fit.info[s] = self._series(s, y, origin, horizon)
                if not np.isfinite(fit.yhat[s]).all():
                    raise ValueError("non-finite forecasts")
            except Exception as error:  # one failing series must not stop the others
                fit.yhat[s] = np.nan
                fit.status[s] = "failed"
                fit.reason[s] = f"{self.model} failed: {type(error).__name__}: {str(error)[:200]}"
                self._state.pop(s, None)
        fit.yhat = np.maximum(fit.yhat, 0.0)
        return fit

    def _series(self, s: int, y: np.ndarray, origin: int, horizon: int) -> tuple[np.ndarray, str]:
        state = self._state.get(s)
        if state is None or origin < state[1] or origin - state[1] >= self.refit_days:
            scale = float(np.mean(y)) if np.mean(y) > 0 else 1.0
            mean, fitted = fit_statistical_series(self.model, y / scale, horizon)
            self._state[s] = (fitted, origin, scale)
            return mean * scale, describe_statistical(self.model, fitted)
        fitted, _, scale = state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mean = fitted.forward(y=np.asarray(y / scale, dtype=np.float64), h=horizon)["mean"]
        return np.asarray(mean, dtype=np.float64) * scale, describe_statistical(self.model, fitted)


# --------------------------------------------------------------------------------------------
# Tree models (global)
# --------------------------------------------------------------------------------------------


def _subsample(fs: FeatureSet, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = fs.train_X, fs.train_y
    if X.shape[0] > MAX_TRAIN_ROWS:
        pick = np.sort(np.random.default_rng(seed).choice(X.shape[0], MAX_TRAIN_ROWS, False))
        X, y = X[pick], y[pick]
    return X, y


def _train_xgboost(X: np.ndarray, y: np.ndarray, params: Mapping[str, Any], seed: int) -> Any:
    import xgboost as xgb

    config = {**XGB_BASE, **{k: v for k, v in params.items() if k != "rounds"}, "seed": seed}
    dtrain = xgb.DMatrix(X, label=y, feature_names=list(FEATURES), nthread=NTHREAD)
    return xgb.train(config, dtrain, num_boost_round=int(params["rounds"]))


def _predict_xgboost(trained: Any, X: np.ndarray) -> np.ndarray:
    import xgboost as xgb

    return trained.predict(xgb.DMatrix(X, feature_names=list(FEATURES), nthread=NTHREAD))


def tune_xgboost(
    panel: Panel, measure: str, origin: int, horizon: int, seed: int, folds: int = 1
) -> tuple[dict[str, Any], list[float]]:
    """The :data:`XGB_GRID` entry with the lowest scaled MAE over ``folds`` inner origins
    (``origin - horizon``, then a week earlier each), all inside the training window: the
    validation days are at or before ``origin``. Returns (params, MAE per grid entry);
    the middle entry when no fold has enough history."""
    scores = np.zeros(len(XGB_GRID))
    used = 0
    for k in range(folds):
        inner = origin - horizon - 7 * k
        ok = inner - panel.start + 1 >= TREE_MIN_HISTORY_DAYS
        if inner < 0 or not ok.any():
            continue
        fs = features_at(panel, measure, inner, horizon, ok, True, MAX_TRAIN_ROWS, seed)
        if fs.train_X.shape[0] == 0:
            continue
        X, y = _subsample(fs, seed)
        actual = np.nan_to_num(panel.values[measure])[fs.future_series, inner + fs.future_horizon]
        target = actual / fs.y_scale[fs.future_series]
        for g, params in enumerate(XGB_GRID):
            pred = _predict_xgboost(_train_xgboost(X, y, params, seed), fs.future_X)
            scores[g] += float(np.mean(np.abs(np.maximum(pred, 0.0) - target)))
        used += 1
    if not used:
        return dict(XGB_GRID[len(XGB_GRID) // 2]), [float("nan")] * len(XGB_GRID)
    return dict(XGB_GRID[int(np.argmin(scores))]), (scores / used).tolist()


def fit_tree(
    panel: Panel,
    measure: str,
    model: str,
    origin: int,
    horizon: int,
    seed: int,
    params: Mapping[str, Any] | None = None,
    trained: Any = None,
) -> Fit:
    """One global tree model at ``origin`` (XGBoost with ``params``, a :data:`XGB_GRID` entry).
    With ``trained`` (a model fitted at an earlier origin) it only predicts, from features at
    ``origin``: the tree-model analogue of running a statistical model forward."""
    fit = _empty_fit(panel, model, origin, horizon)
    ok = np.array([st == "ok" for st in fit.status])
    if not ok.any():
        return fit
    fs = features_at(panel, measure, origin, horizon, ok, trained is None, MAX_TRAIN_ROWS, seed)
    if trained is not None:
        pred = (
            _predict_xgboost(trained, fs.future_X)
            if model == "xgboost"
            else trained.predict(fs.future_X)
        )
    elif model == "xgboost":
        X, y = _subsample(fs, seed)
        trained = _train_xgboost(X, y, params or XGB_GRID[len(XGB_GRID) // 2], seed)
        pred = _predict_xgboost(trained, fs.future_X)
    else:
        from sklearn.ensemble import RandomForestRegressor

        X, y = _subsample(fs, seed)
        fraction = min(1.0, RF_MAX_SAMPLES / max(X.shape[0], 1))
        trained = RandomForestRegressor(
            **RF_PARAMS, max_samples=fraction if fraction < 1.0 else None, random_state=seed
        )
        trained.fit(X, y)
        trained.set_params(n_jobs=1)  # threaded prediction sums trees in a racy order
        pred = trained.predict(fs.future_X)
    pred = np.asarray(pred, dtype=np.float64) * fs.y_scale[fs.future_series]
    fit.yhat[fs.future_series, fs.future_horizon - 1] = np.maximum(pred, 0.0)
    fit.trained, fit.features = trained, fs
    return fit


# --------------------------------------------------------------------------------------------
# Prophet (per series; optional candidate)
# --------------------------------------------------------------------------------------------


#: Serialises Prophet's first import between threads: it is not in dbt_io.MODEL_PACKAGES.
_PROPHET_IMPORT = threading.Lock()


def _quiet_prophet() -> None:
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).disabled = True


def fit_prophet(panel: Panel, measure: str, origin: int, horizon: int, seed: int) -> Fit:
    fit = _empty_fit(panel, "prophet", origin, horizon)
    if "ok" not in fit.status:
        return fit
    _quiet_prophet()
    import pandas as pd

    with _PROPHET_IMPORT:  # two forecasting models may reach here at once (dbt --threads 2)
        from prophet import Prophet

    _quiet_prophet()
    holidays = None
    if panel.holidays:
        holidays = pd.DataFrame({"holiday": "holiday", "ds": pd.to_datetime(list(panel.holidays))})
    dates = pd.to_datetime([panel.date(d) for d in range(origin + horizon + 1)])
    values = panel.values[measure]
    for s in (i for i, st in enumerate(fit.status) if st == "ok"):
        first = int(panel.start[s])
        frame = pd.DataFrame({"ds": dates[first : origin + 1], "y": values[s, first : origin + 1]})
        try:
            prophet = Prophet(
                weekly_seasonality=True,
                yearly_seasonality=False,
                daily_seasonality=False,
                holidays=holidays,
                uncertainty_samples=0,
            )
            prophet.fit(frame, seed=seed)
            out = prophet.predict(pd.DataFrame({"ds": dates[origin + 1 :]}))
            fit.yhat[s] = np.maximum(out["yhat"].to_numpy(dtype=np.float64), 0.0)
            if not np.isfinite(fit.yhat[s]).all():
                raise ValueError("Prophet returned non-finite forecasts")
        except Exception as error:  # one failing series must not stop the others
            fit.yhat[s] = np.nan
            fit.status[s] = "failed"
            fit.reason[s] = f"prophet failed: {type(error).__name__}: {str(error)[:200]}"
    return fit


#: Days of the level the conformal errors are relative to (the recent level, not since start).
SCALE_DAYS = 28


def scale_at(panel: Panel, measure: str, origin: int) -> np.ndarray:
    """Each series' mean level over the :data:`SCALE_DAYS` days up to ``origin`` (1 when 0),
    the unit of the conformal errors and of the combinations' member ranking."""
    return recent_scale(panel.values[measure], origin, SCALE_DAYS)
