"""Price elasticity per second-level category (price_elasticity).

Elasticity: per category, a Poisson regression (log link) of the day's units on the log of its
price index, with calendar controls::

    log E[units_d] = a + elasticity * log p_d + b * log sessions_d + c * log P_d
                     + day-of-week_d + holiday_d

``p_d`` is the category's fixed-basket price index (the mean over the day's priced views of
log(price / the product's median price), so a change of the mix of products bought does not
look like a price move), ``sessions_d`` the shop's sessions (traffic and season), ``P_d`` the
price index of the rest of the shop (shop-wide promotions such as Black Friday, which come with
their own rush). A log-log model, so the slope is the elasticity: +1 % price, ``elasticity`` %
units. Poisson rather than least squares on log units because most category-days sell a few
units or none. The interval uses the sandwich (robust) standard error, which stays valid when
the units are more dispersed than Poisson.

A category whose price barely moves (standard deviation of ``log p_d`` below a var) is
``not_identifiable``: no elasticity is guessed. Too few days or units: ``insufficient_data``,
with a WARN.
"""

from __future__ import annotations

import logging
import math
from statistics import NormalDist

import numpy as np
import pyarrow as pa

from amazing_analytics.ml.guards import require_columns

_LOG = logging.getLogger(__name__)
_NORMAL = NormalDist()

ELASTICITY_COLUMNS = {
    "category_level_2": pa.string(),
    "days": pa.int64(),
    "units": pa.int64(),
    "log_price_sd": pa.float64(),
    "price_index_min": pa.float64(),
    "price_index_max": pa.float64(),
    "elasticity": pa.float64(),
    "std_error": pa.float64(),
    "elasticity_ci_low": pa.float64(),
    "elasticity_ci_high": pa.float64(),
    "interval_level": pa.float64(),
    "p_value": pa.float64(),
    "status": pa.string(),
    "reason": pa.string(),
}


class PoissonFit:
    """Coefficients and robust (sandwich) standard errors of a Poisson regression."""

    def __init__(self, coefficients: np.ndarray, std_errors: np.ndarray) -> None:
        self.coefficients = coefficients
        self.std_errors = std_errors


def fit_poisson(design: np.ndarray, counts: np.ndarray, iterations: int = 50) -> PoissonFit:
    """Poisson regression with log link by iteratively reweighted least squares.

    Args:
        design: (n, k) design matrix, intercept included, full column rank.
        counts: (n,) non-negative counts.
        iterations: At most this many Newton steps (stops when the step is below 1e-10).

    Returns:
        The coefficients and their HC0 sandwich standard errors.
    """
    counts = np.asarray(counts, dtype=float)
    mean_count = max(float(counts.mean()), 1e-3)
    beta = np.zeros(design.shape[1])
    beta[0] = math.log(mean_count)
    for _ in range(iterations):
        mu = np.exp(np.clip(design @ beta, -30.0, 30.0))
        information = design.T @ (design * mu[:, None])
        step = np.linalg.solve(information, design.T @ (counts - mu))
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    mu = np.exp(np.clip(design @ beta, -30.0, 30.0))
    bread = np.linalg.inv(design.T @ (design * mu[:, None]))
    meat = design.T @ (design * np.square(counts - mu)[:, None])
    covariance = bread @ meat @ bread
    return PoissonFit(beta, np.sqrt(np.maximum(np.diag(covariance), 0.0)))


def _calendar_design(
    log_price: np.ndarray,
    log_sessions: np.ndarray,
    log_shop_price: np.ndarray,
    day_of_week: np.ndarray,
    is_holiday: np.ndarray,
) -> np.ndarray:
    """Intercept, log price (column 1), then the controls; constant controls are left out."""
    columns = [np.ones_like(log_price), log_price]
    for control in (log_sessions, log_shop_price, is_holiday.astype(float)):
        if float(np.std(control)) > 1e-12:
            columns.append(control)
    for weekday in range(2, 8):  # ISO days 2..7 against Monday
        dummy = (day_of_week == weekday).astype(float)
        if 0 < dummy.sum() < dummy.size:
            columns.append(dummy)
    return np.column_stack(columns)


def estimate_elasticity(
    units: np.ndarray,
    log_price: np.ndarray,
    log_sessions: np.ndarray,
    log_shop_price: np.ndarray,
    day_of_week: np.ndarray,
    is_holiday: np.ndarray,
    interval_level: float = 0.9,
) -> tuple[float, float, float, float, float]:
    """``(elasticity, std_error, ci_low, ci_high, p_value)`` of one category's daily series."""
    design = _calendar_design(log_price, log_sessions, log_shop_price, day_of_week, is_holiday)
    fit = fit_poisson(design, units)
    slope, error = float(fit.coefficients[1]), float(fit.std_errors[1])
    z = _NORMAL.inv_cdf((1.0 + interval_level) / 2.0)
    p_value = 2.0 * (1.0 - _NORMAL.cdf(abs(slope) / error)) if error > 0 else 0.0
    return slope, error, slope - z * error, slope + z * error, p_value


def _column(table: pa.Table, name: str) -> np.ndarray:
    return np.array(table.column(name).to_pylist(), dtype=float)


def build_price_elasticity(
    daily: pa.Table,
    *,
    min_log_price_sd: float,
    min_days: int,
    min_units: int,
    interval_level: float,
) -> pa.Table:
    """price_elasticity: one row per second-level category of ``daily``.

    Args:
        daily: int_category_price_daily (category_level_2, activity_date, units, priced_views,
            log_price_index, shop_log_price_sum, shop_priced_views, sessions, day_of_week,
            is_holiday): one row per category and day.
        min_log_price_sd: Below this spread of the log price index the category is
            ``not_identifiable``.
        min_days: Fewer days with a price index: ``insufficient_data``.
        min_units: Fewer units sold over those days: ``insufficient_data``.
        interval_level: Level of the elasticity's interval (0.9 = 5 %..95 %).

    Returns:
        Columns of ``ELASTICITY_COLUMNS`` sorted by category; empty with a WARN without data.
    """
    if not 0.0 < interval_level < 1.0:
        raise ValueError(f"interval level must be strictly between 0 and 1, got {interval_level}")
    if min_log_price_sd < 0 or min_days < 2 or min_units < 1:
        raise ValueError("min_log_price_sd must be >= 0, min_days >= 2 and min_units >= 1")
    needed = ["category_level_2", "activity_date", "units", "priced_views", "log_price_index",
              "shop_log_price_sum", "shop_priced_views", "sessions", "day_of_week", "is_holiday"]  # fmt: skip
    require_columns(daily, needed, "int_category_price_daily")
    schema = pa.schema(list(ELASTICITY_COLUMNS.items()))
    if daily.num_rows == 0:
        _LOG.warning("WARN price_elasticity: no category-days, no elasticity")
        return schema.empty_table()
    daily = daily.select(needed).sort_by([("category_level_2", "ascending"),
                                          ("activity_date", "ascending")])  # fmt: skip
    categories = np.array(daily.column("category_level_2").to_pylist(), dtype=object)
    out: dict[str, list] = {c: [] for c in ELASTICITY_COLUMNS}
    for category in sorted(set(categories.tolist())):
        part = daily.filter(pa.array(categories == category))
        row = _category_row(part, min_log_price_sd, min_days, min_units, interval_level)
        row["category_level_2"] = category
        if row["status"] != "ok":
            _LOG.warning("WARN price_elasticity %s: %s: %s", category, row["status"], row["reason"])
        for column in ELASTICITY_COLUMNS:
            out[column].append(row.get(column))
    return pa.table(out, schema=schema)


def _category_row(
    part: pa.Table, min_log_price_sd: float, min_days: int, min_units: int, level: float
) -> dict:
    views = _column(part, "priced_views")
    log_price = _column(part, "log_price_index")
    shop_views = _column(part, "shop_priced_views") - np.nan_to_num(views)
    shop_sum = _column(part, "shop_log_price_sum") - np.nan_to_num(log_price * views)
    sessions = _column(part, "sessions")
    keep = (views > 0) & ~np.isnan(log_price) & (shop_views > 0) & (sessions > 0)
    units = _column(part, "units")[keep]
    log_price = log_price[keep]
    days, total = int(keep.sum()), int(units.sum())
    row: dict = {"days": days, "units": total, "interval_level": level}
    if days:
        row |= {"log_price_sd": float(np.std(log_price)),
                "price_index_min": float(np.exp(log_price.min())),
                "price_index_max": float(np.exp(log_price.max()))}  # fmt: skip
    if days < min_days or total < min_units:
        return row | {
            "status": "insufficient_data",
            "reason": f"{days} priced days and {total} units sold; the estimate needs at least "
            f"{min_days} days and {min_units} units. No elasticity; no price suggestion.",
        }
    if row["log_price_sd"] < min_log_price_sd:
        return row | {
            "status": "not_identifiable",
            "reason": f"the price barely moved (log price spread {row['log_price_sd']:.3f}, "
            f"index {row['price_index_min']:.2f} - {row['price_index_max']:.2f}; the estimate "
            f"needs {min_log_price_sd:.3f}): units cannot be told apart from price, so no "
            "elasticity is guessed.",
        }
    try:
        slope, error, low, high, p_value = estimate_elasticity(
            units,
            log_price,
            np.log(sessions[keep]),
            shop_sum[keep] / shop_views[keep],
            _column(part, "day_of_week")[keep],
            _column(part, "is_holiday")[keep],
            level,
        )
    except np.linalg.LinAlgError:
        return row | {
            "status": "not_identifiable",
            "reason": "the price moved only together with the calendar or the shop's traffic "
            "(the model cannot tell them apart), so no elasticity is guessed.",
        }
    kind = "elastic" if high < -1 else "inelastic" if low > -1 else "not clearly (in)elastic"
    return row | {
        "elasticity": slope, "std_error": error, "elasticity_ci_low": low,
        "elasticity_ci_high": high, "p_value": p_value, "status": "ok",
        "reason": f"+1 % price, {slope:+.2f} % units ({level:.0%} interval {low:+.2f} to "
        f"{high:+.2f}) on {days} days and {total} units, price index "
        f"{row['price_index_min']:.2f} - {row['price_index_max']:.2f}: {kind}.",
    }  # fmt: skip
