"""Price suggestions for the focus brand (price_suggestions).

For the focus brand's ``underperforming`` and ``high_potential`` products, the price change
within the guardrail (±var, on a grid of var step) that maximises the expected revenue
``(1 + r) ** (1 + elasticity)`` or, with a cost share ``c`` of the current price, the expected
margin ``(1 + r) ** elasticity * (1 + r - c)``, with the effect of the elasticity's interval.
They are for marketing to decide; nothing is applied.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pyarrow as pa

_LOG = logging.getLogger(__name__)

DECISION = "suggestion for marketing to decide; never applied automatically"
SUGGESTED_LABELS = ("underperforming", "high_potential")


SUGGESTION_COLUMNS = {
    "product_id": pa.int64(),
    "brand": pa.string(),
    "category_code": pa.string(),
    "category_level_2": pa.string(),
    "performance_label": pa.string(),
    "current_price": pa.float64(),
    "elasticity": pa.float64(),
    "elasticity_ci_low": pa.float64(),
    "elasticity_ci_high": pa.float64(),
    "objective": pa.string(),
    "suggested_change": pa.float64(),
    "suggested_price": pa.float64(),
    "window_days": pa.int64(),
    "baseline_units": pa.int64(),
    "baseline_revenue": pa.float64(),
    "expected_units_change": pa.float64(),
    "expected_revenue_change": pa.float64(),
    "expected_revenue_delta": pa.float64(),
    "expected_revenue_delta_low": pa.float64(),
    "expected_revenue_delta_high": pa.float64(),
    "status": pa.string(),
    "reason": pa.string(),
    "decision": pa.string(),
}


def change_grid(max_change: float, step: float) -> np.ndarray:
    """The price changes considered: ``-max_change .. +max_change`` by ``step`` (0 included)."""
    if not 0.0 < max_change < 1.0 or not 0.0 < step <= max_change:
        raise ValueError("max_change must be in (0, 1) and step in (0, max_change]")
    count = int(math.floor(max_change / step + 1e-9))
    return np.arange(-count, count + 1) * step


def objective_factor(
    change: np.ndarray | float, elasticity: float, cost_share: float
) -> np.ndarray:
    """Expected revenue (cost share 0) or margin per unit of today's, after a price change."""
    price = 1.0 + np.asarray(change, dtype=float)
    return price**elasticity * (price - cost_share) / (1.0 - cost_share)


def best_change(elasticity: float, grid: np.ndarray, cost_share: float) -> float:
    """The change of ``grid`` with the highest expected objective (ties: the smallest move)."""
    value = objective_factor(grid, elasticity, cost_share)
    best = value.max()
    candidates = grid[value >= best - 1e-12]
    return float(candidates[np.argmin(np.abs(candidates))])


def build_price_suggestions(
    performance: pa.Table,
    products: pa.Table,
    elasticity: pa.Table,
    *,
    focus_brand: str,
    max_change: float,
    step: float,
    cost_share: float,
    window_days: int,
) -> pa.Table:
    """price_suggestions: one row per focus-brand product labelled underperforming or
    high_potential in product_performance.

    Args:
        performance: product_performance (product_id, brand, category_code, performance_label,
            purchases, revenue): the last window's sales are the baseline.
        products: products (product_id, median_price, category_level_1, category_level_2).
        elasticity: price_elasticity.
        focus_brand: The brand whose products get suggestions.
        max_change: Guardrail: the change stays within ±max_change (0.1 = ±10 %).
        step: Grid step of the changes considered.
        cost_share: Unit cost as a share of the current price; 0 maximises revenue, above 0
            margin.
        window_days: Length of product_performance's window (the baseline's).

    Returns:
        Columns of ``SUGGESTION_COLUMNS`` sorted by product; status ``suggested``,
        ``uncertain`` (the interval of the revenue effect contains 0), ``keep_price`` (the best
        change is none), ``no_sales`` (no sales in the window: the effect cannot be sized) or
        ``no_elasticity`` (the category's elasticity is not estimated: the documented fallback
        is no change). Empty with a WARN when the brand has no such product.
    """
    if not 0.0 <= cost_share < 1.0:
        raise ValueError(f"cost share must be in [0, 1), got {cost_share}")
    grid = change_grid(max_change, step)
    schema = pa.schema(list(SUGGESTION_COLUMNS.items()))
    prices = {r["product_id"]: r for r in products.select(
        ["product_id", "median_price", "category_level_1", "category_level_2"]).to_pylist()}  # fmt: skip
    estimates = {r["category_level_2"]: r for r in elasticity.to_pylist()}
    rows = [
        r
        for r in performance.select(
            ["product_id", "brand", "category_code", "performance_label", "purchases", "revenue"]
        ).to_pylist()  # fmt: skip
        if r["brand"] == focus_brand and r["performance_label"] in SUGGESTED_LABELS
    ]
    if not rows:
        _LOG.warning("WARN price_suggestions: no underperforming or high-potential %s product",
                     focus_brand)  # fmt: skip
        return schema.empty_table()
    objective = "margin" if cost_share > 0 else "revenue"
    out: dict[str, list] = {c: [] for c in SUGGESTION_COLUMNS}
    for row in sorted(rows, key=lambda r: r["product_id"]):
        product = prices.get(row["product_id"], {})
        values = _product_row(row, product, estimates, grid, cost_share, objective, window_days)
        for column in SUGGESTION_COLUMNS:
            out[column].append(values.get(column))
    return pa.table(out, schema=schema)


def _product_row(
    row: dict,
    product: dict,
    estimates: dict[str, dict],
    grid: np.ndarray,
    cost_share: float,
    objective: str,
    window_days: int,
) -> dict:
    """One product's suggestion with its identity, the objective and the decision note."""
    level_2 = _level_2(product)
    values = _suggestion(
        row, product, estimates.get(level_2), grid, cost_share, objective, window_days
    )
    values |= {"product_id": row["product_id"], "brand": row["brand"],
               "category_code": row["category_code"], "category_level_2": level_2,
               "performance_label": row["performance_label"], "objective": objective,
               "window_days": window_days, "decision": DECISION}  # fmt: skip
    if values["status"] in ("no_elasticity", "no_sales"):
        _LOG.warning("WARN price_suggestions %s: %s", row["product_id"], values["status"])
    return values


def _level_2(product: dict) -> str | None:
    first, second = product.get("category_level_1"), product.get("category_level_2")
    return f"{first}.{second}" if first and second else None


def _suggestion(
    row: dict,
    product: dict,
    estimate: dict | None,
    grid: np.ndarray,
    cost: float,
    objective: str,
    window: int,
) -> dict:
    price = None if product.get("median_price") is None else float(product["median_price"])
    units = int(row["purchases"] or 0)
    revenue = float(row["revenue"] or 0.0)
    base = {"current_price": price, "baseline_units": units, "baseline_revenue": revenue}
    if estimate is None or estimate.get("status") != "ok" or price is None:
        why = (estimate or {}).get("reason") or "no elasticity for its category"
        return base | {
            "suggested_change": 0.0, "suggested_price": price, "status": "no_elasticity",
            "reason": f"Keep the price: the category's elasticity is not estimated ({why}).",
        }  # fmt: skip
    slope, low, high = (float(estimate[k]) for k in ("elasticity", "elasticity_ci_low",
                                                     "elasticity_ci_high"))  # fmt: skip
    change = best_change(slope, grid, cost)
    factor = 1.0 + change
    delta = [revenue * (factor ** (1.0 + e) - 1.0) for e in (slope, low, high)]
    values = base | {
        "elasticity": slope, "elasticity_ci_low": low, "elasticity_ci_high": high,
        "suggested_change": change, "suggested_price": round(float(price) * factor, 2),
        "expected_units_change": factor**slope - 1.0,
        "expected_revenue_change": factor ** (1.0 + slope) - 1.0,
        "expected_revenue_delta": delta[0], "expected_revenue_delta_low": min(delta),
        "expected_revenue_delta_high": max(delta),
    }  # fmt: skip
    side = "elastic (below -1)" if slope < -1 else "inelastic (above -1)"
    if change == 0.0:
        return values | {"status": "keep_price",
                         "reason": f"Keep the price: at elasticity {slope:.2f} no change within "
                         f"±{grid.max():.0%} raises the expected {objective}."}  # fmt: skip
    move = f"{'Lower' if change < 0 else 'Raise'} the price {abs(change):.0%}"
    reason = (
        f"{move} ({float(price):.2f} to {float(price) * factor:.2f}): its category is {side} "
        f"at {slope:.2f} ({low:.2f} to {high:.2f}), so units change {factor**slope - 1:+.1%} "
        f"and revenue {factor ** (1 + slope) - 1:+.1%}"
    )
    if objective == "margin":
        reason += f"; this change maximises the margin at a cost of {cost:.0%} of the price"
    if units == 0:
        unsized = dict.fromkeys(("expected_revenue_delta", "expected_revenue_delta_low",
                                 "expected_revenue_delta_high"))  # fmt: skip
        return values | unsized | {"status": "no_sales", "reason": reason + ". It sold nothing "
                                   "in the window, so the effect in money cannot be sized."}  # fmt: skip
    reason += (
        f": {delta[0]:+.2f} of revenue over {window} days like the last ({revenue:.2f}), "
        f"{min(delta):+.2f} to {max(delta):+.2f}"
    )
    if min(delta) < 0 < max(delta):
        return values | {"status": "uncertain", "reason": reason + ". The interval contains a "
                         "revenue loss: test it before rolling it out."}  # fmt: skip
    return values | {"status": "suggested", "reason": reason + "."}
