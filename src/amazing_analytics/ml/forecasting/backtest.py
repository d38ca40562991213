"""Rolling-origin backtest of every candidate, combinations and conformal intervals included.

Origins: ``origins`` of them, ``step`` days apart (weekly by default), the last one ``horizon``
days before the last date; every fit uses only data up to its origin. Origins are run in
ascending order: the combinations' members, the reconciled candidates' base models and error
covariance, and the conformal intervals at an origin use only the errors known there (see
:mod:`.selection`, :mod:`.reconciliation` and :mod:`.intervals`). The reconciled candidates
(:data:`~.selection.RECONCILED`) are MinT forecasts of the hierarchy at every origin, so
the selection can serve a coherent forecast when the backtest says it is better.

The backtest table (:data:`BACKTEST_SCHEMA`) has one row per (model, series, origin, forecast
day): the actual, the forecast, the 80 % and 95 % bounds (null while a model has no past error
to calibrate on), the series' level at the origin (the unit of the conformal errors), the
in-sample seasonal-naive MAE (the MASE scale), and the status and reason (``skipped`` rows keep
the reason and no forecast).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from threadpoolctl import threadpool_limits

from amazing_analytics.ml.forecasting.estimators import (
    BASELINE_MODELS,
    NTHREAD,
    STAT_MODELS,
    TREE_MODELS,
    Fit,
    StatisticalFitter,
    fit_naive,
    fit_prophet,
    fit_tree,
    scale_at,
    tune_xgboost,
)
from amazing_analytics.ml.forecasting.intervals import LEVELS, ErrorBank, nest_intervals
from amazing_analytics.ml.forecasting.panel import Panel
from amazing_analytics.ml.forecasting.reconciliation import build_hierarchy, reconcile_mint
from amazing_analytics.ml.forecasting.selection import (
    COMBINATIONS,
    COMPLEXITY_ORDER,
    RECONCILED,
    STATISTICAL,
    choose_members,
    combine,
)

#: The candidates fitted by default, as var forecast_models (AutoARIMA, MSTL, Random Forest and
#: Prophet are available on request: docs/forecasting.md gives the evidence they do not pay).
DEFAULT_MODELS: tuple[str, ...] = BASELINE_MODELS + ("auto_ets", "auto_theta", "xgboost")
BASE_MODELS: tuple[str, ...] = BASELINE_MODELS + STAT_MODELS + TREE_MODELS + ("prophet",)
#: Every model name the tables may hold.
MODELS: tuple[str, ...] = BASE_MODELS + COMBINATIONS + RECONCILED
#: Statistical models are re-estimated every this many origins (run forward in between).
REFIT_EVERY_ORIGINS = 8
#: Origins before the evaluated ones, for calibration only (intervals, combination members).
CALIBRATION_ORIGINS = 8

BACKTEST_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("series_id", pa.string()),
        ("series_level", pa.string()),
        ("measure", pa.string()),
        ("origin_date", pa.date32()),
        ("forecast_date", pa.date32()),
        ("horizon", pa.int32()),
        ("actual", pa.float64()),
        ("yhat", pa.float64()),
        ("yhat_lower", pa.float64()),
        ("yhat_upper", pa.float64()),
        ("yhat_lower_95", pa.float64()),
        ("yhat_upper_95", pa.float64()),
        ("level_scale", pa.float64()),
        ("naive_scale", pa.float64()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("is_calibration", pa.bool_()),
    ]
)


def check_models(models: Sequence[str]) -> tuple[str, ...]:
    unknown = [m for m in models if m not in BASE_MODELS]
    if unknown:
        raise ValueError(
            f"Unknown model(s) {', '.join(unknown)}; choose from {', '.join(BASE_MODELS)}."
        )
    return tuple(models)


def backtest_origins(panel: Panel, horizon: int, origins: int, step: int) -> list[int]:
    """Ascending origin indexes; those before the data start are dropped."""
    if horizon < 1 or origins < 1 or step < 1:
        raise ValueError("horizon, origins and step must be at least 1.")
    found = [panel.last - horizon - step * k for k in range(origins - 1, -1, -1)]
    return [o for o in found if o >= 0]


def naive_scale(values: np.ndarray, start: int, origin: int) -> float:
    """In-sample MAE of the lag-7 seasonal naive over the series' days up to the origin."""
    window = values[start : origin + 1]
    if window.size <= 7:
        return math.nan
    return float(np.mean(np.abs(window[7:] - window[:-7])))


class Runner:
    """Fits every model of one measure at ascending origins, with combinations and intervals."""

    def __init__(
        self,
        panel: Panel,
        measure: str,
        horizon: int,
        seed: int,
        models: Sequence[str],
        refit_days: int,
        xgb_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.panel, self.measure, self.horizon, self.seed = panel, measure, horizon, seed
        self.models = check_models(models)
        self.stat = {m: StatisticalFitter(panel, measure, m, refit_days) for m in STAT_MODELS}
        self.xgb_params = dict(xgb_params) if xgb_params else None
        self.banks = {m: ErrorBank(horizon) for m in self.output_models}
        self.fits: dict[tuple[str, int], Fit] = {}
        self.refit_days = refit_days
        self._trees: dict[str, tuple[Any, int]] = {}  # model -> (trained, fit origin)
        self.seconds: dict[str, float] = {}  # CPU seconds per model / step (process time)

    @property
    def output_models(self) -> tuple[str, ...]:
        return self.models + COMBINATIONS + RECONCILED

    def tune(self, origin: int) -> dict[str, Any]:
        """XGBoost's parameters, tuned once inside the training window of the first origin where
        that is possible (see tune_xgboost) and kept; until then the grid's middle entry."""
        if self.xgb_params is None:
            start = time.process_time()
            params, scores = tune_xgboost(self.panel, self.measure, origin, self.horizon, self.seed)
            self._clock("xgboost_tuning", start)
            if not all(math.isnan(v) for v in scores):
                self.xgb_params = params
            return params
        return self.xgb_params

    def _clock(self, step: str, start: float) -> None:
        self.seconds[step] = self.seconds.get(step, 0.0) + time.process_time() - start

    def base_fit(self, model: str, origin: int) -> Fit:
        start = time.process_time()
        fit = self._base_fit(model, origin)
        self._clock(model, start)
        return fit

    def _base_fit(self, model: str, origin: int) -> Fit:
        p, m, h = self.panel, self.measure, self.horizon
        if model in STAT_MODELS:
            return self.stat[model].fit(origin, h)
        if model in TREE_MODELS:
            params = self.tune(origin) if model == "xgboost" else None
            before = self._trees.get(model)
            if before is not None and 0 <= origin - before[1] < self.refit_days:
                return fit_tree(p, m, model, origin, h, self.seed, params, trained=before[0])
            fit = fit_tree(p, m, model, origin, h, self.seed, params)
            if fit.trained is not None:
                self._trees[model] = (fit.trained, origin)
            return fit
        if model == "prophet":
            return fit_prophet(p, m, origin, h, self.seed)
        return fit_naive(p, m, model, origin, h)

    def _combinations(self, origin: int, fits: dict[str, Fit]) -> dict[str, Fit]:
        n_series = len(self.panel.series_ids)
        scores = {m: self.banks[m].series_mae(origin) for m in fits}
        out = {
            c: Fit(
                c,
                origin,
                np.full((n_series, self.horizon), np.nan),
                ["skipped"] * n_series,
                ["no candidate ran for this series"] * n_series,
            )
            for c in COMBINATIONS
        }
        for s in range(n_series):
            ran = [m for m in fits if fits[m].status[s] == "ok"]
            if not ran:
                continue
            by_model = {m: float(scores[m][s]) if scores[m].size else math.nan for m in ran}
            members = choose_members(by_model, ran)
            stack = np.vstack([fits[m].yhat[s] for m in members])
            for c in COMBINATIONS:
                out[c].yhat[s] = combine(stack, c)
                out[c].status[s], out[c].reason[s] = "ok", None
                out[c].info[s] = "+".join(members)
        return out

    def _reconciled(self, origin: int, fits: dict[str, Fit]) -> dict[str, Fit]:
        """MinT-reconciled candidates at ``origin`` (see :data:`RECONCILED`): the base forecast
        of each node is its best model by the errors known at the origin (``reconciled_best``)
        or its median combination (``reconciled_median``); the error covariance is that of the
        same base models' errors known at the origin (scaled errors times today's level)."""
        n_series, h = len(self.panel.series_ids), self.horizon
        values = self.panel.values[self.measure][:, : origin + 1]
        hierarchy = build_hierarchy({sid: values[s] for s, sid in enumerate(self.panel.series_ids)})
        why = "not in the coherent hierarchy (categories -> families -> all) at the origin"
        out = {
            r: Fit(
                r, origin, np.full((n_series, h), np.nan), ["skipped"] * n_series, [why] * n_series
            )
            for r in RECONCILED
        }
        if hierarchy is None:
            return out
        rows = [self.panel.series_ids.index(node) for node in hierarchy.nodes]
        scale = scale_at(self.panel, self.measure, origin)
        order = {m: i for i, m in enumerate(COMPLEXITY_ORDER)}
        scores = {m: self.banks[m].series_mae(origin) for m in fits}
        for name in RECONCILED:
            bases: list[str | None] = []
            for s in rows:
                ran = [m for m in fits if fits[m].status[s] == "ok"]
                if name == "reconciled_median" or not ran:
                    bases.append("combination_median" if "combination_median" in ran else None)
                    continue
                scored = [m for m in ran if scores[m].size and np.isfinite(scores[m][s])]
                if scored:
                    bases.append(min(scored, key=lambda m: (scores[m][s], order.get(m, 99))))
                else:
                    bases.append("combination_median" if "combination_median" in ran else ran[0])
            base = np.vstack(
                [fits[m].yhat[s] if m else np.zeros(h) for s, m in zip(rows, bases, strict=True)]
            )
            residuals = self._residuals(origin, rows, bases, scale)
            result = reconcile_mint(base, hierarchy, residuals)
            for i, (s, m) in enumerate(zip(rows, bases, strict=True)):
                if m is None:
                    out[name].reason[s] = "no base forecast for this series at the origin"
                    continue
                out[name].yhat[s] = result[i]
                out[name].status[s], out[name].reason[s] = "ok", None
                out[name].info[s] = f"MinT of {m}"
        return out

    def _residuals(
        self, origin: int, rows: Sequence[int], bases: Sequence[str | None], scale: np.ndarray
    ) -> np.ndarray | None:
        """(days x nodes) errors of the base models known at ``origin``, in today's units; a
        node without a base (not started yet) has zero errors. None when the banks disagree
        (e.g. a backtest run with other models)."""
        matrices = {m: self.banks[m].known_matrix(origin) for m in set(bases) if m}
        widths = {mat.shape[1] for mat in matrices.values()}
        if len(widths) != 1 or any(
            mat.shape[0] != len(self.panel.series_ids) for mat in matrices.values()
        ):
            return None
        width = widths.pop()
        known = [
            matrices[m][s] * scale[s] if m else np.zeros(width)
            for s, m in zip(rows, bases, strict=True)
        ]
        residuals = np.vstack(known).T
        return residuals[np.isfinite(residuals).all(axis=1)]

    def run_origin(self, origin: int) -> dict[str, tuple[Fit, dict[float, tuple]]]:
        """Every model's fit at ``origin`` and its intervals (from errors known there)."""
        fits = {m: self.base_fit(m, origin) for m in self.models}
        pool = {m: f for m, f in fits.items() if m in STATISTICAL or m in TREE_MODELS}
        start = time.process_time()
        fits.update(self._combinations(origin, pool))
        fits.update(self._reconciled(origin, fits))
        self._clock("combinations_and_reconciliation", start)
        start = time.process_time()
        scale = scale_at(self.panel, self.measure, origin)
        values = self.panel.values[self.measure]
        groups = np.array(self.panel.levels, dtype=object)
        out = {}
        for m, fit in fits.items():
            bounds = nest_intervals(
                {lv: self.banks[m].interval(origin, fit.yhat, scale, lv, groups) for lv in LEVELS}
            )
            end = min(origin + self.horizon, self.panel.last)
            actual = np.full(fit.yhat.shape, np.nan)
            actual[:, : end - origin] = values[:, origin + 1 : end + 1]
            self.banks[m].add(origin, actual, fit.yhat, scale)
            self.fits[(m, origin)] = fit
            out[m] = (fit, bounds)
        self._clock("intervals", start)
        return out

    def rows(
        self,
        origin: int,
        result: Mapping[str, tuple[Fit, dict[float, tuple]]],
        is_calibration: bool = False,
    ) -> pa.Table:
        """The backtest rows of one origin (every model, series and horizon day)."""
        panel, h = self.panel, self.horizon
        n = len(panel.series_ids)
        values = panel.values[self.measure]
        scale = scale_at(panel, self.measure, origin)
        naive = np.array([naive_scale(values[s], int(panel.start[s]), origin) for s in range(n)])
        days = np.arange(1, h + 1)
        end = min(origin + h, panel.last)
        actual = np.full((n, h), np.nan)
        actual[:, : end - origin] = values[:, origin + 1 : end + 1]
        parts = []
        for m, (fit, bounds) in result.items():
            ok = np.array([st == "ok" for st in fit.status])[:, None] & np.ones((1, h), bool)
            cols = {
                "model": np.full(n * h, m, dtype=object),
                "series_id": np.repeat(np.array(panel.series_ids, dtype=object), h),
                "series_level": np.repeat(np.array(panel.levels, dtype=object), h),
                "measure": np.full(n * h, self.measure, dtype=object),
                "origin_date": np.full(n * h, panel.date(origin)),
                "forecast_date": np.tile([panel.date(origin + d) for d in days], n),
                "horizon": np.tile(days, n).astype(np.int32),
                "actual": actual.ravel(),
                "yhat": np.where(ok, fit.yhat, np.nan).ravel(),
                "yhat_lower": np.where(ok, bounds[0.8][0], np.nan).ravel(),
                "yhat_upper": np.where(ok, bounds[0.8][1], np.nan).ravel(),
                "yhat_lower_95": np.where(ok, bounds[0.95][0], np.nan).ravel(),
                "yhat_upper_95": np.where(ok, bounds[0.95][1], np.nan).ravel(),
                "level_scale": np.repeat(scale, h),
                "naive_scale": np.repeat(naive, h),
                "status": np.repeat(np.array(fit.status, dtype=object), h),
                "reason": np.repeat(np.array(fit.reason, dtype=object), h),
                "is_calibration": np.full(n * h, is_calibration),
            }
            parts.append(_to_table(cols))
        return pa.concat_tables(parts)


def _to_table(cols: Mapping[str, np.ndarray]) -> pa.Table:
    arrays = []
    for f in BACKTEST_SCHEMA:
        v = cols[f.name]
        if pa.types.is_floating(f.type):
            arrays.append(pa.array(v, f.type, from_pandas=True))
        else:
            arrays.append(pa.array(v.tolist(), f.type))
    return pa.Table.from_arrays(arrays, schema=BACKTEST_SCHEMA)


@threadpool_limits.wrap(limits=NTHREAD)  # BLAS: see estimators.NTHREAD
def run_backtest(
    panel: Panel,
    measure: str,
    horizon: int,
    origins: int,
    step: int,
    seed: int,
    models: Sequence[str],
    refit_every: int = REFIT_EVERY_ORIGINS,
    timings: dict[str, float] | None = None,
    calibration_origins: int = CALIBRATION_ORIGINS,
) -> pa.Table:
    """The backtest table of one measure (see the module docstring); ``timings``, when given,
    is updated with the CPU seconds per model and step. ``calibration_origins`` more origins
    before
    the evaluated ones give the first intervals and combinations past errors; their rows are
    flagged ``is_calibration`` and left out of the metrics."""
    runner = Runner(panel, measure, horizon, seed, models, max(refit_every, 1) * step)
    found = backtest_origins(panel, horizon, origins + calibration_origins, step)
    n_calibration = max(len(found) - origins, 0)
    if not found:
        return BACKTEST_SCHEMA.empty_table()
    table = pa.concat_tables(
        [runner.rows(o, runner.run_origin(o), k < n_calibration) for k, o in enumerate(found)]
    )
    if timings is not None:
        for model, seconds in runner.seconds.items():
            timings[model] = timings.get(model, 0.0) + seconds
    return table
