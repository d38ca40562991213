"""The stock plan's backtest: the service level it would have achieved on the past origins.

At every evaluated origin of forecast_backtest (``is_calibration`` false) the selected model of a
series (forecast_evaluation, units) had a forecast and an interval; the plan of
:mod:`.stock` is rebuilt from them exactly as ``stock_plan`` builds today's, and compared with
what happened over the lead time (the first ``lead_time_days`` days after the origin):

- a day is *within the plan* when its demand stayed at or below the plan's daily cover at the
  target service level, ``yhat_t + z(service_level) * sigma_t`` (``sigma_t`` from the interval,
  as in the plan); ``achieved_service_level`` is the share of such days, with a Wilson interval;
- a lead time is *covered* when its total demand stayed at or below the reorder point (lead-time
  forecast + safety stock, rounded up): ``lead_time_service_level``, the share of origins.

Both are read against the target ``service_level``: below it, the forecast intervals are too
narrow and the safety stocks too small. The days of one lead time are correlated, so the Wilson
interval (which takes them as independent) is optimistic.
"""

from __future__ import annotations

import logging
import math
from statistics import NormalDist

import numpy as np
import pyarrow as pa

from amazing_analytics.ml.decisions.stock import (
    bounds_as,
    daily_sigma,
    float_or_nan,
    safety_stock,
)

_LOG = logging.getLogger(__name__)
_NORMAL = NormalDist()

BACKTEST_COLUMNS = {
    "series_id": pa.string(),
    "model": pa.string(),
    "origins": pa.int64(),
    "first_origin_date": pa.date32(),
    "last_origin_date": pa.date32(),
    "lead_time_days": pa.int64(),
    "service_level": pa.float64(),
    "days": pa.int64(),
    "days_within_plan": pa.int64(),
    "achieved_service_level": pa.float64(),
    "achieved_ci_low": pa.float64(),
    "achieved_ci_high": pa.float64(),
    "lead_times_covered": pa.int64(),
    "lead_time_service_level": pa.float64(),
    "mean_lead_time_demand": pa.float64(),
    "mean_reorder_point": pa.float64(),
    "service_level_gap": pa.float64(),
    "status": pa.string(),
    "reason": pa.string(),
}


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    z = _NORMAL.inv_cdf((1.0 + level) / 2.0)
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    half /= 1 + z * z / trials
    return max(centre - half, 0.0), min(centre + half, 1.0)


def _selected_models(evaluation: pa.Table) -> dict[str, str]:
    needed = {"series_id", "model", "measure", "is_selected"}
    if evaluation.num_rows == 0 or not needed <= set(evaluation.column_names):
        return {}
    return {
        r["series_id"]: r["model"]
        for r in evaluation.select(sorted(needed)).to_pylist()
        if r["is_selected"] and r["measure"] == "units"
    }


def build_stock_plan_backtest(
    backtest: pa.Table,
    evaluation: pa.Table,
    *,
    lead_time_days: int,
    service_level: float,
    interval_level: float,
    min_origins: int,
) -> pa.Table:
    """stock_plan_backtest: one row per series with a selected units model.

    Args:
        backtest: forecast_backtest (model, series_id, measure, origin_date, horizon, actual,
            yhat, the bounds of ``interval_level``, is_calibration).
        evaluation: forecast_evaluation (its ``is_selected`` units rows give the model).
        lead_time_days: The plan's lead time (>= 1).
        service_level: The target service level.
        interval_level: The level of the backtest's interval the spread is read from (0.8 or
            0.95, as :func:`.stock.build_stock_plan`).
        min_origins: Fewer evaluated origins with an interval: status ``too_few_origins``.

    Returns:
        Columns of ``BACKTEST_COLUMNS`` sorted by series; status ``ok``, ``too_few_origins``
        (measured, but on few lead times; WARN) or ``no_interval`` (no origin had an interval
        over the whole lead time: nothing measured; WARN). Empty with a WARN without a
        selected units model.
    """
    if lead_time_days < 1 or min_origins < 1:
        raise ValueError("lead_time_days and min_origins must be at least 1")
    if not 0.0 < service_level < 1.0:
        raise ValueError(f"service level must be strictly between 0 and 1, got {service_level}")
    needed = ["model", "series_id", "measure", "origin_date", "horizon", "actual", "yhat",
              "yhat_lower", "yhat_upper", "is_calibration"]  # fmt: skip
    backtest = bounds_as(backtest, needed, interval_level, "forecast_backtest")
    schema = pa.schema(list(BACKTEST_COLUMNS.items()))
    selected = _selected_models(evaluation)
    if not selected:
        _LOG.warning("WARN stock_plan_backtest: no selected unit forecast, nothing to backtest")
        return schema.empty_table()
    windows = _lead_time_windows(backtest, selected, lead_time_days)
    z_service = _NORMAL.inv_cdf(service_level)
    out: dict[str, list] = {c: [] for c in BACKTEST_COLUMNS}
    for series_id in sorted(selected):
        origins = sorted(o for s, o in windows if s == series_id)
        plans = [
            _origin_plan(
                windows[(series_id, o)], lead_time_days, service_level, interval_level, z_service
            )  # fmt: skip
            for o in origins
        ]
        kept = [(o, p) for o, p in zip(origins, plans, strict=True) if p is not None]
        values = _series_row(kept, lead_time_days, service_level, min_origins)
        values |= {"series_id": series_id, "model": selected[series_id],
                   "lead_time_days": lead_time_days, "service_level": service_level}  # fmt: skip
        if values["status"] != "ok":
            _LOG.warning("WARN stock_plan_backtest %s: %s", series_id, values["status"])
        for column in BACKTEST_COLUMNS:
            out[column].append(values.get(column))
    return pa.table(out, schema=schema)


def _lead_time_windows(
    backtest: pa.Table, selected: dict[str, str], lead_time_days: int
) -> dict[tuple[str, object], list[dict]]:
    """The selected model's evaluated units forecasts over the lead time, per (series, origin)."""
    windows: dict[tuple[str, object], list[dict]] = {}
    for row in backtest.to_pylist():
        if (
            row["measure"] == "units"
            and selected.get(row["series_id"]) == row["model"]
            and not row["is_calibration"]
            and 1 <= row["horizon"] <= lead_time_days
        ):
            windows.setdefault((row["series_id"], row["origin_date"]), []).append(row)
    return windows


def _origin_plan(
    rows: list[dict], lead: int, service_level: float, interval_level: float, z_service: float
) -> dict | None:
    """The plan made at one origin and what happened, or None without a full lead time."""
    rows = sorted(rows, key=lambda r: r["horizon"])
    if len(rows) < lead or any(
        r[k] is None for r in rows for k in ("actual", "yhat", "yhat_upper")
    ):
        return None
    yhat = np.maximum(np.array([float(r["yhat"]) for r in rows]), 0.0)
    upper = np.array([float(r["yhat_upper"]) for r in rows])
    lower = np.array([float_or_nan(r["yhat_lower"]) for r in rows])
    actual = np.array([float(r["actual"]) for r in rows])
    sigma = daily_sigma(yhat, upper, interval_level, lower)
    reorder_point = math.ceil(float(yhat.sum()) + safety_stock(sigma, service_level) - 1e-9)
    return {
        "days_within": int(np.sum(actual <= yhat + z_service * sigma + 1e-9)),
        "covered": float(actual.sum()) <= reorder_point,
        "demand": float(actual.sum()),
        "reorder_point": float(reorder_point),
    }


def _series_row(kept: list, lead: int, service_level: float, min_origins: int) -> dict:
    if not kept:
        return {"origins": 0, "days": 0, "status": "no_interval",
                "reason": "No evaluated origin had a forecast interval over the whole "
                f"{lead}-day lead time: the plan's service level cannot be measured."}  # fmt: skip
    origins = len(kept)
    days = origins * lead
    within = sum(p["days_within"] for _, p in kept)
    covered = sum(p["covered"] for _, p in kept)
    achieved = within / days
    low, high = wilson_interval(within, days)
    verdict = (
        "below the target: the intervals are too narrow and the safety stock too small"
        if high < service_level
        else "above the target: the safety stock is larger than needed"
        if low > service_level
        else "in line with the target"
    )
    reason = (
        f"On {origins} past origins, demand stayed within the plan on {within} of {days} "
        f"lead-time days ({achieved:.0%}, 95 % interval {low:.0%} - {high:.0%}) against a "
        f"target of {service_level:.0%}: {verdict}; {covered} of {origins} lead times stayed "
        "within the reorder point"
    )
    status = "ok"
    if origins < min_origins:
        status = "too_few_origins"
        reason += f" (only {origins} origins: read it as an indication)"
    return {
        "origins": origins, "first_origin_date": kept[0][0], "last_origin_date": kept[-1][0],
        "days": days, "days_within_plan": within, "achieved_service_level": achieved,
        "achieved_ci_low": low, "achieved_ci_high": high, "lead_times_covered": int(covered),
        "lead_time_service_level": covered / origins,
        "mean_lead_time_demand": float(np.mean([p["demand"] for _, p in kept])),
        "mean_reorder_point": float(np.mean([p["reorder_point"] for _, p in kept])),
        "service_level_gap": achieved - service_level, "status": status, "reason": reason + ".",
    }  # fmt: skip
