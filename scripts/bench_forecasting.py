"""Time the whole forecasting backtest and forecast on synthetic hierarchical daily series.

    .venv/bin/python scripts/bench_forecasting.py --series 150 --days 210

The series form a coherent hierarchy (categories add up to families, families to 'all'), one
category in ten starts later. The backtest (var defaults: 12 weekly origins x 28 days, both
measures, every default candidate and the combinations) is timed per step, then the evaluation
(metrics, selection, reconciliation) and the final forecast.
"""

from __future__ import annotations

import argparse
import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa

from amazing_analytics.bench import StepTimer, peak_rss_gb
from amazing_analytics.calendar import public_holidays
from amazing_analytics.ml.forecasting import build_backtest, build_evaluation, build_forecast

LAST = dt.date(2024, 6, 30)


def _category(rng: np.random.Generator, dates: list[dt.date], holidays: set[dt.date]) -> tuple:
    level = float(rng.lognormal(1.5, 1.0))
    weekly = 1.0 + 0.4 * np.sin(2 * np.pi * (np.arange(7) + rng.integers(0, 7)) / 7)
    trend = 1.0 + rng.normal(0.0, 0.002) * np.arange(len(dates))
    bump = 1 + 0.5 * np.isin(dates, list(holidays))
    mean = np.maximum(level * trend * weekly[[d.weekday() for d in dates]] * bump, 0.0)
    units = rng.poisson(mean).astype(float)
    price = 20.0 * rng.lognormal(0.0, 0.3) * rng.normal(1.0, 0.05, len(dates))
    views = units * 12 + rng.poisson(5, len(dates))
    return units, units * price, views


def synthetic_daily(n_series: int, days: int, seed: int, families: int = 10) -> pa.Table:
    """'all', ``families`` families and ``n_series - families - 1`` categories, coherent."""
    rng = np.random.default_rng(seed)
    holidays = set(
        public_holidays("US", LAST.year - 1, LAST.year).column("holiday_date").to_pylist()
    )
    dates = [LAST - dt.timedelta(days=days - 1 - i) for i in range(days)]
    n_cat = max(n_series - families - 1, families)
    series: dict[str, tuple[str, np.ndarray, np.ndarray, np.ndarray]] = {}
    for c in range(n_cat):
        units, revenue, views = _category(rng, dates, holidays)
        if c % 10 == 9:  # a newer category: nothing before its first day
            first = int(rng.integers(days // 2, days - 20))
            units[:first] = revenue[:first] = views[:first] = np.nan
        series[f"category:f{c % families:02d}.c{c:03d}"] = ("category", units, revenue, views)
    for f in range(families):
        members = [v for k, v in series.items() if k.startswith(f"category:f{f:02d}.")]
        stack = [np.nansum([m[i] for m in members], axis=0) for i in (1, 2, 3)]
        series[f"family:f{f:02d}"] = ("category_family", *stack)
    fams = [v for k, v in series.items() if k.startswith("family:")]
    series["all"] = ("all", *[np.sum([m[i] for m in fams], axis=0) for i in (1, 2, 3)])
    cols: dict[str, list] = {
        k: []
        for k in ("series_id", "series_level", "date", "revenue", "units", "views", "price_index")
    }
    for sid, (level, units, revenue, views) in series.items():
        for i, day in enumerate(dates):
            if np.isnan(units[i]):
                continue
            cols["series_id"].append(sid)
            cols["series_level"].append(level)
            cols["date"].append(day)
            cols["revenue"].append(float(revenue[i]))
            cols["units"].append(int(units[i]))
            cols["views"].append(int(views[i]))
            cols["price_index"].append(1.0 if units[i] else None)
    types = {"date": pa.date32(), "units": pa.int64(), "views": pa.int64()}
    return pa.table({k: pa.array(v, types.get(k)) for k, v in cols.items()})


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=150)
    parser.add_argument("--days", type=int, default=210)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--origins", type=int, default=12)
    parser.add_argument("--step", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--refit-every", type=int, default=8)
    parser.add_argument("--calibration-origins", type=int, default=8)
    return parser.parse_args()


def _print_quality(evaluation: pa.Table, forecasts: pa.Table) -> None:
    """Median MASE, coverage and selections per model, then the mean MAE by level."""
    con = duckdb.connect()
    con.register("ev", evaluation)
    con.register("fc", forecasts)
    print(
        con.sql(
            "select measure, model, round(median(value) filter (where metric = 'mase'), 3) as median_mase,"
            " round(avg(value) filter (where metric = 'coverage'), 3) as coverage_80,"
            " round(avg(value) filter (where metric = 'coverage_95'), 3) as coverage_95,"
            " count(*) filter (where is_selected and metric = 'mae') as selected"
            " from ev group by all order by measure, median_mase"
        )
    )
    print(
        con.sql(
            "select measure, series_level, model, round(avg(value), 2) as mean_mae from ev"
            " where metric = 'mae' and model in ('selected', 'reconciled') group by all order by all"
        )
    )


def main() -> None:
    args = _parse_args()
    daily = synthetic_daily(args.series, args.days, args.seed)
    holidays = public_holidays("US", LAST.year - 1, LAST.year + 1)
    n = len(set(daily.column("series_id").to_pylist()))
    print(f"{daily.num_rows} rows, {n} series, up to {args.days} days")
    timer = StepTimer()
    timings: dict[str, float] = {}
    with timer.step("backtest"):
        backtest = build_backtest(
            daily,
            args.horizon,
            args.origins,
            args.step,
            args.seed,
            holidays=holidays,
            refit_every=args.refit_every,
            timings=timings,
            calibration_origins=args.calibration_origins,
        )
    for model, model_seconds in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"  {model:32s} {model_seconds:7.1f} s CPU")
    with timer.step("evaluation"):
        evaluation = build_evaluation(backtest, args.seed)
    fit, scored = timer.steps
    print(
        f"backtest ({args.origins} + {args.calibration_origins} calibration origins every "
        f"{args.step} days x {args.horizon} days, both measures): {fit.seconds:.1f} s wall, "
        f"{fit.cpu_seconds:.1f} s CPU; evaluation + selection + reconciliation: "
        f"{scored.seconds:.1f} s wall, {scored.cpu_seconds:.1f} s CPU"
    )
    with timer.step("forecast"):
        forecasts = build_forecast(daily, backtest, evaluation, args.horizon, args.seed, holidays)
    final = timer.steps[-1]
    print(
        f"final forecast (both measures): {final.seconds:.1f} s wall, "
        f"{final.cpu_seconds:.1f} s CPU (process time: the machine may be shared)"
    )
    _print_quality(evaluation, forecasts)
    print(f"peak RSS: {peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
