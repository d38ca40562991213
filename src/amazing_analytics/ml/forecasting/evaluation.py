"""Backtest metrics per model, series and measure, and the selection of one model per series.

Metrics (long form, :data:`EVALUATION_SCHEMA`), pooled over every origin and day a model ran:
``mae`` (with a 95 % bootstrap interval over origins in ``ci_low``/``ci_high``), ``rmse``,
``smape`` (percent, 0..200, 0/0 counted as 0), ``mase`` (absolute errors over the in-sample
seasonal-naive MAE at each origin; null when that is 0), ``coverage`` (share of actuals inside
the 80 % interval) and ``coverage_95``; the coverages count only days with an interval (``n``)
and have a 95 % bootstrap interval over origins too (one series' coverage over a few origins of
correlated days is a noisy figure: docs/forecasting.md).
``is_selected`` marks the chosen model (see :mod:`.selection`), on every row of its metrics,
with ``selection_reason``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.forecasting.selection import (
    ModelErrors,
    bootstrap_mean_interval,
    mae_interval,
    select_model,
)

METRICS: tuple[str, ...] = ("mae", "rmse", "smape", "mase", "coverage", "coverage_95")
#: The coverage metrics and the bounds they are of.
COVERAGES: tuple[tuple[str, str, str], ...] = (
    ("coverage", "yhat_lower", "yhat_upper"),
    ("coverage_95", "yhat_lower_95", "yhat_upper_95"),
)
EVALUATION_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("series_id", pa.string()),
        ("measure", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("n", pa.int64()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("series_level", pa.string()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("is_selected", pa.bool_()),
        ("selection_reason", pa.string()),
    ]
)


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def metric_values(part: Mapping[str, np.ndarray]) -> dict[str, tuple[float | None, int]]:
    """Every metric (value, n) of one model's backtest rows where it ran."""
    actual, yhat = part["actual"], part["yhat"]
    error = actual - yhat
    absolute = np.abs(error)
    total = np.abs(actual) + np.abs(yhat)
    with np.errstate(invalid="ignore", divide="ignore"):
        smape = np.where(total > 0, 2.0 * absolute / total, 0.0)
        denom = part["naive_scale"]
        usable = np.isfinite(denom) & (denom > 0)
        mase = float(np.mean(absolute[usable] / denom[usable])) if usable.any() else None
    out: dict[str, tuple[float | None, int]] = {
        "mae": (float(absolute.mean()), absolute.size),
        "rmse": (float(math.sqrt(np.mean(error**2))), absolute.size),
        "smape": (float(100.0 * smape.mean()), absolute.size),
        "mase": (mase, int(usable.sum())),
    }
    for metric, hits in interval_hits(part).items():
        hits = hits[np.isfinite(hits)]
        out[metric] = (float(hits.mean()) if hits.size else None, int(hits.size))
    return out


def interval_hits(part: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per coverage metric: 1.0 / 0.0 for each row that has that interval (the actual inside
    it or not), NaN for the rows without one."""
    out = {}
    for metric, low, high in COVERAGES:
        has = np.isfinite(part[low]) & np.isfinite(part[high])
        inside = (part["actual"] >= part[low]) & (part["actual"] <= part[high])
        out[metric] = np.where(has, inside.astype(np.float64), np.nan)
    return out


def _status(
    statuses: np.ndarray, reasons: np.ndarray, origins: np.ndarray
) -> tuple[str, str | None]:
    bad = statuses != "ok"
    if not bad.any():
        return "ok", None
    epoch = dt.date(1970, 1, 1)
    notes = sorted(
        {
            f"origin {epoch + dt.timedelta(days=int(o))}: {r}"
            for o, r in zip(origins[bad], reasons[bad], strict=True)
        }
    )
    reason = "; ".join(notes)[:1000]
    if bad.all():
        return ("failed" if (statuses == "failed").any() else "skipped"), reason
    return "partial", reason


def evaluate(backtest: pa.Table, seed: int = 42) -> pa.Table:
    """The evaluation table of a backtest table (any measures), selection included; the
    calibration-only origins are left out."""
    if "is_calibration" in backtest.column_names:
        backtest = backtest.filter(
            pc.invert(pc.fill_null(backtest.column("is_calibration"), False))
        )
    if backtest.num_rows == 0:
        return EVALUATION_SCHEMA.empty_table()
    names = ("actual", "yhat", "yhat_lower", "yhat_upper", "yhat_lower_95", "yhat_upper_95")
    cols = {n: _column(backtest, n).astype(np.float64) for n in (*names, "naive_scale")}
    model, series = _column(backtest, "model"), _column(backtest, "series_id")
    measure, level = _column(backtest, "measure"), _column(backtest, "series_level")
    status, reason = _column(backtest, "status"), _column(backtest, "reason")
    origin = pc.cast(backtest.column("origin_date"), pa.int32()).to_numpy(zero_copy_only=False)
    day = pc.cast(backtest.column("forecast_date"), pa.int32()).to_numpy(zero_copy_only=False)
    keys = np.char.add(np.char.add(measure.astype(str), "\x1f"), series.astype(str))
    groups: dict[tuple[str, str], dict[str, dict]] = {}
    uniq, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(uniq.size + 1))
    for g in range(uniq.size):
        in_series = order[bounds[g] : bounds[g + 1]]
        sm, sid = str(measure[in_series[0]]), str(series[in_series[0]])
        per_model = groups.setdefault((sm, sid), {})
        for m in dict.fromkeys(model[in_series].tolist()):
            idx = in_series[model[in_series] == m]
            ran = idx[(status[idx] == "ok") & np.isfinite(cols["yhat"][idx])]
            st, why = _status(status[idx], reason[idx], origin[idx])
            errors = ModelErrors(
                origin[ran], day[ran], np.abs(cols["actual"][ran] - cols["yhat"][ran])
            )
            part = {n: c[ran] for n, c in cols.items()}
            hits = {}  # per coverage metric: 1 / 0 per day with that interval, by origin
            for metric, inside in interval_hits(part).items():
                has = np.isfinite(inside)
                hits[metric] = ModelErrors(origin[ran][has], day[ran][has], inside[has])
            per_model[m] = {
                "level": str(level[idx[0]]),
                "status": st,
                "reason": why,
                "errors": errors,
                "hits": hits,
                "metrics": metric_values(part) if ran.size else {},
            }
    return _evaluation_table(groups, seed)


def _evaluation_table(groups: Mapping[tuple[str, str], dict[str, dict]], seed: int) -> pa.Table:
    rows: list[dict] = []
    for (sm, sid), per_model in sorted(groups.items()):
        candidates = {
            m: v["errors"] for m, v in per_model.items() if m not in ("selected", "reconciled")
        }
        chosen, why = select_model(candidates, seed)
        for m, v in per_model.items():
            bounds = _intervals(v, seed)
            for metric in METRICS:
                value, n = v["metrics"].get(metric, (None, 0))
                low, high = bounds.get(metric, (None, None))
                rows.append(
                    {
                        "model": m,
                        "series_id": sid,
                        "measure": sm,
                        "metric": metric,
                        "value": value,
                        "n": n,
                        "status": v["status"],
                        "reason": v["reason"],
                        "series_level": v["level"],
                        "ci_low": low,
                        "ci_high": high,
                        "is_selected": m == chosen,
                        "selection_reason": why if m == chosen else None,
                    }
                )
    return pa.Table.from_pylist(rows, schema=EVALUATION_SCHEMA)


def _intervals(v: Mapping, seed: int) -> dict[str, tuple[float, float]]:
    """95 % bootstrap intervals (resampling origins) of the MAE and of the coverages."""
    out = {}
    if v["errors"].abs_error.size:
        out["mae"] = mae_interval(v["errors"], seed)
    for metric, hits in v["hits"].items():
        if hits.abs_error.size:
            out[metric] = bootstrap_mean_interval(hits, hits.abs_error, seed)
    return out


def selected_models(evaluation: pa.Table) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(measure, series_id) -> (selected model, reason) from an evaluation table."""
    picked = evaluation.filter(pc.fill_null(evaluation.column("is_selected"), False))
    out: dict[tuple[str, str], tuple[str, str | None]] = {}
    for row in picked.select(["measure", "series_id", "model", "selection_reason"]).to_pylist():
        out.setdefault((row["measure"], row["series_id"]), (row["model"], row["selection_reason"]))
    return out
