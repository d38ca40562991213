"""The forecasting steps as the dbt Python models run them, and the package-level API.

``forecast_backtest`` -> ``forecast_evaluation`` (metrics, selection, the hierarchy before and
after reconciliation) -> ``sales_forecast`` (every model fitted at the last date, intervals
calibrated on the backtest errors, the selected model marked, the reconciled forecast beside
it). With no rows to forecast (every line quarantined, or no input) each step logs a WARNING
and returns its table empty, or, for the evaluation, one ``skipped`` row per model and measure
with the reason; it never raises.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.forecasting.backtest import (
    BACKTEST_SCHEMA,
    CALIBRATION_ORIGINS,
    DEFAULT_MODELS,
    REFIT_EVERY_ORIGINS,
    Runner,
    check_models,
    run_backtest,
)
from amazing_analytics.ml.forecasting.estimators import NTHREAD
from amazing_analytics.ml.forecasting.evaluation import (
    EVALUATION_SCHEMA,
    METRICS,
    evaluate,
    selected_models,
)
from amazing_analytics.ml.forecasting.intervals import ErrorBank
from amazing_analytics.ml.forecasting.panel import (
    MEASURES,
    EmptyInputError,
    Panel,
    build_panel,
    check_measure,
)
from amazing_analytics.ml.forecasting.reconciliation import reconcile_backtest, reconcile_forecast
from amazing_analytics.ml.forecasting.selection import COMPLEXITY_ORDER

_LOG = logging.getLogger(__name__)
NO_DATA_REASON = (
    "no data to forecast: the daily series table is empty (every input line was quarantined, "
    "or there was no input)"
)
FORECAST_SCHEMA = pa.schema(
    [
        ("series_id", pa.string()),
        ("measure", pa.string()),
        ("forecast_date", pa.date32()),
        ("model", pa.string()),
        ("yhat", pa.float64()),
        ("yhat_lower", pa.float64()),
        ("yhat_upper", pa.float64()),
        ("is_selected", pa.bool_()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("series_level", pa.string()),
        ("yhat_lower_95", pa.float64()),
        ("yhat_upper_95", pa.float64()),
        ("yhat_reconciled", pa.float64()),
        ("model_detail", pa.string()),
        ("selection_reason", pa.string()),
    ]
)


def backtest(
    daily: ArrowData,
    measure: str,
    horizon: int = 28,
    origins: int = 12,
    step: int = 7,
    seed: int = 42,
    models: Sequence[str] = DEFAULT_MODELS,
    holiday_dates: Sequence[dt.date] | None = None,
    refit_every: int = REFIT_EVERY_ORIGINS,
    calibration_origins: int = 0,
) -> pa.Table:
    """The rolling-origin backtest rows of one measure (see :mod:`.backtest`)."""
    check_measure(measure)
    models = check_models(models)
    panel = build_panel(daily, extra_days=horizon, holiday_dates=holiday_dates)
    return run_backtest(
        panel,
        measure,
        horizon,
        origins,
        step,
        seed,
        models,
        refit_every,
        None,
        calibration_origins,
    )


def _bank(rows: pa.Table, panel: Panel, horizon: int) -> ErrorBank:
    """The scaled errors of one model's backtest rows, per origin, in the panel's series order."""
    bank = ErrorBank(horizon)
    index = {s: i for i, s in enumerate(panel.series_ids)}
    origins = pc.cast(rows.column("origin_date"), pa.int32()).to_numpy(zero_copy_only=False)
    hs = rows.column("horizon").to_numpy() - 1
    sid = np.array([index.get(s, -1) for s in rows.column("series_id").to_pylist()])
    actual, yhat, scale = (
        rows.column(c).to_numpy(zero_copy_only=False).astype(float)
        for c in ("actual", "yhat", "level_scale")
    )
    offset = (panel.day0 - dt.date(1970, 1, 1)).days
    n_series = len(panel.series_ids)
    for o in np.unique(origins):
        pick = (origins == o) & (sid >= 0) & (hs < horizon)
        grids = [np.full((n_series, horizon), np.nan) for _ in range(2)]
        for grid, values in zip(grids, (actual, yhat), strict=True):
            grid[sid[pick], hs[pick]] = values[pick]
        level = np.full(n_series, np.nan)
        level[sid[pick]] = scale[pick]
        bank.add(int(o) - offset, grids[0], grids[1], level)
    return bank


@threadpool_limits.wrap(limits=NTHREAD)  # BLAS: see estimators.NTHREAD
def forecast(
    daily: ArrowData,
    measure: str,
    horizon: int = 28,
    seed: int = 42,
    backtest_rows: pa.Table | None = None,
    evaluation: pa.Table | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    holiday_dates: Sequence[dt.date] | None = None,
    origins: int = 12,
    step: int = 7,
) -> pa.Table:
    """The ``horizon`` days after the last date for every series and model (+ combinations);
    ``backtest_rows``/``evaluation`` are run here when None. See :data:`FORECAST_SCHEMA`."""
    check_measure(measure)
    models = check_models(models)
    panel = build_panel(daily, extra_days=horizon, holiday_dates=holiday_dates)
    if backtest_rows is None:
        backtest_rows = run_backtest(panel, measure, horizon, origins, step, seed, models)
    rows = backtest_rows.filter(pc.equal(backtest_rows.column("measure"), measure))
    if evaluation is None:
        evaluation = evaluate(rows, seed)
    runner = Runner(panel, measure, horizon, seed, models, refit_days=1)
    for m in runner.output_models:
        runner.banks[m] = _bank(rows.filter(pc.equal(rows.column("model"), m)), panel, horizon)
    if "xgboost" in models:
        runner.tune(panel.last)
    result = runner.run_origin(panel.last)
    chosen = _choices(panel, measure, result, selected_models(as_table(evaluation)))
    reconciled = _reconciled(panel, measure, result, chosen, rows)
    return _forecast_table(panel, measure, horizon, result, chosen, reconciled, runner.xgb_params)


def _choices(panel: Panel, measure: str, result: dict, selected: dict) -> dict[str, tuple]:
    """series -> (model, reason): the evaluation's choice if it ran, else the simplest that ran."""
    out: dict[str, tuple] = {}
    for s, sid in enumerate(panel.series_ids):
        ran = [m for m in result if result[m][0].status[s] == "ok"]
        model, why = selected.get((measure, sid), (None, None))
        if model not in ran:
            order = {m: i for i, m in enumerate(COMPLEXITY_ORDER)}
            fallback = min(ran, key=lambda m: order.get(m, len(order)), default=None)
            why = f"{fallback}: the simplest model that ran (no backtest choice available)"
            model = fallback
        out[sid] = (model, why)
    return out


def _reconciled(
    panel: Panel, measure: str, result: dict, chosen: dict, rows: pa.Table
) -> dict[str, np.ndarray]:
    values = panel.values[measure]
    history = {sid: values[s] for s, sid in enumerate(panel.series_ids)}
    base = {
        sid: result[m][0].yhat[s]
        for s, sid in enumerate(panel.series_ids)
        if (m := chosen[sid][0]) is not None
    }
    picks = [f"{m}\x1f{sid}" for sid, (m, _) in chosen.items() if m is not None]
    key = pc.binary_join_element_wise(rows.column("model"), rows.column("series_id"), "\x1f")
    return reconcile_forecast(history, base, rows.filter(pc.is_in(key, pa.array(picks))))


def _forecast_table(
    panel: Panel,
    measure: str,
    horizon: int,
    result: dict,
    chosen: dict,
    reconciled: dict[str, np.ndarray],
    xgb_params: dict[str, Any] | None,
) -> pa.Table:
    dates = [panel.date(panel.last + k) for k in range(1, horizon + 1)]
    cols: dict[str, list] = {f.name: [] for f in FORECAST_SCHEMA}
    for s, sid in enumerate(panel.series_ids):
        model_chosen, why = chosen[sid]
        for m, (fit, bounds) in result.items():
            ok = fit.status[s] == "ok"
            detail = fit.info.get(s)
            if m == "xgboost" and ok and xgb_params:
                detail = ", ".join(f"{k}={v}" for k, v in sorted(xgb_params.items()))
            for k, day in enumerate(dates):
                cols["series_id"].append(sid)
                cols["measure"].append(measure)
                cols["forecast_date"].append(day)
                cols["model"].append(m)
                cols["yhat"].append(float(fit.yhat[s, k]) if ok else None)
                cols["yhat_lower"].append(_num(bounds[0.8][0][s, k]) if ok else None)
                cols["yhat_upper"].append(_num(bounds[0.8][1][s, k]) if ok else None)
                cols["is_selected"].append(m == model_chosen)
                cols["status"].append(fit.status[s])
                cols["reason"].append(fit.reason[s])
                cols["series_level"].append(panel.levels[s])
                cols["yhat_lower_95"].append(_num(bounds[0.95][0][s, k]) if ok else None)
                cols["yhat_upper_95"].append(_num(bounds[0.95][1][s, k]) if ok else None)
                rec = reconciled.get(sid)
                selected_row = m == model_chosen and rec is not None
                cols["yhat_reconciled"].append(float(rec[k]) if selected_row else None)
                cols["model_detail"].append(detail)
                cols["selection_reason"].append(why if m == model_chosen else None)
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in FORECAST_SCHEMA})


def _num(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


# --------------------------------------------------------------------------------------------
# The dbt steps (both measures each; thin wrappers in python_models/forecasting/)
# --------------------------------------------------------------------------------------------


def _holiday_list(holidays: ArrowData | None) -> list[dt.date] | None:
    if holidays is None:
        return None
    return [d for d in as_table(holidays).column("holiday_date").to_pylist() if d is not None]


def _parse_models(models: str | Sequence[str] | None) -> tuple[str, ...]:
    if models is None:
        return DEFAULT_MODELS
    if isinstance(models, str):
        models = [m.strip() for m in models.replace(",", " ").split() if m.strip()]
    return check_models(models)


def _warn_empty(step: str) -> None:
    _LOG.warning("%s: %s; the table is left empty.", step, NO_DATA_REASON)


def build_backtest(
    daily: ArrowData,
    horizon: int,
    origins: int,
    step: int,
    seed: int,
    holidays: ArrowData | None = None,
    models: str | Sequence[str] | None = None,
    refit_every: int = REFIT_EVERY_ORIGINS,
    timings: dict[str, float] | None = None,
    calibration_origins: int = CALIBRATION_ORIGINS,
) -> pa.Table:
    """forecast_backtest: every candidate at every origin, both measures (empty without data);
    ``timings`` (optional) collects the fitting seconds per model."""
    chosen, days = _parse_models(models), _holiday_list(holidays)
    try:
        panel = build_panel(daily, extra_days=horizon, holiday_dates=days)
    except EmptyInputError:
        _warn_empty("forecast_backtest")
        return BACKTEST_SCHEMA.empty_table()
    return pa.concat_tables(
        [
            run_backtest(
                panel,
                m,
                horizon,
                origins,
                step,
                seed,
                chosen,
                refit_every,
                timings,
                calibration_origins,
            )
            for m in MEASURES
        ]
    )


def not_evaluated(reason: str, models: Sequence[str] = DEFAULT_MODELS) -> pa.Table:
    """forecast_evaluation without data: one skipped row per model, measure and metric."""
    rows = [
        {
            "model": m,
            "series_id": "all",
            "measure": measure,
            "metric": metric,
            "value": None,
            "n": 0,
            "status": "skipped",
            "reason": reason,
            "series_level": "all",
            "ci_low": None,
            "ci_high": None,
            "is_selected": False,
            "selection_reason": None,
        }
        for measure in MEASURES
        for m in models
        for metric in METRICS
    ]
    return pa.Table.from_pylist(rows, schema=EVALUATION_SCHEMA)


#: The key of forecast_backtest's rows.
BACKTEST_KEY = ("series_id", "measure", "model", "origin_date", "forecast_date")


def in_backtest_order(table: pa.Table) -> pa.Table:
    """The backtest rows sorted by their key. DuckDB hands a table's rows over in the order its
    threads scan them (preserve_insertion_order=false), and the evaluation adds its errors in
    the rows' order: the 10M build's backtest rows shuffled changed the last bits of 863 of
    forecast_evaluation's 5,400 values."""
    if table.num_rows == 0:
        return table
    return table.sort_by([(name, "ascending") for name in BACKTEST_KEY])


def build_evaluation(backtest_rows: ArrowData, seed: int) -> pa.Table:
    """forecast_evaluation: metrics and selection of every model, then the selected and the
    MinT-reconciled forecasts of every series (models 'selected' and 'reconciled')."""
    table = in_backtest_order(as_table(backtest_rows))
    if table.num_rows == 0:
        _LOG.warning("forecast_evaluation: %s; every model is marked skipped.", NO_DATA_REASON)
        return not_evaluated(NO_DATA_REASON)
    base = evaluate(table, seed)
    picks = {key: model for key, (model, _) in selected_models(base).items()}
    extra = evaluate(reconcile_backtest(table, picks), seed)
    extra = extra.set_column(
        extra.schema.get_field_index("is_selected"),
        "is_selected",
        pa.array([False] * extra.num_rows, pa.bool_()),
    )
    return pa.concat_tables([base, extra])


def build_forecast(
    daily: ArrowData,
    backtest_rows: ArrowData,
    evaluation: ArrowData,
    horizon: int,
    seed: int,
    holidays: ArrowData | None = None,
    models: str | Sequence[str] | None = None,
) -> pa.Table:
    """sales_forecast: the next ``horizon`` days of every series, model and measure."""
    chosen, days = _parse_models(models), _holiday_list(holidays)
    if as_table(daily).num_rows == 0:
        _warn_empty("sales_forecast")
        return FORECAST_SCHEMA.empty_table()
    rows, scores = as_table(backtest_rows), as_table(evaluation)
    return pa.concat_tables(
        [
            forecast(
                daily,
                m,
                horizon,
                seed,
                backtest_rows=rows,
                evaluation=scores,
                models=chosen,
                holiday_dates=days,
            )
            for m in MEASURES
        ]
    )
