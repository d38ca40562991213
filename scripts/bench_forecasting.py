"""Time the forecasting backtest and forecast on synthetic daily series.

    .venv/bin/python scripts/bench_forecasting.py --series 150 --days 210

Each model is backtested on its own (models are fitted independently, so the per-model times add
up to the whole backtest), for both measures; then the final forecast reuses those backtests for
selection (it fits each model at ``last - horizon`` for intervals and at the last date).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.forecasting import (
    MEASURES,
    MODELS,
    REQUIRED_COLUMNS,
    backtest,
    forecast,
)


def synthetic_daily(n_series: int, days: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    last = dt.date(2024, 6, 30)
    holidays = {dt.date(2024, 1, 1), dt.date(2024, 4, 1), dt.date(2024, 5, 27), dt.date(2024, 7, 4)}
    cols: dict[str, list] = {name: [] for name in REQUIRED_COLUMNS}
    for s in range(n_series):
        sid = "all" if s == 0 else f"category:c{s:03d}"
        length = days if s % 10 else int(rng.integers(20, days))  # some newer, shorter series
        level = float(rng.lognormal(2.0, 1.0))
        weekly = 1.0 + 0.4 * np.sin(2 * np.pi * (np.arange(7) + rng.integers(0, 7)) / 7)
        trend = 1.0 + rng.normal(0.0, 0.002) * np.arange(length)
        dates = [last - dt.timedelta(days=length - 1 - i) for i in range(length)]
        mean_units = np.maximum(
            level
            * trend
            * weekly[[d.weekday() for d in dates]]
            * (1 + 0.5 * np.isin(dates, list(holidays))),
            0.0,
        )
        units = rng.poisson(mean_units)
        price = 20.0 * rng.lognormal(0.0, 0.3)
        daily_price = price * rng.normal(1.0, 0.05, length)
        revenue = units * daily_price
        for i, day in enumerate(dates):
            gaps = [(h - day).days for h in holidays if h >= day]
            cols["series_id"].append(sid)
            cols["date"].append(day)
            cols["revenue"].append(float(revenue[i]))
            cols["units"].append(int(units[i]))
            cols["views"].append(int(units[i] * 12 + rng.poisson(5)))
            cols["price_index"].append(float(daily_price[i] / price) if units[i] else None)
            cols["day_of_week"].append(day.isoweekday())
            cols["week_of_year"].append(day.isocalendar()[1])
            cols["month"].append(day.month)
            cols["is_holiday"].append(day in holidays)
            cols["days_to_holiday"].append(min(min(gaps), 14) if gaps else 14)
    return pa.table(cols).cast(
        pa.schema(
            [
                ("series_id", pa.string()),
                ("date", pa.date32()),
                ("revenue", pa.float64()),
                ("units", pa.int64()),
                ("views", pa.int64()),
                ("price_index", pa.float64()),
                ("day_of_week", pa.int32()),
                ("week_of_year", pa.int32()),
                ("month", pa.int32()),
                ("is_holiday", pa.bool_()),
                ("days_to_holiday", pa.int32()),
            ]
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=150)
    parser.add_argument("--days", type=int, default=210)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--origins", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    daily = synthetic_daily(args.series, args.days, args.seed)
    print(f"{daily.num_rows} rows, {args.series} series, up to {args.days} days")
    per_model: dict[str, float] = dict.fromkeys(MODELS, 0.0)
    evaluations: dict[str, pa.Table] = {}
    for measure in MEASURES:
        parts = []
        for model in MODELS:
            start = time.perf_counter()
            parts.append(
                backtest(daily, measure, args.horizon, args.origins, args.seed, models=(model,))
            )
            per_model[model] += time.perf_counter() - start
        evaluations[measure] = pa.concat_tables(parts)
    total = sum(per_model.values())
    print(f"backtest ({args.origins} origins x {args.horizon} days, both measures): {total:.1f} s")
    for model, seconds in per_model.items():
        print(f"  {model:15s} {seconds:7.1f} s")
    start = time.perf_counter()
    for measure in MEASURES:
        forecasts = forecast(
            daily, measure, args.horizon, args.seed, evaluation=evaluations[measure]
        )
    print(f"forecast (both measures, all models): {time.perf_counter() - start:.1f} s")
    for measure, table in evaluations.items():
        mase = table.filter(pc.equal(table.column("metric"), "mase"))
        print(f"median MASE, {measure}:")
        for model in MODELS:
            values = mase.filter(pc.equal(mase.column("model"), model)).column("value")
            values = [v for v in values.to_pylist() if v is not None]
            coverage = table.filter(
                pc.and_(
                    pc.equal(table.column("metric"), "coverage"),
                    pc.equal(table.column("model"), model),
                )
            ).column("value")
            cov = [v for v in coverage.to_pylist() if v is not None]
            print(
                f"  {model:15s} MASE {np.median(values):.3f}  coverage {np.mean(cov):.2f}"
                f"  (series {len(values)})"
            )
    selected = forecasts.filter(forecasts.column("is_selected"))
    counts = pc.value_counts(selected.column("model")).to_pylist()
    print("selected (units):", {c["values"]: c["counts"] // args.horizon for c in counts})


if __name__ == "__main__":
    main()
