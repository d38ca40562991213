"""Known-answer tests of the price elasticity, the price suggestions, the stock plan's backtest
and the generator's category price moves (issue 15 §1-§2)."""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pyarrow as pa
import pytest

from amazing_analytics.generate import generate_events, pricing
from amazing_analytics.ml.decisions.pricing import (
    DECISION,
    best_change,
    build_price_elasticity,
    build_price_suggestions,
    change_grid,
    estimate_elasticity,
    fit_poisson,
    objective_factor,
)
from amazing_analytics.ml.decisions.stock_backtest import (
    build_stock_plan_backtest,
    wilson_interval,
)

START = dt.date(2020, 1, 6)  # a Monday


# ------------------------------------------------------------------------------ elasticity ---
def _synthetic_category(
    rng: np.random.Generator, slope: float, days: int, base: float, price_sd: float
) -> dict[str, np.ndarray]:
    """Daily Poisson units with log E = log base + slope log p + 0.8 log sessions + weekday."""
    weekday = (np.arange(days) % 7) + 1
    log_price = rng.choice(np.log([0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15]), size=days // 14 + 1)
    log_price = np.repeat(log_price, 14)[:days] * (price_sd / 0.1)
    sessions = 1000.0 * np.exp(0.3 * np.sin(np.arange(days) / 20.0))
    shop = rng.normal(0.0, 0.02, size=days)
    mean = base * np.exp(
        slope * log_price + 0.8 * np.log(sessions / 1000.0) + 0.2 * (weekday >= 6) + 0.5 * shop
    )
    return {"weekday": weekday, "log_price": log_price, "sessions": sessions, "shop": shop,
            "units": rng.poisson(mean).astype(float), "mean": mean}  # fmt: skip


def test_poisson_fit_is_exact_on_noise_free_counts() -> None:
    rng = np.random.default_rng(1)
    design = np.column_stack([np.ones(300), rng.normal(size=300), rng.normal(size=300)])
    beta = np.array([2.0, -1.5, 0.4])
    fit = fit_poisson(design, np.exp(design @ beta))
    np.testing.assert_allclose(fit.coefficients, beta, atol=1e-9)
    assert np.all(fit.std_errors < 1e-6)  # no residual: the sandwich has no meat


def test_elasticity_recovered_on_a_synthetic_series_with_a_known_slope() -> None:
    rng = np.random.default_rng(7)
    series = _synthetic_category(rng, slope=-1.5, days=730, base=50.0, price_sd=0.1)
    slope, error, low, high, p_value = estimate_elasticity(
        series["units"], series["log_price"], np.log(series["sessions"]), series["shop"],
        series["weekday"], np.zeros(730, dtype=bool), 0.9,
    )  # fmt: skip
    # Poisson: standard error about 1 / sqrt(sum of means x var(log price)) = 0.05
    assert low <= -1.5 <= high
    assert abs(slope + 1.5) < 0.12 and 0.03 < error < 0.08
    assert p_value < 1e-6


def test_elasticity_interval_covers_the_truth_at_its_level() -> None:
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(200):
        series = _synthetic_category(rng, slope=-0.8, days=200, base=5.0, price_sd=0.1)
        _, _, low, high, _ = estimate_elasticity(
            series["units"], series["log_price"], np.log(series["sessions"]), series["shop"],
            series["weekday"], np.zeros(200, dtype=bool), 0.9,
        )  # fmt: skip
        covered += low <= -0.8 <= high
    assert 0.84 <= covered / 200 <= 0.96


def _daily_table(categories: dict[str, dict[str, np.ndarray]]) -> pa.Table:
    rows: dict[str, list] = {k: [] for k in (
        "category_level_2", "activity_date", "units", "priced_views", "log_price_index",
        "shop_log_price_sum", "shop_priced_views", "sessions", "day_of_week", "is_holiday")}  # fmt: skip
    days = len(next(iter(categories.values()))["units"])
    for day in range(days):
        shop_sum = sum(100 * c["log_price"][day] for c in categories.values())
        for name, c in categories.items():
            rows["category_level_2"].append(name)
            rows["activity_date"].append(START + dt.timedelta(days=day))
            rows["units"].append(int(c["units"][day]))
            rows["priced_views"].append(100)
            rows["log_price_index"].append(float(c["log_price"][day]))
            # the rest of the shop carries the shop-wide move c["shop"]
            rows["shop_log_price_sum"].append(shop_sum + 1000 * float(c["shop"][day]))
            rows["shop_priced_views"].append(100 * len(categories) + 1000)
            rows["sessions"].append(int(round(c["sessions"][day])))
            rows["day_of_week"].append(int(c["weekday"][day]))
            rows["is_holiday"].append(False)
    return pa.table(rows)


def test_price_elasticity_statuses(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(3)
    moving = _synthetic_category(rng, -2.0, 300, 15.0, 0.1)
    flat = _synthetic_category(rng, -1.0, 300, 15.0, 0.1)
    flat["log_price"] = np.zeros(300)
    tiny = _synthetic_category(rng, -1.0, 300, 0.02, 0.1)
    table = _daily_table({"a.moving": moving, "b.flat": flat, "c.tiny": tiny})
    with caplog.at_level(logging.WARNING):
        out = build_price_elasticity(
            table, min_log_price_sd=0.02, min_days=56, min_units=30, interval_level=0.9
        ).to_pylist()
    by = {r["category_level_2"]: r for r in out}
    assert by["a.moving"]["status"] == "ok"
    assert by["a.moving"]["elasticity_ci_low"] <= -2.0 <= by["a.moving"]["elasticity_ci_high"]
    assert by["a.moving"]["days"] == 300 and by["a.moving"]["units"] == int(moving["units"].sum())
    assert by["b.flat"]["status"] == "not_identifiable" and by["b.flat"]["elasticity"] is None
    assert "barely moved" in by["b.flat"]["reason"]
    assert by["c.tiny"]["status"] == "insufficient_data" and by["c.tiny"]["elasticity"] is None
    assert "WARN price_elasticity b.flat: not_identifiable" in caplog.text
    assert "WARN price_elasticity c.tiny: insufficient_data" in caplog.text


def test_price_that_moves_only_with_the_calendar_is_not_identifiable() -> None:
    rng = np.random.default_rng(4)
    weekend = _synthetic_category(rng, -1.0, 120, 15.0, 0.1)
    weekend["log_price"] = np.where(weekend["weekday"] >= 6, -0.1, 0.0)  # = two weekday dummies
    out = build_price_elasticity(
        _daily_table({"a.weekend": weekend}), min_log_price_sd=0.02, min_days=56, min_units=30,
        interval_level=0.9,
    ).to_pylist()  # fmt: skip
    assert out[0]["status"] == "not_identifiable" and out[0]["elasticity"] is None
    assert "calendar" in out[0]["reason"]


def test_price_elasticity_degrades_and_refuses_bad_input(caplog: pytest.LogCaptureFixture) -> None:
    empty = _daily_table({"a": _synthetic_category(np.random.default_rng(0), -1, 10, 1, 0.1)})
    with caplog.at_level(logging.WARNING):
        out = build_price_elasticity(empty.slice(0, 0), min_log_price_sd=0.02, min_days=56,
                                     min_units=30, interval_level=0.9)  # fmt: skip
    assert out.num_rows == 0 and "no category-days" in caplog.text
    with pytest.raises(ValueError, match="lacks column"):
        build_price_elasticity(empty.drop(["sessions"]), min_log_price_sd=0.02, min_days=56,
                               min_units=30, interval_level=0.9)  # fmt: skip
    with pytest.raises(ValueError, match="interval level"):
        build_price_elasticity(empty, min_log_price_sd=0.02, min_days=56, min_units=30,
                               interval_level=1.0)  # fmt: skip


# ----------------------------------------------------------------------------- suggestions ---
def test_best_change_within_the_guardrails() -> None:
    grid = change_grid(0.10, 0.01)
    assert grid.size == 21 and grid[0] == pytest.approx(-0.10) and grid[-1] == pytest.approx(0.1)
    assert best_change(-2.0, grid, 0.0) == pytest.approx(-0.10)  # elastic: lower
    assert best_change(-0.5, grid, 0.0) == pytest.approx(0.10)  # inelastic: raise
    assert best_change(-1.0, grid, 0.0) == 0.0  # unit elastic: revenue flat, keep
    # margin with cost 70 % of the price at elasticity -3: optimum 1 + r = 0.7 x 3 / 2 = 1.05
    assert best_change(-3.0, grid, 0.7) == pytest.approx(0.05)
    assert objective_factor(0.0, -2.0, 0.0) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        change_grid(0.1, 0.2)


def _performance() -> pa.Table:
    """product_performance's columns; revenue a DECIMAL as in the warehouse."""
    table = pa.table({
        "product_id": [1, 2, 3, 4, 5, 6],
        "brand": ["amazingbasics"] * 5 + ["other"],
        "category_code": ["a.b.c", "a.b.c", "x.y", "a.b.c", "a.b.c", "a.b.c"],
        "performance_label": ["underperforming", "high_potential", "underperforming", "star",
                              "high_potential", "underperforming"],
        "purchases": [10, 0, 5, 50, 4, 3],
        "revenue": [1000.0, 0.0, 100.0, 5000.0, 400.0, 30.0],
    })  # fmt: skip
    return table.set_column(5, "revenue", table["revenue"].cast(pa.decimal128(38, 2)))


def _products() -> pa.Table:
    """products' columns; median_price a DECIMAL as in the warehouse."""
    table = pa.table({
        "product_id": [1, 2, 3, 4, 5, 6], "median_price": [100.0, 50.0, 20.0, 100.0, 100.0, 10.0],
        "category_level_1": ["a", "a", "x", "a", "a", "a"],
        "category_level_2": ["b", "b", "y", "b", "b", "b"],
    })  # fmt: skip
    return table.set_column(1, "median_price", table["median_price"].cast(pa.decimal128(18, 2)))


def _elasticity(slope: float, low: float, high: float) -> pa.Table:
    return pa.table({
        "category_level_2": ["a.b", "x.y"], "elasticity": [slope, None],
        "elasticity_ci_low": [low, None], "elasticity_ci_high": [high, None],
        "status": ["ok", "not_identifiable"], "reason": ["fitted", "the price barely moved"],
    })  # fmt: skip


def test_price_suggestions_known_answers(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        out = build_price_suggestions(
            _performance(), _products(), _elasticity(-2.0, -2.5, -1.5),
            focus_brand="amazingbasics", max_change=0.1, step=0.01, cost_share=0.0,
            window_days=28,
        ).to_pylist()  # fmt: skip
    by = {r["product_id"]: r for r in out}
    assert sorted(by) == [1, 2, 3, 5]  # other brand (6) and labels (4: star) are left out
    first = by[1]
    assert first["status"] == "suggested" and first["suggested_change"] == pytest.approx(-0.1)
    assert first["suggested_price"] == pytest.approx(90.0)
    assert first["expected_units_change"] == pytest.approx(0.9**-2.0 - 1)
    assert first["expected_revenue_change"] == pytest.approx(0.9**-1.0 - 1)
    assert first["expected_revenue_delta"] == pytest.approx(1000 * (0.9**-1 - 1))
    assert first["expected_revenue_delta_low"] == pytest.approx(1000 * (0.9**-0.5 - 1))
    assert first["expected_revenue_delta_high"] == pytest.approx(1000 * (0.9**-1.5 - 1))
    assert first["decision"] == DECISION and "never applied" in first["decision"]
    assert first["objective"] == "revenue" and first["reason"].startswith(
        "Lower the price 10% (100.00 to 90.00)"
    )
    assert by[2]["status"] == "no_sales" and by[2]["suggested_change"] == pytest.approx(-0.1)
    assert by[2]["expected_revenue_delta"] is None and by[2]["expected_units_change"] is not None
    assert by[3]["status"] == "no_elasticity" and by[3]["suggested_change"] == 0.0
    assert "barely moved" in by[3]["reason"]
    assert "WARN price_suggestions 3: no_elasticity" in caplog.text


def test_price_suggestions_uncertain_and_margin() -> None:
    # elasticity -1.2 with an interval crossing -1: the revenue effect may be a loss
    out = build_price_suggestions(
        _performance(), _products(), _elasticity(-1.2, -1.6, -0.8),
        focus_brand="amazingbasics", max_change=0.1, step=0.01, cost_share=0.0, window_days=28,
    ).to_pylist()  # fmt: skip
    assert {r["product_id"]: r["status"] for r in out}[1] == "uncertain"
    margin = build_price_suggestions(
        _performance(), _products(), _elasticity(-3.0, -3.2, -2.8),
        focus_brand="amazingbasics", max_change=0.1, step=0.01, cost_share=0.7, window_days=28,
    ).to_pylist()  # fmt: skip
    assert margin[0]["objective"] == "margin"
    assert margin[0]["suggested_change"] == pytest.approx(0.05)


def test_price_suggestions_degrade(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        out = build_price_suggestions(
            _performance(), _products(), _elasticity(-2, -3, -1), focus_brand="nobody",
            max_change=0.1, step=0.01, cost_share=0.0, window_days=28,
        )  # fmt: skip
    assert out.num_rows == 0 and "no underperforming or high-potential nobody" in caplog.text
    with pytest.raises(ValueError, match="cost share"):
        build_price_suggestions(_performance(), _products(), _elasticity(-2, -3, -1),
                                focus_brand="amazingbasics", max_change=0.1, step=0.01,
                                cost_share=1.0, window_days=28)  # fmt: skip


# -------------------------------------------------------------------------- stock backtest ---
def _backtest(actuals: list[list[float]], sigma: float = 2.0) -> pa.Table:
    """One series, model ets, 7-day lead times at forecast 10 with an 80 % interval of spread
    ``sigma``; ``actuals`` per origin."""
    z80 = NormalDist().inv_cdf(0.9)
    rows: dict[str, list] = {k: [] for k in ("model", "series_id", "measure", "origin_date",
                             "horizon", "actual", "yhat", "yhat_lower", "yhat_upper",
                             "is_calibration")}  # fmt: skip
    for k, days in enumerate(actuals):
        for horizon, actual in enumerate(days, start=1):
            for model in ("ets", "naive"):
                rows["model"].append(model)
                rows["series_id"].append("all")
                rows["measure"].append("units")
                rows["origin_date"].append(START + dt.timedelta(days=7 * k))
                rows["horizon"].append(horizon)
                rows["actual"].append(actual)
                rows["yhat"].append(10.0)
                rows["yhat_lower"].append(10.0 - z80 * sigma)
                rows["yhat_upper"].append(10.0 + z80 * sigma)
                rows["is_calibration"].append(False)
    return pa.table(rows)


def _evaluation() -> pa.Table:
    return pa.table({"series_id": ["all", "all", "all"], "model": ["ets", "naive", "ets"],
                     "measure": ["units", "units", "revenue"],
                     "is_selected": [True, False, False]})  # fmt: skip


def test_stock_plan_backtest_on_a_constructed_case() -> None:
    # daily cover at 95 %: 10 + 1.644854 x 2 = 13.29; reorder point ceil(70 + 1.644854 x 2 x
    # sqrt(7)) = ceil(78.70) = 79
    actuals = [
        [13.0] * 7,  # 7 days within, total 91 > 79: the lead time runs short
        [10.0] * 7,  # 7 within, 70 covered
        [14.0, 10, 10, 10, 10, 10, 10],  # 6 within, 74 covered
        [20.0, 20, 5, 5, 5, 5, 5],  # 5 within, 65 covered
    ]
    out = build_stock_plan_backtest(_backtest(actuals), _evaluation(), lead_time_days=7,
                                    service_level=0.95, interval_level=0.8,
                                    min_origins=4).to_pylist()  # fmt: skip
    (row,) = out
    assert row["model"] == "ets" and row["origins"] == 4 and row["days"] == 28
    assert row["days_within_plan"] == 25
    assert row["achieved_service_level"] == pytest.approx(25 / 28)
    assert row["lead_times_covered"] == 3 and row["lead_time_service_level"] == 0.75
    assert row["mean_reorder_point"] == 79.0
    assert row["mean_lead_time_demand"] == pytest.approx((91 + 70 + 74 + 65) / 4)
    assert row["service_level_gap"] == pytest.approx(25 / 28 - 0.95)
    low, high = wilson_interval(25, 28)
    assert (row["achieved_ci_low"], row["achieved_ci_high"]) == (low, high)
    assert low < 25 / 28 < high and row["status"] == "ok"


def test_wilson_interval_hand_computed() -> None:
    # 8 of 10 at 95 %: centre (0.8 + 0.19207) / 1.38415 = 0.71674, half 0.22740
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)


def test_stock_plan_backtest_degrades(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        few = build_stock_plan_backtest(_backtest([[10.0] * 7]), _evaluation(), lead_time_days=7,
                                        service_level=0.95, interval_level=0.8, min_origins=4)  # fmt: skip
        none = build_stock_plan_backtest(_backtest([[10.0] * 5]), _evaluation(), lead_time_days=7,
                                         service_level=0.95, interval_level=0.8, min_origins=4)  # fmt: skip
        empty = build_stock_plan_backtest(_backtest([[10.0] * 7]), _evaluation().slice(0, 0),
                                          lead_time_days=7, service_level=0.95,
                                          interval_level=0.8, min_origins=4)  # fmt: skip
    assert few.to_pylist()[0]["status"] == "too_few_origins"
    assert none.to_pylist()[0]["status"] == "no_interval"
    assert none.to_pylist()[0]["achieved_service_level"] is None
    assert empty.num_rows == 0
    assert "WARN stock_plan_backtest all: too_few_origins" in caplog.text
    with pytest.raises(ValueError, match="lacks column"):
        build_stock_plan_backtest(_backtest([[1.0]]).drop(["actual"]), _evaluation(),
                                  lead_time_days=7, service_level=0.95, interval_level=0.8,
                                  min_origins=4)  # fmt: skip


# ---------------------------------------------------------------------- generator pricing ---
def test_price_steps_are_seeded_and_flat_categories_never_move() -> None:
    first = pricing.plan_price_steps(200, np.random.default_rng(5))
    again = pricing.plan_price_steps(200, np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)
    for index, code in enumerate(pricing.CATEGORY_CODES):
        moves = pricing.CATEGORY_PRICING[pricing.level_2(code)][1]
        steps = first[:, index]
        assert (len(set(steps.tolist())) > 1) == moves
        # constant within each 14-day period of the category's phase
        assert np.count_nonzero(np.diff(steps)) <= 200 // pricing.PRICE_PERIOD_DAYS + 1
    response = pricing.price_response(first)
    elasticity = pricing.category_elasticity()
    np.testing.assert_allclose(
        response, np.array(pricing.PRICE_STEPS)[first] ** elasticity[None, :]
    )


def test_demo_prices_follow_the_steps_and_the_truth_is_written(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    generate_events(40_000, 42, out)
    with (out / "ground_truth" / "category_price_elasticity.csv").open() as handle:
        truth = {r["category_level_2"]: r for r in csv.DictReader(handle)}
    assert set(truth) == set(pricing.CATEGORY_PRICING)
    for key, (purchase, moves) in pricing.CATEGORY_PRICING.items():
        row = truth[key]
        assert float(row["purchase_elasticity"]) == purchase
        assert (row["price_moves"] == "true") == moves
        if moves:
            # returns and accessories do not respond: the units' elasticity is weaker
            assert purchase < float(row["true_elasticity"]) < 0.5 * purchase
            assert float(row["log_price_sd"]) > 0.03
        else:
            assert row["true_elasticity"] == "" and float(row["log_price_sd"]) == 0.0
    assert math.isfinite(sum(float(r["log_price_sd"]) for r in truth.values()))
