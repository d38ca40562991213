"""The stock plan from the unit forecasts: safety stock, reorder point and quantity per series.

For each series (the selected model's ``units`` rows of sales_forecast), day ``t`` of the horizon
has a forecast ``yhat_t`` and an upper bound ``yhat_upper_t`` at the interval level of the
forecast. The daily demand spread is read from the upper half of the interval,
``sigma_t = (yhat_upper_t - yhat_t) / z((1 + level) / 2)`` (the upper tail is the one that empties
the shelf); where the lower bound is 0 the forecasting's upper bound is one-sided (see
:mod:`amazing_analytics.ml.forecasting.intervals`: nothing falls below 0, so ``yhat_upper`` is the
``level`` quantile, not the ``(1 + level) / 2`` one) and ``z(level)`` divides instead. Days are
taken as independent, so over the lead time
``L`` (the first ``L`` days): ``safety_stock = z(service_level) * sqrt(sum sigma_t^2)``,
``reorder_point = sum yhat_t + safety_stock``; the reorder quantity is the expected demand of the
review period that follows (days ``L+1 .. L+R``). Units are rounded up.

The interval's backtest coverage per series (forecast_evaluation) is reported beside the plan;
the service level the same plan achieved on the backtest's past origins is measured by
:mod:`.stock_backtest` (mart stock_plan_backtest).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pyarrow as pa

from amazing_analytics.ml.guards import require_columns

_LOG = logging.getLogger(__name__)
_NORMAL = NormalDist()

_COLUMNS = {
    "series_id": pa.string(),
    "model": pa.string(),
    "first_date": pa.date32(),
    "horizon_days": pa.int64(),
    "expected_units_horizon": pa.float64(),
    "upper_units_horizon": pa.float64(),
    "lead_time_days": pa.int64(),
    "review_days": pa.int64(),
    "service_level": pa.float64(),
    "lead_time_demand": pa.float64(),
    "lead_time_sigma": pa.float64(),
    "safety_stock": pa.int64(),
    "reorder_point": pa.int64(),
    "reorder_quantity": pa.int64(),
    "backtest_interval_coverage": pa.float64(),
    "interval_level": pa.float64(),
    "status": pa.string(),
    "reason": pa.string(),
}


def _probability(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
    return value


def safety_stock(sigmas: np.ndarray, service_level: float) -> float:
    """``z(service_level) * sqrt(sum sigma_t^2)``: cover the lead time's demand this often."""
    _probability(service_level, "service level")
    return _NORMAL.inv_cdf(service_level) * math.sqrt(float(np.sum(np.square(sigmas))))


def daily_sigma(
    yhat: np.ndarray, upper: np.ndarray, interval_level: float, lower: np.ndarray | None = None
) -> np.ndarray:
    """The daily demand spread implied by the upper bound of the forecast interval: a central
    interval's, or a one-sided bound's where ``lower`` is 0 (NaN: unknown, taken as central)."""
    level = _probability(interval_level, "interval level")
    z = np.full(np.shape(yhat), _NORMAL.inv_cdf((1.0 + level) / 2.0))
    if lower is not None:
        z[np.asarray(lower, dtype=np.float64) <= 0.0] = _NORMAL.inv_cdf(level)
    return np.maximum(upper - yhat, 0.0) / z


#: The forecast's interval levels, with their bound columns (sales_forecast, forecast_backtest)
#: and their coverage metric (forecast_evaluation).
INTERVAL_COLUMNS: dict[float, tuple[str, str, str]] = {
    0.8: ("yhat_lower", "yhat_upper", "coverage"),
    0.95: ("yhat_lower_95", "yhat_upper_95", "coverage_95"),
}


def interval_columns(interval_level: float) -> tuple[str, str, str]:
    """The lower and upper bound columns and the coverage metric of a forecast interval level."""
    for level, columns in INTERVAL_COLUMNS.items():
        if math.isclose(float(interval_level), level):
            return columns
    levels = ", ".join(str(level) for level in INTERVAL_COLUMNS)
    raise ValueError(
        f"interval level {interval_level} is not one of the forecast's interval levels ({levels})"
    )


def bounds_as(table: pa.Table, columns: list[str], interval_level: float, role: str) -> pa.Table:
    """``columns`` of ``table`` with the bounds of ``interval_level`` named yhat_lower and
    yhat_upper (``columns`` names them so); a clear error naming ``role`` when one lacks."""
    lower, upper, _ = interval_columns(interval_level)
    source = {"yhat_lower": lower, "yhat_upper": upper}
    picked = [source.get(c, c) for c in columns]
    require_columns(table, picked, role)
    return table.select(picked).rename_columns(columns)


def float_or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _coverage(evaluation: pa.Table, metric: str) -> dict[tuple[str, str], float]:
    """(series_id, model) -> backtest coverage (``metric``) of the units interval."""
    needed = {"series_id", "model", "measure", "metric", "value"}
    if evaluation.num_rows == 0 or not needed <= set(evaluation.column_names):
        return {}
    rows = evaluation.select(sorted(needed)).to_pylist()
    return {
        (r["series_id"], r["model"]): float(r["value"])
        for r in rows
        if r["measure"] == "units" and r["metric"] == metric and r["value"] is not None
    }


@dataclass(frozen=True)
class _Policy:
    """The ordering policy a plan is sized for (the arguments of :func:`build_stock_plan`)."""

    lead_time_days: int
    review_days: int
    service_level: float
    interval_level: float
    z_interval: float


def _reason(
    policy: _Policy,
    lead_demand: float,
    stock: float,
    order: tuple[int, int],
    status: str,
    horizon_days: int,
    covered: float | None,
) -> str:
    """The plan in a sentence: lead-time demand, safety stock, the order, then the backtest."""
    reorder_quantity, reorder_point = order
    reason = (
        f"{lead_demand:.0f} units expected in the {policy.lead_time_days}-day lead time; "
        f"{math.ceil(stock - 1e-9)} units of safety stock cover it in {policy.service_level:.0%} "
        f"of lead times; order {reorder_quantity} units (the next {policy.review_days} days' "
        f"expected demand) when stock falls to {reorder_point}"
    )
    if status == "short_horizon":
        reason += f" (only {horizon_days} forecast days: planned on those)"
    if status == "no_interval":
        reason += " (the forecast has no interval: safety stock cannot be sized, set to 0)"
    reason += (
        f". Backtest: the forecast's {policy.interval_level:.0%} interval held "
        f"{covered:.0%} of days; the service level the plan achieved on past forecasts is in "
        "stock_plan_backtest"
        if covered is not None
        else ". No backtest coverage for this series"
    )
    return reason


def _series_plan(series_id: str, days: list[dict], covered: float | None, policy: _Policy) -> dict:
    """One series' row of the plan from its forecast days (sorted by date)."""
    lead_time_days, review_days = policy.lead_time_days, policy.review_days
    yhat = np.array([max(float(r["yhat"]), 0.0) for r in days])
    upper = np.array([float(r["yhat_upper"] if r["yhat_upper"] is not None else r["yhat"])
                      for r in days])  # fmt: skip
    lower = np.array([float_or_nan(r["yhat_lower"]) for r in days])
    sigma = daily_sigma(yhat, upper, policy.interval_level, lower)
    lead = slice(0, min(lead_time_days, yhat.size))
    review = slice(min(lead_time_days, yhat.size), min(lead_time_days + review_days, yhat.size))
    lead_demand = float(yhat[lead].sum())
    lead_sigma = math.sqrt(float(np.square(sigma[lead]).sum()))
    stock = safety_stock(sigma[lead], policy.service_level)
    horizon_sigma = math.sqrt(float(np.square(sigma).sum()))
    if yhat.size < lead_time_days + review_days:
        status = "short_horizon"
    elif horizon_sigma == 0.0:
        status = "no_interval"
    else:
        status = "ok"
    reorder_point = math.ceil(lead_demand + stock - 1e-9)
    reorder_quantity = math.ceil(float(yhat[review].sum()) - 1e-9)
    reason = _reason(
        policy, lead_demand, stock, (reorder_quantity, reorder_point), status, yhat.size, covered
    )
    if status != "ok":
        _LOG.warning("WARN stock_plan %s: %s", series_id, status)
    return {
        "series_id": series_id, "model": days[0]["model"], "first_date": days[0]["forecast_date"],
        "horizon_days": int(yhat.size), "expected_units_horizon": float(yhat.sum()),
        "upper_units_horizon": float(yhat.sum()) + policy.z_interval * horizon_sigma,
        "lead_time_days": lead_time_days, "review_days": review_days,
        "service_level": policy.service_level, "lead_time_demand": lead_demand,
        "lead_time_sigma": lead_sigma, "safety_stock": math.ceil(stock - 1e-9),
        "reorder_point": reorder_point, "reorder_quantity": reorder_quantity,
        "backtest_interval_coverage": covered, "interval_level": policy.interval_level,
        "status": status, "reason": reason,
    }  # fmt: skip


def build_stock_plan(
    forecast: pa.Table,
    evaluation: pa.Table,
    *,
    lead_time_days: int,
    review_days: int,
    service_level: float,
    interval_level: float,
) -> pa.Table:
    """One row per forecast series: expected units, safety stock, reorder point and quantity.

    Args:
        forecast: sales_forecast (series_id, measure, forecast_date, model, yhat, the bounds of
            ``interval_level``, is_selected); only the selected ``units`` rows are used.
        evaluation: forecast_evaluation (its coverage rows of ``interval_level`` are reported
            beside the plan).
        lead_time_days: Days from ordering to the stock being on the shelf (>= 1).
        review_days: Days between two orders (>= 1).
        service_level: Target probability of not running out during the lead time.
        interval_level: The level of sales_forecast's interval the spread is read from: 0.8
            or 0.95 (:data:`INTERVAL_COLUMNS`; the nearer the service level, the less the
            normal shape of the spread matters).

    Returns:
        Columns of ``_COLUMNS``, sorted by series_id; status ``ok``, ``short_horizon`` (fewer
        forecast days than lead time + review: planned on the days there are) or
        ``no_interval`` (no spread: the safety stock is 0); an empty forecast gives an empty
        table and a WARN.
    """
    if lead_time_days < 1 or review_days < 1:
        raise ValueError("lead_time_days and review_days must be at least 1")
    _probability(service_level, "service level")
    z_interval = _NORMAL.inv_cdf((1.0 + _probability(interval_level, "interval level")) / 2.0)
    needed = ["series_id", "measure", "forecast_date", "model", "yhat", "yhat_lower", "yhat_upper",
              "is_selected"]  # fmt: skip
    forecast = bounds_as(forecast, needed, interval_level, "sales_forecast")
    schema = pa.schema(list(_COLUMNS.items()))
    rows = [
        r
        for r in forecast.to_pylist()
        if r["is_selected"] and r["measure"] == "units" and r["yhat"] is not None
    ]
    if not rows:
        _LOG.warning("WARN stock_plan: no selected unit forecast, no stock plan")
        return schema.empty_table()
    coverage = _coverage(evaluation, interval_columns(interval_level)[2])
    series: dict[str, list[dict]] = {}
    for row in rows:
        series.setdefault(row["series_id"], []).append(row)
    out: dict[str, list] = {c: [] for c in _COLUMNS}
    for series_id in sorted(series):
        days = sorted(series[series_id], key=lambda r: r["forecast_date"])
        values = _series_plan(
            series_id,
            days,
            coverage.get((series_id, days[0]["model"])),
            _Policy(lead_time_days, review_days, service_level, interval_level, z_interval),
        )
        for column in _COLUMNS:
            out[column].append(values[column])
    return pa.table(out, schema=schema)
