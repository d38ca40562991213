"""Sales forecasting: known answers on synthetic series (ETS dynamics, interval coverage under
known noise, exact reconciliation, combinations, short series), leakage, selection as evidence,
holidays, empty input and determinism."""

from __future__ import annotations

import datetime as dt
import logging
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from amazing_analytics.calendar import public_holidays
from amazing_analytics.ml.forecasting import (
    BACKTEST_SCHEMA,
    EVALUATION_SCHEMA,
    FEATURES,
    FORECAST_SCHEMA,
    MIN_HISTORY_DAYS,
    backtest,
    build_backtest,
    build_evaluation,
    build_feature_importance,
    build_forecast,
    evaluate,
    forecast,
    make_features,
)
from amazing_analytics.ml.forecasting.estimators import fit_statistical_series
from amazing_analytics.ml.forecasting.intervals import (
    LEVELS,
    WINDOW_ORIGINS,
    ErrorBank,
    conformal_bounds,
    min_errors,
)
from amazing_analytics.ml.forecasting.panel import build_panel, calendar_features
from amazing_analytics.ml.forecasting.reconciliation import (
    build_hierarchy,
    reconcile,
    reconcile_mint,
    shrunk_covariance,
)
from amazing_analytics.ml.forecasting.selection import (
    ModelErrors,
    choose_members,
    combine,
    select_model,
)

LAST = dt.date(2024, 6, 30)  # a Sunday
HORIZON = 14
WEEK = np.array([5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0])
FAST = ("seasonal_naive", "moving_average", "auto_theta")


def daily_table(series: dict[str, np.ndarray]) -> pa.Table:
    """A daily spine per series ending on LAST; units = revenue / 5 rounded; views follow sales."""
    cols: dict[str, list] = {k: [] for k in ("series_id", "date", "revenue", "units", "views")}
    cols["price_index"] = []
    for sid, revenue in series.items():
        n = len(revenue)
        for i, value in enumerate(revenue):
            units = round(value / 5.0)
            cols["series_id"].append(sid)
            cols["date"].append(LAST - dt.timedelta(days=n - 1 - i))
            cols["revenue"].append(float(value))
            cols["units"].append(int(units))
            cols["views"].append(int(units * 10 + i % 3))
            cols["price_index"].append(1.0 if units > 0 else None)
    types = {"date": pa.date32(), "units": pa.int64(), "views": pa.int64()}
    return pa.table({k: pa.array(v, types.get(k)) for k, v in cols.items()})


def weekly(days: int, scale: float) -> np.ndarray:
    """A pure weekly pattern whose last day (LAST, a Sunday) is the pattern's last weekday."""
    return scale * np.tile(WEEK, days // 7 + 1)[-days:]


def rows_of(table: pa.Table, **where: object) -> list[dict]:
    return [r for r in table.to_pylist() if all(r[k] == v for k, v in where.items())]


def metric(table: pa.Table, model: str, series_id: str, name: str) -> float | None:
    found = rows_of(table, model=model, series_id=series_id, metric=name)
    assert len(found) == 1
    return found[0]["value"]


@pytest.fixture(scope="module")
def mixed() -> pa.Table:
    rng = np.random.default_rng(7)
    return daily_table(
        {
            "all": weekly(98, 10.0) + rng.normal(0, 3.0, 98),
            "brand:big": weekly(98, 200.0),
            "category:gaps": rng.poisson(0.6, 98).astype(float) * 20.0,
            "family:short": weekly(25, 3.0),
        }
    )


@pytest.fixture(scope="module")
def mixed_backtest(mixed: pa.Table) -> pa.Table:
    models = (*FAST, "auto_ets", "xgboost")
    return backtest(mixed, "revenue", horizon=HORIZON, origins=4, step=7, models=models)


def test_backtest_rows_and_columns(mixed_backtest: pa.Table) -> None:
    assert mixed_backtest.schema == BACKTEST_SCHEMA
    models = set(pc.unique(mixed_backtest.column("model")).to_pylist())
    combined = {"combination_mean", "combination_median", "reconciled_best", "reconciled_median"}
    assert models == {*FAST, "auto_ets", "xgboost", *combined}
    # 9 models x 4 series x 4 weekly origins x 14 days
    assert mixed_backtest.num_rows == 9 * 4 * 4 * HORIZON
    origins = sorted(set(mixed_backtest.column("origin_date").to_pylist()))
    assert origins == [LAST - dt.timedelta(days=HORIZON + 7 * k) for k in (3, 2, 1, 0)]


def test_weekly_pattern_is_forecast_almost_exactly() -> None:
    table = daily_table({"all": weekly(84, 10.0), "brand:big": weekly(84, 200.0)})
    models = ("seasonal_naive", "moving_average", "auto_ets", "auto_theta", "xgboost")
    result = evaluate(backtest(table, "revenue", horizon=HORIZON, origins=2, models=models))
    for sid, level in (("all", 10.0), ("brand:big", 200.0)):
        mean = WEEK.mean() * level
        assert metric(result, "seasonal_naive", sid, "mae") == pytest.approx(0.0, abs=1e-9)
        assert metric(result, "seasonal_naive", sid, "mase") is None  # in-sample MAE is 0
        assert metric(result, "auto_ets", sid, "mae") < 0.01 * mean
        assert metric(result, "auto_theta", sid, "mae") < 0.02 * mean
        assert metric(result, "xgboost", sid, "mae") < 0.02 * mean
        assert metric(result, "moving_average", sid, "mae") > 0.2 * mean
        chosen = [
            r["model"] for r in rows_of(result, series_id=sid, metric="mae") if r["is_selected"]
        ]
        assert chosen == ["seasonal_naive"]  # exact, and the simplest


def test_known_ets_dynamics_are_recovered() -> None:
    rng = np.random.default_rng(5)
    alpha, gamma, level, season = 0.3, 0.1, 10.0, list(np.arange(-3.0, 4.0))
    y = []
    for t in range(364):  # ETS(A,N,A): y = l + s + e; l += alpha e; s += gamma e
        e = rng.normal(0.0, 1.0)
        y.append(level + season[t % 7] + e)
        level += alpha * e
        season[t % 7] += gamma * e
    mean, fitted = fit_statistical_series("auto_ets", np.array(y), 14)
    assert str(fitted.model_["components"])[:3] == "ANA"
    assert fitted.model_["par"][0] == pytest.approx(alpha, abs=0.1)
    truth = np.array([level + season[(364 + h) % 7] for h in range(14)])
    assert np.abs(mean - truth).max() < 0.5  # the noise sd is 1


def test_conformal_coverage_on_known_noise() -> None:
    rng = np.random.default_rng(11)
    n_series, horizon, sigma = 30, 14, 10.0
    bank = ErrorBank(horizon)
    inside = {0.8: [], 0.95: []}
    widths = []
    for k in range(40):
        origin = 7 * k
        yhat = np.full((n_series, horizon), 100.0)  # the true mean: errors are pure noise
        actual = 100.0 + rng.normal(0.0, sigma, (n_series, horizon))
        scale = np.full(n_series, 100.0)
        if k >= 12:
            for level in inside:
                low, high = bank.interval(origin, yhat, scale, level)
                inside[level].append((actual >= low) & (actual <= high))
                if level == 0.8:
                    widths.append(float(np.mean(high - low)))
        bank.add(origin, actual, yhat, scale)
    for level, hits in inside.items():
        assert abs(float(np.mean(hits)) - level) < 0.03, level
    assert np.mean(widths) == pytest.approx(2 * 1.2816 * sigma, rel=0.1)


def test_conformal_ranks_and_missing_calibration() -> None:
    assert conformal_bounds(np.arange(1, 100, dtype=float), 0.8) == (10.0, 90.0)
    assert conformal_bounds(np.array([3.0, -1.0, 0.5]), 0.8) == (-1.0, 3.0)  # the extremes
    assert min_errors(0.8) == 9 and min_errors(0.95) == 39
    low, high = ErrorBank(7).interval(0, np.ones((2, 7)), np.ones(2), 0.8)
    assert np.isnan(low).all() and np.isnan(high).all()  # no past errors: no made-up width


def test_days_without_sales_calibrate_a_lower_bound_of_zero() -> None:
    """A day whose actual was 0 scores -inf: with 5 such days of 14 errors the 80 % lower
    bound is 0 (the level's errors would have put it at 20 - 10 = 10, above every day without
    a sale, once the forecast is twice as high), and the upper bound is the one-sided
    ceil(15 x 0.8) = 12th score, the 7th positive error."""
    horizon, scale = 7, np.ones(1) * 10.0
    positives = np.array([-0.3, -0.2, 0.1, 0.4, 0.6, 0.9, 1.2, 1.5, 2.0])
    actual = 10.0 + 10.0 * np.concatenate([np.full(5, -1.0), positives])  # 5 zeros
    bank = ErrorBank(horizon)
    for k, o in enumerate((0, 7)):
        bank.add(o, actual[None, 7 * k : 7 * k + 7], np.full((1, horizon), 10.0), scale)
    assert bank.series_mae(14)[0] == pytest.approx(np.mean(np.abs(actual - 10.0)) / 10.0)
    low, high = bank.interval(14, np.full((1, horizon), 20.0), scale, 0.8)
    np.testing.assert_array_equal(low, 0.0)
    np.testing.assert_allclose(high, 20.0 + 10.0 * positives[6])


def test_coverage_on_zero_inflated_series_with_forecasts_off_by_origin() -> None:
    """Small series: 40 % of days without a sale, forecasts off by a random factor per origin
    (a level mis-estimated, as AutoETS's on the demo's small categories): coverage within 5
    points of 80 % and 95 %, and every day without a sale inside the 80 % interval."""
    rng = np.random.default_rng(5)
    n_series, horizon, mean, p0 = 20, 28, 10.0, 0.4
    bank, scale = ErrorBank(horizon), np.full(n_series, mean)
    hits: dict[float, list] = {0.8: [], 0.95: []}
    zero_days: list[np.ndarray] = []
    for k in range(60):
        yhat = np.tile(mean * np.exp(rng.normal(0.0, 0.4, (n_series, 1))), (1, horizon))
        zero = rng.random((n_series, horizon)) < p0
        actual = np.where(zero, 0.0, rng.poisson(mean / (1 - p0), (n_series, horizon)))
        if k >= 12:
            for level in hits:
                low, high = bank.interval(7 * k, yhat, scale, level)
                inside = (actual >= low) & (actual <= high)
                hits[level].append(inside)
                if level == 0.8:
                    zero_days.append(inside[actual == 0])
        bank.add(7 * k, actual, yhat, scale)
    for level, inside in hits.items():
        assert abs(float(np.mean(inside)) - level) <= 0.05, level
    assert np.concatenate(zero_days).all()


def test_reconciled_forecasts_sum_exactly() -> None:
    rng = np.random.default_rng(3)
    cats = {f"category:a.c{i}": rng.poisson(20, 60).astype(float) for i in range(3)}
    cats["category:b.c9"] = rng.poisson(5, 60).astype(float)
    history = {
        **cats,
        "family:a": sum(cats[f"category:a.c{i}"] for i in range(3)),
        "family:b": cats["category:b.c9"].copy(),
        "family:c": rng.poisson(7, 60).astype(float),  # no categories: a bottom node
        "brand:x": rng.poisson(3, 60).astype(float),  # outside the hierarchy
    }
    history["all"] = history["family:a"] + history["family:b"] + history["family:c"]
    hierarchy = build_hierarchy(history)
    assert hierarchy is not None and "brand:x" not in hierarchy.nodes
    assert set(hierarchy.bottom) == {*cats, "family:c"}
    base = rng.uniform(0.0, 50.0, (len(hierarchy.nodes), 7))
    residuals = rng.normal(0.0, 3.0, (40, len(hierarchy.nodes)))
    for result in (reconcile(base, hierarchy.S), reconcile_mint(base, hierarchy, residuals)):
        idx = {n: i for i, n in enumerate(hierarchy.nodes)}
        fams = ("family:a", "family:b", "family:c")
        np.testing.assert_allclose(result[idx["all"]], sum(result[idx[f]] for f in fams))
        parts = [result[idx[f"category:a.c{i}"]] for i in range(3)]
        np.testing.assert_allclose(result[idx["family:a"]], sum(parts))
        assert (result >= 0).all()
    coherent = hierarchy.S @ rng.uniform(1.0, 9.0, (len(hierarchy.bottom), 7))
    np.testing.assert_allclose(reconcile_mint(coherent, hierarchy, residuals), coherent)
    history["all"] = history["all"] + 1.0  # 'all' no longer adds up: no hierarchy
    assert build_hierarchy(history) is None


def test_shrunk_covariance_is_between_sample_and_diagonal() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3)) @ np.array([[1.0, 0.8, 0.0], [0.0, 0.6, 0.0], [0.0, 0.0, 1.0]])
    shrunk = shrunk_covariance(x)
    sample = x.T @ x / 200
    np.testing.assert_allclose(np.diag(shrunk), np.diag(sample), rtol=1e-6)
    assert 0 < shrunk[0, 1] <= sample[0, 1] + 1e-12
    # the intensity is Schäfer-Strimmer's, written out over every (t, i, j) as before
    z = x / np.sqrt(np.diag(sample))
    w = z[:, :, None] * z[:, None, :]
    var_corr = 200 / 199**3 * ((w - w.mean(axis=0)) ** 2).sum(axis=0)
    corr, off = z.T @ z / 200, ~np.eye(3, dtype=bool)
    lam = var_corr[off].sum() / (corr[off] ** 2).sum()
    np.testing.assert_allclose(shrunk[0, 1], (1 - lam) * sample[0, 1], rtol=1e-9)


def test_combination_of_identical_forecasts_is_that_forecast() -> None:
    path = np.array([3.0, 1.5, 7.25, 0.0])
    stack = np.vstack([path, path, path])
    for how in ("combination_mean", "combination_median"):
        np.testing.assert_array_equal(combine(stack, how), path)
    assert combine(np.array([[1.0], [2.0], [9.0]]), "combination_median").tolist() == [2.0]
    scores = {"auto_ets": 0.2, "auto_arima": 0.1, "xgboost": 0.3, "seasonal_naive": 0.5}
    assert choose_members(scores, list(scores)) == ["auto_arima", "auto_ets", "xgboost"]
    # before any past error: the statistical candidates that ran
    assert choose_members({}, ["xgboost", "auto_ets", "seasonal_naive"]) == [
        "auto_ets",
        "seasonal_naive",
    ]


def test_too_short_series_skips_a_model_with_its_reason(
    mixed_backtest: pa.Table, mixed: pa.Table
) -> None:
    fc = forecast(
        mixed,
        "revenue",
        HORIZON,
        backtest_rows=mixed_backtest,
        models=(*FAST, "auto_ets", "xgboost"),
    )
    short = rows_of(fc, series_id="family:short")
    for model in ("xgboost", "auto_ets"):
        first = rows_of(fc, series_id="family:short", model=model)[0]
        assert first["status"] == "skipped" and first["yhat"] is None
        assert (
            f"too short: 25 day(s) of history at the origin, {model} needs {MIN_HISTORY_DAYS[model]}"
            == first["reason"]
        )
    assert all(r["yhat"] is not None for r in short if r["model"] == "seasonal_naive")
    assert len({r["model"] for r in short if r["is_selected"]}) == 1
    bt = rows_of(mixed_backtest, series_id="family:short", model="auto_theta")
    assert {r["status"] for r in bt} == {"skipped"} and "auto_theta needs 28" in bt[0]["reason"]
    assert (
        rows_of(mixed_backtest, series_id="family:short", model="seasonal_naive")[-1]["status"]
        == "ok"
    )


def test_selection_is_evidence_and_ties_go_to_the_simpler() -> None:
    rng = np.random.default_rng(2)
    origin = np.repeat(np.arange(10), 7)
    day = np.arange(70)
    base = np.abs(rng.normal(10.0, 3.0, 70))

    def errors(values: np.ndarray) -> ModelErrors:
        return ModelErrors(origin, day, values)

    noisy = base + rng.normal(-0.1, 3.0, 70)  # a little better on average, not clearly
    chosen, why = select_model({"auto_ets": errors(base), "xgboost": errors(np.abs(noisy))})
    assert chosen == "auto_ets" and "not clearly better" in why
    chosen, why = select_model({"auto_ets": errors(base), "xgboost": errors(base * 0.7)})
    assert chosen == "xgboost" and "clearly beats auto_ets" in why
    tie = {"auto_arima": errors(base), "seasonal_naive": errors(base.copy())}
    assert select_model(tie)[0] == "seasonal_naive"
    assert (
        select_model({"auto_ets": errors(base), "auto_arima": errors(base * 0.99)})[0]
        == "auto_arima"
    )


def test_selected_model_never_worse_than_best_statistical(mixed_backtest: pa.Table) -> None:
    ev = evaluate(mixed_backtest)
    for sid in ("all", "brand:big", "category:gaps"):
        mae = {r["model"]: r["value"] for r in rows_of(ev, series_id=sid, metric="mae")}
        chosen = [r["model"] for r in rows_of(ev, series_id=sid, metric="mae") if r["is_selected"]]
        stats = [mae[m] for m in (*FAST, "auto_ets") if mae.get(m) is not None]
        assert len(chosen) == 1 and mae[chosen[0]] <= min(stats) + 1e-9


def test_coverage_has_a_bootstrap_interval_over_origins(mixed_backtest: pa.Table) -> None:
    """One series' coverage over a few origins is noisy: it comes with its 95 % interval
    (resampling whole origins), like the MAE; the other metrics have none."""
    ev = evaluate(mixed_backtest)
    with_ci = [r for r in ev.to_pylist() if r["metric"] in ("coverage", "coverage_95")]
    assert any(r["value"] is not None for r in with_ci)
    for r in with_ci:
        if r["value"] is None:
            assert r["ci_low"] is None and r["ci_high"] is None
        else:
            assert 0.0 <= r["ci_low"] <= r["value"] <= r["ci_high"] <= 1.0
    others = [r for r in ev.to_pylist() if r["metric"] in ("rmse", "smape", "mase")]
    assert all(r["ci_low"] is None and r["ci_high"] is None for r in others)


def test_moving_holidays_fall_on_their_true_date_each_year() -> None:
    days = public_holidays("US", 2019, 2020).column("holiday_date").to_pylist()
    dates = [dt.date(2020, 11, d) for d in range(20, 30)]
    cal = calendar_features(dates, days)
    flagged = [d for d, h in zip(dates, cal["is_holiday"], strict=True) if h]
    assert flagged == [dt.date(2020, 11, 26)]  # Thanksgiving 2020, not 2019's 28 November
    assert cal["days_to_holiday"][0] == 6 and cal["days_since_holiday"][-1] == 3
    table = daily_table({"all": weekly(60, 1.0)})
    panel = build_panel(table, extra_days=200, holiday_dates=days)
    assert dt.date(2020, 11, 26) in panel.holidays and dt.date(2020, 11, 28) not in panel.holidays


def test_make_features_never_reads_after_origin(mixed: pa.Table) -> None:
    origin = LAST - dt.timedelta(days=30)
    after = pc.greater(mixed.column("date"), pa.scalar(origin, pa.date32()))
    changed = mixed
    for name, factor in (("revenue", 7.0), ("views", 3)):
        col = mixed.column(name)
        changed = changed.set_column(
            changed.schema.get_field_index(name),
            name,
            pc.if_else(after, pc.multiply(col, pa.scalar(factor, col.type)), col),
        )
    train_a, future_a = make_features(mixed, "revenue", origin, horizon=HORIZON)
    train_b, future_b = make_features(changed, "revenue", origin, horizon=HORIZON)
    assert future_a.num_rows > 0 and train_a.num_rows > 0
    assert future_a.equals(future_b) and train_a.equals(train_b)
    assert set(FEATURES) <= set(future_a.column_names)


def test_backtest_never_uses_data_after_its_origins(
    mixed: pa.Table, mixed_backtest: pa.Table
) -> None:
    last_origin = LAST - dt.timedelta(days=HORIZON)
    after = pc.greater(mixed.column("date"), pa.scalar(last_origin, pa.date32()))
    noisy = mixed.set_column(
        mixed.schema.get_field_index("revenue"),
        "revenue",
        pc.if_else(
            after, pc.add(pc.multiply(mixed.column("revenue"), 3.0), 11.0), mixed.column("revenue")
        ),
    )
    models = (*FAST, "auto_ets", "xgboost")
    again = backtest(noisy, "revenue", horizon=HORIZON, origins=4, step=7, models=models)
    # forecasts and intervals at every origin are identical: only the actuals differ
    for name in ("yhat", "yhat_lower", "yhat_upper", "yhat_lower_95", "yhat_upper_95"):
        assert again.column(name).equals(mixed_backtest.column(name)), name


def test_forecast_intervals_selection_and_determinism(
    mixed: pa.Table, mixed_backtest: pa.Table
) -> None:
    models = (*FAST, "auto_ets", "xgboost")
    ev = evaluate(mixed_backtest)
    fc = forecast(
        mixed, "revenue", HORIZON, backtest_rows=mixed_backtest, evaluation=ev, models=models
    )
    assert fc.schema == FORECAST_SCHEMA
    for r in fc.to_pylist():
        if r["yhat"] is not None and r["yhat_lower"] is not None:
            assert 0.0 <= r["yhat_lower"] <= r["yhat"] <= r["yhat_upper"] <= r["yhat_upper_95"]
            assert r["yhat_lower_95"] <= r["yhat_lower"]
    for sid in ("all", "brand:big", "category:gaps", "family:short"):
        chosen = {r["model"] for r in rows_of(fc, series_id=sid) if r["is_selected"]}
        assert len(chosen) == 1
        expected = [
            r["model"] for r in rows_of(ev, series_id=sid, metric="mae") if r["is_selected"]
        ]
        if expected and sid != "family:short":
            assert chosen == set(expected)
    dates = sorted(set(fc.column("forecast_date").to_pylist()))
    assert dates == [LAST + dt.timedelta(days=k) for k in range(1, HORIZON + 1)]
    again = backtest(mixed, "revenue", horizon=HORIZON, origins=4, step=7, models=models)
    assert again.equals(mixed_backtest)
    assert evaluate(again).equals(ev)


def test_build_steps_reconcile_a_coherent_hierarchy() -> None:
    rng = np.random.default_rng(4)
    a, b = weekly(70, 4.0) + rng.poisson(3, 70), weekly(70, 1.0) + rng.poisson(2, 70)
    c = rng.poisson(5, 70).astype(float)
    fam = a + b
    table = daily_table(
        {"category:x.a": a, "category:x.b": b, "family:x": fam, "family:y": c, "all": fam + c}
    )
    models = "seasonal_naive moving_average auto_theta"
    # units are revenue / 5 rounded per series, so only revenue is exactly coherent here
    bt = build_backtest(table, 7, 6, 7, 42, models=models)
    ev = build_evaluation(bt, 42)
    levels = {r["model"] for r in ev.to_pylist() if r["measure"] == "revenue"}
    assert {"selected", "reconciled"} <= levels
    fc = build_forecast(table, bt, ev, 7, 42, models=models)
    rec = {
        r["series_id"]: r["yhat_reconciled"]
        for r in fc.to_pylist()
        if r["is_selected"]
        and r["measure"] == "revenue"
        and r["forecast_date"] == LAST + dt.timedelta(days=1)
    }
    assert rec["all"] == pytest.approx(rec["family:x"] + rec["family:y"], rel=1e-9)
    assert rec["family:x"] == pytest.approx(rec["category:x.a"] + rec["category:x.b"], rel=1e-9)


def test_the_evaluation_does_not_depend_on_the_order_of_the_backtest_rows() -> None:
    # DuckDB hands a table's rows to a Python model in the order its threads scan them: the
    # same backtest in another order must give the same evaluation, to the last bit
    rng = np.random.default_rng(8)
    series = {
        f"family:{name}": weekly(84, level) + rng.gamma(2.0, 1.7, 84)
        for name, level in (("x", 3.0), ("y", 1.3), ("z", 7.1))
    }
    series["all"] = sum(series.values())
    bt = build_backtest(daily_table(series), 7, 6, 7, 42, models="seasonal_naive auto_theta")
    shuffled = bt.take(pa.array(np.random.default_rng(1).permutation(bt.num_rows)))
    assert build_evaluation(shuffled, 42).equals(build_evaluation(bt, 42))


def test_nothing_to_forecast_degrades_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    empty = daily_table({}).cast(daily_table({"all": np.ones(3)}).schema)
    with caplog.at_level(logging.WARNING):
        bt = build_backtest(empty, 28, 12, 7, 42)
        ev = build_evaluation(bt, 42)
        fc = build_forecast(empty, bt, ev, 28, 42)
        fi = build_feature_importance(empty, 28, 42)
    assert bt.num_rows == 0 and fc.num_rows == 0 and fi.num_rows == 0
    assert ev.schema == EVALUATION_SCHEMA and ev.num_rows > 0
    assert set(ev.column("status").to_pylist()) == {"skipped"}
    assert all(r.startswith("no data to forecast") for r in ev.column("reason").to_pylist())
    assert sum("no data to forecast" in m for m in caplog.messages) >= 3


def test_plain_errors(mixed: pa.Table) -> None:
    with pytest.raises(ValueError, match="Unknown measure"):
        backtest(mixed, "profit")
    with pytest.raises(ValueError, match="Unknown model"):
        backtest(mixed, "units", models=("lstm",))
    with pytest.raises(ValueError, match="missing days"):
        backtest(
            mixed.filter(pc.not_equal(mixed.column("date"), LAST - dt.timedelta(days=3))), "units"
        )
    with pytest.raises(ValueError, match="lacks column"):
        forecast(mixed.drop_columns(["views"]), "units")
    assert math.isnan(conformal_bounds(np.zeros(0), 0.8)[0])


def test_the_95_interval_always_contains_the_80_interval() -> None:
    """Levels calibrated on different errors (a series' own vs the pool) are nested afterwards;
    an undefined wider bound stays undefined."""
    import numpy as np

    from amazing_analytics.ml.forecasting.intervals import nest_intervals

    narrow = (np.array([[0.0, 1.0, 2.0]]), np.array([[2.7, 3.0, 4.0]]))
    wide = (np.array([[0.0, 1.5, np.nan]]), np.array([[2.3, 3.5, np.nan]]))
    nested = nest_intervals({0.95: wide, 0.8: narrow})
    np.testing.assert_array_equal(nested[0.8][0], narrow[0])
    np.testing.assert_array_equal(nested[0.95][0], [[0.0, 1.0, np.nan]])
    np.testing.assert_array_equal(nested[0.95][1], [[2.7, 3.5, np.nan]])


def test_intervals_use_only_errors_known_at_the_origin() -> None:
    """No leakage: an interval at origin 14 reads only errors whose target day is <= 14."""
    rng = np.random.default_rng(8)
    horizon, n_series = 14, 3
    scale, yhat = np.ones(n_series), np.full((n_series, horizon), 50.0)
    errors = {o: rng.normal(0.0, 2.0, (n_series, horizon)) for o in (0, 7, 14)}

    def bank_with(errs: dict[int, np.ndarray]) -> ErrorBank:
        bank = ErrorBank(horizon, window=None)
        for o, e in errs.items():
            bank.add(o, yhat + e, yhat, scale)
        return bank

    changed = {o: e.copy() for o, e in errors.items()}
    changed[7][:, 7:] *= 100.0  # origin 7's days 15..21: after 14
    changed[14] *= 100.0  # every day of origin 14 is after it
    for level in (0.8, 0.95):
        a = bank_with(errors).interval(14, yhat, scale, level)
        b = bank_with(changed).interval(14, yhat, scale, level)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    known = bank_with(errors).known_matrix(14)
    assert known.shape == (n_series, horizon + 7)  # origin 0: 14 days, origin 7: 7 days


def test_intervals_follow_the_recent_window_and_pool_by_band() -> None:
    """Old, wide errors (a peak) leave the window; a series with too few errors in a band uses
    its own errors of the earlier bands before other series'."""
    rng = np.random.default_rng(9)
    horizon, n_series = 7, 2
    scale, yhat = np.ones(n_series), np.full((n_series, horizon), 100.0)
    bank = ErrorBank(horizon, window=8)
    for k in range(30):
        sigma = 50.0 if k < 15 else 1.0  # the first 15 weeks are a noisy peak
        bank.add(7 * k, yhat + rng.normal(0.0, sigma, (n_series, horizon)), yhat, scale)
    low, high = bank.interval(7 * 30, yhat, scale, 0.8)
    width = float(np.mean(high - low))
    assert width == pytest.approx(2 * 1.2816 * 1.0, rel=0.35)  # the recent sigma, not 50
    wide_low, wide_high = ErrorBank(
        horizon, bank.origins, bank.errors, window=None, floors=bank.floors
    ).interval(7 * 30, yhat, scale, 0.8)
    assert float(np.mean(wide_high - wide_low)) > 10 * width  # every origin: the peak's width
    # band pooling: at origin 14, band 2 (days 8-14) has only origin 0's 7 errors (< 9)
    horizon = 14
    yhat = np.full((n_series, horizon), 100.0)
    pooled = ErrorBank(horizon, window=8)
    for o in (0, 7):
        noise = rng.normal(0.0, 1.0, (n_series, horizon)) * np.array([[1.0], [100.0]])
        pooled.add(o, yhat + noise, yhat, scale)
    low, high = pooled.interval(14, yhat, scale, 0.8)
    assert np.isfinite(high).all()
    assert float(np.max(high[0, 7:] - yhat[0, 7:])) < 5.0  # its own errors, not series 1's
    assert float(np.min(high[1, 7:] - yhat[1, 7:])) > 20.0


def _known_noise_coverage(window: int, rng: np.random.Generator) -> dict:
    """Coverage and mean width per (group, horizon band, level) of intervals from an ErrorBank
    fed 60 weekly origins of pure noise whose sd is known: 5 % of the level for the series
    alone at its level ('all'), 10 % for 4 families, 30 % for 20 categories (one of them
    starting at origin 40, so it borrows its level's errors first), times 1 + band / 4 (the
    error grows with the horizon)."""
    horizon = 28
    groups = np.array(["all"] + ["category_family"] * 4 + ["category"] * 20)
    level = np.array([1000.0] + [250.0] * 4 + [50.0] * 20)
    relative = np.array([0.05] + [0.10] * 4 + [0.30] * 20)
    sigma = (level * relative)[:, None] * (1.0 + (np.arange(horizon) // 7)[None, :] / 4.0)
    bank = ErrorBank(horizon, window=window)
    hits: dict = {}
    for k in range(60):
        origin = 7 * k
        yhat = np.tile(level[:, None], (1, horizon))  # the true mean: errors are pure noise
        if k < 40:
            yhat[-1] = np.nan  # the young category has no forecast yet
        actual = yhat + rng.normal(0.0, 1.0, yhat.shape) * sigma
        if k >= 12:
            for lv in LEVELS:
                low, high = bank.interval(origin, yhat, level, lv, groups)
                for g in np.unique(groups):
                    for b in range(4):
                        rows, cols = groups == g, slice(7 * b, 7 * b + 7)
                        ok = np.isfinite(low[rows, cols])
                        inside = (actual[rows, cols] >= low[rows, cols]) & (
                            actual[rows, cols] <= high[rows, cols]
                        )
                        width = (high[rows, cols] - low[rows, cols]) / sigma[rows, cols]
                        hits.setdefault((g, b, lv), []).append((inside[ok], width[ok]))
        bank.add(origin, actual, yhat, level)
    return {
        key: (
            float(np.mean(np.concatenate([h for h, _ in parts]))),
            float(np.mean(np.concatenate([w for _, w in parts]))),
        )
        for key, parts in hits.items()
    }


def test_coverage_on_known_noise_for_every_level_and_horizon_band() -> None:
    """The target of issue 16: within 5 points of 80 % and of 95 % at every level (the whole
    shop alone at its level too) and in every horizon band, with the default window and with
    the previous one (8 origins); widths near the true ones (2 x 1.2816 and 2 x 1.96 sigma;
    wider by up to a quarter at 95 %, where 42 errors give their extremes as the bounds)."""
    assert WINDOW_ORIGINS == 6  # the fewest weekly origins with 39 errors of one band
    for window in (WINDOW_ORIGINS, 8):
        result = _known_noise_coverage(window, np.random.default_rng(21))
        assert len(result) == 3 * 4 * 2
        for (group, band, lv), (coverage, width) in result.items():
            assert abs(coverage - lv) <= 0.05, (window, group, band, lv, coverage)
            if window == WINDOW_ORIGINS:
                z = 1.2816 if lv == 0.8 else 1.96
                assert 0.9 * 2 * z <= width <= 1.25 * 2 * z, (group, band, lv, width)


def test_reconciled_candidates_add_up_at_every_origin_and_compete() -> None:
    rng = np.random.default_rng(12)
    a, b = weekly(84, 4.0) + rng.poisson(3, 84), weekly(84, 1.0) + rng.poisson(2, 84)
    c = rng.poisson(5, 84).astype(float)
    table = daily_table(
        {
            "category:x.a": a,
            "category:x.b": b,
            "family:x": a + b,
            "family:y": c,
            "all": a + b + c,
            "brand:z": c,
        }
    )
    bt = backtest(table, "revenue", horizon=7, origins=6, step=7, models=FAST)
    for name in ("reconciled_best", "reconciled_median"):
        rows = [r for r in bt.to_pylist() if r["model"] == name]
        brand = [r for r in rows if r["series_id"] == "brand:z"]
        assert {r["status"] for r in brand} == {"skipped"}
        assert "not in the coherent hierarchy" in brand[0]["reason"]
        node = {
            (r["series_id"], r["origin_date"], r["forecast_date"]): r["yhat"]
            for r in rows
            if r["status"] == "ok"
        }
        keys = {(o, d) for _, o, d in node}
        assert len(keys) == 6 * 7
        for o, d in keys:
            fam = node[("category:x.a", o, d)] + node[("category:x.b", o, d)]
            assert node[("family:x", o, d)] == pytest.approx(fam, rel=1e-9, abs=1e-9)
            total = node[("family:x", o, d)] + node[("family:y", o, d)]
            assert node[("all", o, d)] == pytest.approx(total, rel=1e-9, abs=1e-9)
    ev = evaluate(bt)
    assert {"reconciled_best", "reconciled_median"} <= set(ev.column("model").to_pylist())
    chosen = [r for r in ev.to_pylist() if r["is_selected"] and r["metric"] == "mae"]
    assert len(chosen) == 6  # one per series; a reconciled one only if it clearly wins
