"""The forecasting figures of docs/forecasting.md, from a built warehouse and the generator's
ground truth (noise floor = MAE of the actual whole-shop revenue against its true expectation).

    .venv/bin/python scripts/forecast_report.py --warehouse warehouse/amazing.duckdb \
        --ground-truth data/demo/ground_truth
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import numpy as np

from amazing_analytics.ml.forecasting.selection import ModelErrors, bootstrap_mean_interval

STAT = "('seasonal_naive','moving_average','auto_ets','auto_theta','auto_arima','mstl')"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--ground-truth", type=Path, required=True)
    parser.add_argument(
        "--writable", action="store_true", help="open read-write (a copy with a WAL)"
    )
    args = parser.parse_args()
    con = duckdb.connect(str(args.warehouse), read_only=not args.writable)
    truth = args.ground_truth / "expected_daily_demand.csv"
    con.execute(
        f"create temp view truth as select cast(date as date) as d, sum(expected_revenue) as rev,"
        f" sum(expected_units) as units from read_csv_auto('{truth}') group by 1"
    )
    con.execute(
        "create temp view bt as select * from marts.forecast_backtest where yhat is not null"
        " and not coalesce(is_calibration, false)"
    )
    last = con.execute("select max(forecast_date) from bt").fetchone()[0]
    print("last day", last)
    # the old evaluation's 3 non-overlapping 28-day windows = origins last-28, -56, -84
    con.execute(
        f"create temp view old3 as select * from bt where horizon <= 28 and "
        f"datediff('day', origin_date, date '{last}') in (28, 56, 84)"
    )
    for name, view in (("3 x 28-day windows (old)", "old3"), ("12 weekly origins", "bt")):
        floor = con.execute(
            f"select avg(abs(b.actual - t.rev)), avg(abs(b.actual - t.rev) ) from {view} b "
            "join truth t on t.d = b.forecast_date where b.series_id = 'all' and b.measure = 'revenue'"
            " and b.model = 'seasonal_naive'"
        ).fetchone()[0]
        print(f"\n== whole-shop revenue, {name}: noise floor MAE {floor:,.0f}")
        rows = con.execute(
            f"select model, avg(abs(actual - yhat)) as mae, count(*) from {view} "
            "where series_id = 'all' and measure = 'revenue' group by 1 order by 2"
        ).fetchall()
        for model, mae, n in rows:
            print(f"  {model:20s} {mae:9,.0f}  {mae / floor:5.3f}x  (n={n})")
    print("\n== selected per series (revenue, units)")
    print(
        con.sql(
            "select measure, series_id, model, round(value, 2) as mae, round(ci_low, 2) as lo,"
            " round(ci_high, 2) as hi from marts.forecast_evaluation"
            " where is_selected and metric = 'mae' order by measure, series_id"
        ).fetchall()
    )
    worse = con.execute(
        f"select e.measure, e.series_id, e.model, e.value, s.best from marts.forecast_evaluation e"
        f" join (select measure, series_id, min(value) best from marts.forecast_evaluation"
        f" where metric = 'mae' and model in {STAT} group by all) s using (measure, series_id)"
        " where e.is_selected and e.metric = 'mae' and e.value > s.best + 1e-9"
    ).fetchall()
    print("series where the selected model is worse than the best statistical:", worse)
    _coverage_by_level(con)
    print("\n== xgboost against the best statistical candidate, by level (series won / lost)")
    print(
        con.sql(
            f"with m as (select measure, series_id, series_level, model, value from"
            f" marts.forecast_evaluation where metric = 'mae' and value is not null),"
            f" best as (select measure, series_id, min(value) stat from m where model in {STAT}"
            f" group by all) select m.measure, m.series_level, count(*) filter (where m.value < stat)"
            f" as xgb_wins, count(*) filter (where m.value >= stat) as xgb_loses,"
            f" round(median(m.value / stat), 3) as median_ratio from m join best using"
            f" (measure, series_id) where m.model = 'xgboost' group by all order by all"
        )
    )
    print("\n== hierarchy: mean MAE per level, selected vs MinT-reconciled")
    print(
        con.sql(
            "select measure, series_level, model, count(*) as series, round(avg(value), 2) as mean_mae"
            " from marts.forecast_evaluation where metric = 'mae' and model in ('selected', 'reconciled')"
            " group by all order by all"
        )
    )
    print(
        con.sql(
            "select measure, model, count(*) filter (where is_selected and metric = 'mae') as selected"
            " from marts.forecast_evaluation group by all having selected > 0 order by all"
        )
    )


def _coverage_by_level(con: duckdb.DuckDBPyConnection) -> None:
    """80 % and 95 % coverage per measure, level and model ('selected' = each series' selected
    model), pooled over the level's series and days, with a 95 % bootstrap interval that
    resamples whole origins (the days of one origin are correlated)."""
    rows = con.execute(
        "with sel as (select distinct measure, series_id, model from marts.forecast_evaluation"
        " where is_selected), b as (select bt.*, sel.model is not null as chosen from bt"
        " left join sel using (measure, series_id, model) where yhat_lower is not null)"
        " select measure, series_level, model, chosen, epoch(origin_date) // 86400,"
        " epoch(forecast_date) // 86400, (actual between yhat_lower and yhat_upper)::int,"
        " (actual between yhat_lower_95 and yhat_upper_95)::int from b"
    ).fetchall()
    groups: dict[tuple[str, str, str], list[tuple]] = {}
    for measure, level, model, chosen, origin, day, in80, in95 in rows:
        groups.setdefault((measure, level, model), []).append((origin, day, in80, in95))
        if chosen:
            groups.setdefault((measure, level, "selected"), []).append((origin, day, in80, in95))
    print(
        "\n== coverage per level and model, pooled over series and days [95 % bootstrap, origins]"
    )
    print(f"{'measure':8s} {'level':16s} {'model':20s} {'days':>6s}  80 %                 95 %")
    for (measure, level, model), part in sorted(groups.items()):
        a = np.array(part, dtype=np.float64)
        errors = ModelErrors(a[:, 0], a[:, 1], a[:, 2])
        cells = []
        for col in (2, 3):
            low, high = bootstrap_mean_interval(errors, a[:, col], seed=42)
            cells.append(f"{a[:, col].mean():.3f} [{low:.3f}, {high:.3f}]")
        print(f"{measure:8s} {level:16s} {model:20s} {len(part):6d}  {cells[0]}  {cells[1]}")


if __name__ == "__main__":
    main()
