"""Sales forecasting: known answers on synthetic series, leakage, short series, intervals,
selection and determinism."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from amazing_analytics.ml.forecasting import (
    FEATURES,
    MEASURES,
    METRICS,
    MIN_HISTORY_DAYS,
    MODELS,
    _build_panel,
    _Runner,
    backtest,
    feature_importance,
    forecast,
    make_features,
)

LAST = dt.date(2024, 6, 30)
HORIZON = 14
WEEK = np.array([5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0])


def daily_table(series: dict[str, np.ndarray], *, views_noise: int = 0) -> pa.Table:
    """A daily spine per series ending on LAST; units = revenue / 5 rounded; views follow sales."""
    rng = np.random.default_rng(views_noise)
    holidays = {dt.date(2024, 1, 1), dt.date(2024, 5, 27), dt.date(2024, 7, 4)}
    cols: dict[str, list] = {k: [] for k in ("series_id", "date", "revenue", "units", "views")}
    cols.update({k: [] for k in ("price_index", "day_of_week", "week_of_year", "month")})
    cols.update({"is_holiday": [], "days_to_holiday": []})
    for sid, revenue in series.items():
        n = len(revenue)
        for i, value in enumerate(revenue):
            day = LAST - dt.timedelta(days=n - 1 - i)
            units = round(value / 5.0)
            gaps = [(h - day).days for h in holidays if h >= day]
            cols["series_id"].append(sid)
            cols["date"].append(day)
            cols["revenue"].append(float(value))
            cols["units"].append(int(units))
            cols["views"].append(int(units * 10 + rng.integers(0, 3)))
            cols["price_index"].append(1.0 if units > 0 else None)
            cols["day_of_week"].append(day.isoweekday())
            cols["week_of_year"].append(day.isocalendar()[1])
            cols["month"].append(day.month)
            cols["is_holiday"].append(day in holidays)
            cols["days_to_holiday"].append(min(min(gaps), 14) if gaps else 14)
    return pa.table(
        {
            "series_id": pa.array(cols["series_id"], pa.string()),
            "date": pa.array(cols["date"], pa.date32()),
            "revenue": pa.array(cols["revenue"], pa.float64()),
            "units": pa.array(cols["units"], pa.int64()),
            "views": pa.array(cols["views"], pa.int64()),
            "price_index": pa.array(cols["price_index"], pa.float64()),
            "day_of_week": pa.array(cols["day_of_week"], pa.int32()),
            "week_of_year": pa.array(cols["week_of_year"], pa.int32()),
            "month": pa.array(cols["month"], pa.int32()),
            "is_holiday": pa.array(cols["is_holiday"], pa.bool_()),
            "days_to_holiday": pa.array(cols["days_to_holiday"], pa.int32()),
        }
    )


def weekly(days: int, scale: float) -> np.ndarray:
    """A pure weekly pattern whose last day (LAST, a Sunday) is the pattern's last weekday."""
    reps = np.tile(WEEK, days // 7 + 1)[-days:]
    return scale * reps


def metric(table: pa.Table, model: str, series_id: str, name: str) -> float | None:
    rows = [
        r
        for r in table.to_pylist()
        if r["model"] == model and r["series_id"] == series_id and r["metric"] == name
    ]
    assert len(rows) == 1
    return rows[0]["value"]


@pytest.fixture(scope="module")
def mixed() -> pa.Table:
    rng = np.random.default_rng(7)
    intermittent = rng.poisson(0.6, 112).astype(float) * 20.0  # many zero-sales days
    return daily_table(
        {
            "all": weekly(112, 10.0),
            "brand:big": weekly(112, 200.0),
            "category:gaps": intermittent,
            "family:constant": np.full(112, 50.0),
            "family:short": weekly(25, 3.0),
        }
    )


@pytest.fixture(scope="module")
def mixed_backtest(mixed: pa.Table) -> pa.Table:
    return backtest(mixed, "revenue", horizon=HORIZON, origins=2)


@pytest.fixture(scope="module")
def mixed_forecast(mixed: pa.Table, mixed_backtest: pa.Table) -> pa.Table:
    return forecast(mixed, "revenue", horizon=HORIZON, evaluation=mixed_backtest)


def test_backtest_shape_and_columns(mixed_backtest: pa.Table) -> None:
    assert mixed_backtest.column_names == [
        "model",
        "series_id",
        "measure",
        "metric",
        "value",
        "n",
        "status",
        "reason",
    ]
    assert mixed_backtest.num_rows == len(MODELS) * 5 * len(METRICS)
    assert set(pc.unique(mixed_backtest.column("measure")).to_pylist()) == {"revenue"}


def test_weekly_pattern_is_forecast_almost_exactly() -> None:
    table = daily_table({"all": weekly(112, 10.0), "brand:big": weekly(112, 200.0)})
    result = backtest(table, "revenue", horizon=HORIZON, origins=2, models=MODELS)
    for sid, level in (("all", 10.0), ("brand:big", 200.0)):
        mean = WEEK.mean() * level
        assert metric(result, "seasonal_naive", sid, "mae") == pytest.approx(0.0, abs=1e-9)
        # the in-sample seasonal-naive MAE is 0 here, so MASE is null rather than a division by 0
        assert metric(result, "seasonal_naive", sid, "mase") is None
        assert metric(result, "xgboost", sid, "mae") < 0.01 * mean
        assert metric(result, "random_forest", sid, "mae") < 0.01 * mean
        assert metric(result, "prophet", sid, "mae") < 0.05 * mean
        assert metric(result, "moving_average", sid, "mae") > 0.2 * mean


def test_weekly_pattern_mase_near_zero_with_noisy_history() -> None:
    rng = np.random.default_rng(3)
    values = weekly(112, 20.0)
    values[:56] += rng.normal(0.0, 10.0, 56)  # noisy early history gives MASE a denominator
    table = daily_table({"all": np.maximum(values, 0.0), "brand:x": weekly(112, 5.0)})
    result = backtest(table, "revenue", horizon=HORIZON, origins=2, models=("seasonal_naive",))
    assert metric(result, "seasonal_naive", "all", "mase") == pytest.approx(0.0, abs=1e-9)


def test_constant_series() -> None:
    table = daily_table({"all": np.full(84, 50.0), "brand:x": np.full(84, 4.0)})
    result = backtest(table, "revenue", horizon=HORIZON, origins=1)
    fc = forecast(table, "revenue", horizon=HORIZON, evaluation=result)
    for sid, level in (("all", 50.0), ("brand:x", 4.0)):
        rows = [r for r in fc.to_pylist() if r["series_id"] == sid]
        for model in MODELS:
            yhat = [r["yhat"] for r in rows if r["model"] == model]
            assert yhat == pytest.approx([level] * HORIZON, rel=0.01), model
            # no seasonal-naive errors in sample: MASE is null, not a division by zero
            assert metric(result, model, sid, "mase") is None
            assert metric(result, model, sid, "mae") < 0.01 * level
        assert [r["model"] for r in rows if r["is_selected"]] == ["seasonal_naive"] * HORIZON


def test_zero_sales_gaps_run_every_model(
    mixed_backtest: pa.Table, mixed_forecast: pa.Table
) -> None:
    rows = [r for r in mixed_backtest.to_pylist() if r["series_id"] == "category:gaps"]
    assert {r["status"] for r in rows} == {"ok"}
    assert all(r["value"] is not None and np.isfinite(r["value"]) for r in rows)
    mase = [r["value"] for r in rows if r["metric"] == "mase"]
    assert all(0 < v < 5 for v in mase)


def test_short_series_skips_models_with_reasons(
    mixed_backtest: pa.Table, mixed_forecast: pa.Table
) -> None:
    rows = [r for r in mixed_forecast.to_pylist() if r["series_id"] == "family:short"]
    by_model = {r["model"]: r for r in rows}
    for model in ("xgboost", "random_forest"):
        assert by_model[model]["status"] == "skipped"
        assert "too short: 25 day(s)" in by_model[model]["reason"]
        assert str(MIN_HISTORY_DAYS[model]) in by_model[model]["reason"]
        assert all(r["yhat"] is None for r in rows if r["model"] == model)
    assert by_model["prophet"]["status"] == "skipped"  # 25 < 28
    for model in ("seasonal_naive", "moving_average"):
        assert all(r["yhat"] is not None for r in rows if r["model"] == model)
    selected = {r["model"] for r in rows if r["is_selected"]}
    assert selected <= {"seasonal_naive", "moving_average"} and len(selected) == 1
    # backtest origins are 28 and 14 days before LAST: naive ran only at the later one
    bt = [r for r in mixed_backtest.to_pylist() if r["series_id"] == "family:short"]
    assert {r["status"] for r in bt if r["model"] == "xgboost"} == {"skipped"}
    assert all("too short" in r["reason"] for r in bt if r["model"] == "xgboost")
    assert {r["status"] for r in bt if r["model"] == "seasonal_naive"} == {"partial"}


def test_intervals_ordered_and_non_negative(mixed_forecast: pa.Table) -> None:
    ran = mixed_forecast.filter(pc.is_valid(mixed_forecast.column("yhat"))).to_pylist()
    assert ran
    for r in ran:
        assert 0.0 <= r["yhat_lower"] <= r["yhat"] <= r["yhat_upper"], r
    widths = [r["yhat_upper"] - r["yhat_lower"] for r in ran if r["series_id"] == "category:gaps"]
    assert max(widths) > 0


def test_exactly_one_selected_per_series_and_measure(
    mixed_forecast: pa.Table, mixed_backtest: pa.Table
) -> None:
    selected = mixed_forecast.filter(mixed_forecast.column("is_selected")).to_pylist()
    per_series: dict[str, set[str]] = {}
    for r in selected:
        per_series.setdefault(r["series_id"], set()).add(r["model"])
    assert set(per_series) == set(pc.unique(mixed_forecast.column("series_id")).to_pylist())
    assert all(len(models) == 1 for models in per_series.values())
    assert per_series["all"] == {"seasonal_naive"}  # MAE 0, MASE undefined for everyone
    # the gaps series: the model with the lowest backtest MASE
    mase = {m: metric(mixed_backtest, m, "category:gaps", "mase") for m in MODELS}
    assert per_series["category:gaps"] == {min(mase, key=lambda m: mase[m])}
    dates = pc.unique(mixed_forecast.column("forecast_date")).to_pylist()
    assert sorted(dates) == [LAST + dt.timedelta(days=k) for k in range(1, HORIZON + 1)]


def test_selection_uses_mase_not_model_name(mixed: pa.Table, mixed_backtest: pa.Table) -> None:
    # rewrite the evaluation so that prophet has the lowest MASE for 'brand:big'
    rows = mixed_backtest.to_pylist()
    for r in rows:
        if r["series_id"] == "brand:big" and r["metric"] == "mase":
            r["value"] = 0.01 if r["model"] == "prophet" else 5.0
    fake = pa.Table.from_pylist(rows, schema=mixed_backtest.schema)
    result = forecast(mixed, "revenue", horizon=HORIZON, evaluation=fake, models=MODELS)
    chosen = {
        r["model"] for r in result.to_pylist() if r["series_id"] == "brand:big" and r["is_selected"]
    }
    assert chosen == {"prophet"}


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
    changed = changed.set_column(
        changed.schema.get_field_index("price_index"),
        "price_index",
        pc.if_else(after, pa.scalar(9.0), mixed.column("price_index")),
    )
    train_a, future_a = make_features(mixed, "revenue", origin, horizon=HORIZON)
    train_b, future_b = make_features(changed, "revenue", origin, horizon=HORIZON)
    assert future_a.num_rows > 0 and train_a.num_rows > 0
    assert future_a.equals(future_b)
    assert train_a.equals(train_b)
    assert set(FEATURES) <= set(future_a.column_names)
    assert max(train_a.column("example_origin").to_pylist()) < origin


def test_backtest_fits_never_use_data_after_their_origin(mixed: pa.Table) -> None:
    """Every model fitted at an origin gives identical forecasts when later data change."""
    origin_index = 112 - 1 - HORIZON
    noisy = mixed.set_column(
        mixed.schema.get_field_index("revenue"),
        "revenue",
        pc.if_else(
            pc.greater(
                mixed.column("date"), pa.scalar(LAST - dt.timedelta(days=HORIZON), pa.date32())
            ),
            pc.add(pc.multiply(mixed.column("revenue"), 3.0), 11.0),
            mixed.column("revenue"),
        ),
    )
    runs = [
        _Runner(_build_panel(t, extra_days=HORIZON), "revenue", HORIZON, 42, MODELS)
        for t in (mixed, noisy)
    ]
    for model in MODELS:
        a, b = (r.predict(model, origin_index) for r in runs)
        for x, y in zip(a[:3], b[:3], strict=True):
            np.testing.assert_array_equal(x, y, err_msg=model)
        assert a[3].status == b[3].status


def test_deterministic(mixed: pa.Table, mixed_backtest: pa.Table, mixed_forecast: pa.Table) -> None:
    again_bt = backtest(mixed, "revenue", horizon=HORIZON, origins=2)
    again_fc = forecast(mixed, "revenue", horizon=HORIZON, evaluation=again_bt)
    assert again_bt.equals(mixed_backtest)
    assert again_fc.equals(mixed_forecast)


def test_units_measure_and_internal_backtest(mixed: pa.Table) -> None:
    models = ("xgboost", "seasonal_naive", "moving_average")
    result = forecast(mixed, "units", horizon=7, origins=1, models=models)
    assert set(pc.unique(result.column("measure")).to_pylist()) == {"units"}
    assert result.num_rows == 5 * len(models) * 7
    counts = pc.value_counts(result.filter(result.column("is_selected")).column("series_id"))
    assert {c["counts"] for c in counts.to_pylist()} == {7}
    assert "units" in MEASURES


def test_feature_importance(mixed: pa.Table) -> None:
    table = feature_importance(mixed, "revenue", horizon=HORIZON, shap_rows=300)
    assert set(pc.unique(table.column("model")).to_pylist()) == {"xgboost", "random_forest"}
    for model in ("xgboost", "random_forest"):
        rows = [r for r in table.to_pylist() if r["model"] == model]
        assert [r["feature"] for r in rows] == list(FEATURES)
        assert sorted(r["rank"] for r in rows) == list(range(1, len(FEATURES) + 1))
        assert all(r["importance"] >= 0 for r in rows)
    xgb_rows = [r for r in table.to_pylist() if r["model"] == "xgboost"]
    assert all(r["mean_abs_shap"] is not None for r in xgb_rows)
    top = min(xgb_rows, key=lambda r: r["rank"])
    assert top["importance"] > 0
    assert all(
        r["mean_abs_shap"] is None for r in table.to_pylist() if r["model"] == "random_forest"
    )


def test_plain_errors(mixed: pa.Table) -> None:
    with pytest.raises(ValueError, match="Unknown measure"):
        backtest(mixed, "profit")
    with pytest.raises(ValueError, match="missing days"):
        backtest(
            mixed.filter(pc.not_equal(mixed.column("date"), LAST - dt.timedelta(days=3))), "units"
        )
    with pytest.raises(ValueError, match="missing column"):
        forecast(mixed.drop_columns(["views"]), "units")


def test_conformal_bounds_use_finite_sample_ranks() -> None:
    from amazing_analytics.ml.forecasting import _conformal_bounds

    seven = np.array([3.0, -1.0, 0.5, 2.0, -4.0, 1.0, 0.0])
    assert _conformal_bounds(seven).tolist() == [-4.0, 3.0]  # too few errors: the extremes
    ninety_nine = np.arange(1, 100, dtype=float)
    assert _conformal_bounds(ninety_nine).tolist() == [10.0, 90.0]
