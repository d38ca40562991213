"""Known-answer tests of the decision marts' functions (issue 15): the A/B holdout, the minimum
detectable effect, the uplift readout (hand-computed and planted), the demo's planted campaign."""

from __future__ import annotations

import datetime as dt
import logging
import math
from pathlib import Path
from statistics import NormalDist

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from amazing_analytics.generate import campaign as planted
from amazing_analytics.generate import generate_events
from amazing_analytics.ml.decisions import config_float
from amazing_analytics.ml.decisions.experiments import (
    ALL_SEGMENTS,
    assign_groups,
    build_campaign_results,
    build_test_plan,
    holdout_bucket,
    holdout_buckets,
    minimum_detectable_effect,
    window_probability,
)
from amazing_analytics.ml.decisions.stock import build_stock_plan, safety_stock


# ------------------------------------------------------------------------------- holdout ---
def test_holdout_bucket_is_a_fixed_md5_value() -> None:
    # md5("cross_sell:42") = 7c1f0c6b... -> first 8 bytes / 2**64, computed independently here.
    import hashlib

    digest = hashlib.md5(b"cross_sell:42").hexdigest()
    assert holdout_bucket(42, "cross_sell") == int(digest[:16], 16) / 2.0**64
    assert holdout_bucket(42, "cross_sell") == holdout_bucket(42, "cross_sell")
    assert holdout_bucket(42, "cross_sell") != holdout_bucket(42, "win_back")


def test_holdout_split_respects_its_share_and_is_independent_across_campaigns() -> None:
    ids = list(range(500_000_000, 500_100_000))
    share = 0.10
    a = holdout_buckets(ids, ["cross_sell"] * len(ids)) < share
    b = holdout_buckets(ids, ["win_back"] * len(ids)) < share
    n = len(ids)
    tolerance = 4 * math.sqrt(n * share * (1 - share))  # 4 binomial standard deviations
    assert abs(a.sum() - n * share) < tolerance
    assert abs(b.sum() - n * share) < tolerance
    both = float((a & b).sum())
    assert abs(both - n * share * share) < 4 * math.sqrt(n * share * share)


def _audiences() -> pa.Table:
    users = list(range(1, 2001))
    return pa.table(
        {
            "campaign_type": ["win_back"] * 2000 + ["cross_sell"] * 2000,
            "campaign_name": ["Win back"] * 2000 + ["Complete your purchase"] * 2000,
            "segment_name": (["A"] * 1000 + ["B"] * 1000) * 2,
            "user_id": users + users,
            "product_1_id": [7] * 4000,
        }
    )


def test_assign_groups_is_deterministic_and_follows_the_bucket() -> None:
    first = assign_groups(_audiences(), 0.25)
    shuffled = _audiences().take(np.random.default_rng(0).permutation(4000))
    assert assign_groups(shuffled, 0.25).equals(first)
    rows = first.to_pylist()
    assert [r["campaign_type"] for r in rows[:1]] == ["cross_sell"]
    for row in rows:
        expected = holdout_bucket(row["user_id"], row["campaign_type"]) < 0.25
        assert (row["group_name"] == "control") == expected
    assert set(first.column("holdout_share").to_pylist()) == {0.25}


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1, 1.5])
def test_assign_groups_rejects_a_bad_share(share: float) -> None:
    with pytest.raises(ValueError, match="holdout share"):
        assign_groups(_audiences(), share)


def test_assign_groups_rejects_missing_columns() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        assign_groups(_audiences().drop_columns(["segment_name"]), 0.1)


def test_config_float_errors() -> None:
    assert config_float(" 0.1 ", "k") == 0.1
    with pytest.raises(ValueError, match="not set"):
        config_float("", "k")
    with pytest.raises(ValueError, match="must be a number"):
        config_float("ten", "k")


# ---------------------------------------------------------------------------------- power ---
def test_minimum_detectable_effect_hand_computed() -> None:
    # (1.959964 + 0.841621) * sqrt(0.1 * 0.9 * (1/9000 + 1/1000)) = 2.801585 * 0.01
    assert minimum_detectable_effect(0.1, 9000, 1000, 0.05, 0.8) == pytest.approx(
        0.02801585, abs=1e-7
    )
    assert math.isnan(minimum_detectable_effect(0.1, 9000, 0, 0.05, 0.8))
    assert math.isnan(minimum_detectable_effect(0.0, 9000, 1000, 0.05, 0.8))


def test_window_probability_constant_hazard() -> None:
    # 1 - (1 - 0.19)^(15/30) = 1 - 0.9 = 0.1
    assert window_probability(0.19, 30, 15) == pytest.approx(0.1)


def test_test_plan_sizes_baseline_and_statuses(caplog: pytest.LogCaptureFixture) -> None:
    assignments = assign_groups(_audiences(), 0.1)
    propensity = pa.table({"user_id": list(range(1, 2001)), "purchase_probability": [0.1] * 2000})
    with caplog.at_level(logging.WARNING):
        plan = build_test_plan(
            assignments, propensity, alpha=0.05, power=0.8, propensity_horizon_days=14,
            window_days=14, min_group_users=150,
        )  # fmt: skip
    rows = {(r["campaign_type"], r["segment_name"]): r for r in plan.to_pylist()}
    assert len(rows) == 6
    whole = rows[("win_back", ALL_SEGMENTS)]
    assert whole["audience_users"] == 2000
    assert whole["baseline_conversion"] == pytest.approx(0.1)
    expected = minimum_detectable_effect(0.1, whole["treatment_users"], whole["control_users"],
                                         0.05, 0.8)  # fmt: skip
    assert whole["mde_absolute"] == pytest.approx(expected)
    assert whole["status"] == "ok" and "points" in whole["reason"]
    # ~100 control customers per segment of 1000 < 150
    assert rows[("win_back", "A")]["status"] == "too_small"
    assert "WARN campaign_test_plan" in caplog.text
    no_scores = build_test_plan(
        assignments, propensity.slice(0, 0), alpha=0.05, power=0.8,
        propensity_horizon_days=14, window_days=14, min_group_users=10,
    )  # fmt: skip
    assert set(no_scores.column("status").to_pylist()) == {"no_baseline"}
    assert no_scores.column("mde_absolute").null_count == no_scores.num_rows


# -------------------------------------------------------------------------------- readout ---
def _outcomes(
    converted_t: list[bool], converted_c: list[bool], revenue_t: list[float],
    revenue_c: list[float], segment: str = "A",
) -> pa.Table:  # fmt: skip
    n_t, n_c = len(converted_t), len(converted_c)
    return pa.table(
        {
            "campaign_id": ["c1"] * (n_t + n_c),
            "send_date": [dt.date(2020, 1, 15)] * (n_t + n_c),
            "user_id": list(range(n_t + n_c)),
            "group_name": ["treatment"] * n_t + ["control"] * n_c,
            "segment_name": [segment] * (n_t + n_c),
            "is_converted": converted_t + converted_c,
            "revenue": revenue_t + revenue_c,
        }
    )


def test_readout_hand_computed() -> None:
    # 20/100 treated vs 10/100 control converted.
    conv_t = [True] * 20 + [False] * 80
    conv_c = [True] * 10 + [False] * 90
    rev_t = [10.0] * 20 + [0.0] * 80
    rev_c = [10.0] * 10 + [0.0] * 90
    table = build_campaign_results(
        _outcomes(conv_t, conv_c, rev_t, rev_c), window_days=14, alpha=0.05, min_group_users=30
    )
    rows = table.to_pylist()
    assert [r["segment_name"] for r in rows] == [ALL_SEGMENTS, "A"]
    row = rows[0]
    assert row["treatment_conversion"] == pytest.approx(0.2)
    assert row["control_conversion"] == pytest.approx(0.1)
    # se = sqrt(.2*.8/100 + .1*.9/100) = 0.05; 0.1 -/+ 1.959964 * 0.05
    assert row["uplift_ci_low"] == pytest.approx(0.0020018, abs=1e-6)
    assert row["uplift_ci_high"] == pytest.approx(0.1979982, abs=1e-6)
    # pooled 0.15: z = 0.1 / sqrt(.15*.85*.02) = 1.98030; p = 0.04767
    assert row["p_value"] == pytest.approx(0.04767, abs=1e-4)
    # ratio 2, se(log) = sqrt(1/20 - 1/100 + 1/10 - 1/100) = 0.360555
    assert row["conversion_ratio"] == pytest.approx(2.0)
    assert row["ratio_ci_low"] == pytest.approx(2 * math.exp(-1.959964 * 0.360555), abs=1e-4)
    assert row["ratio_ci_high"] == pytest.approx(2 * math.exp(1.959964 * 0.360555), abs=1e-4)
    assert row["revenue_uplift_per_user"] == pytest.approx(1.0)
    assert row["is_significant"] is True and row["status"] == "ok"


def test_readout_does_not_depend_on_the_order_of_the_outcome_rows() -> None:
    # DuckDB hands a table's rows to a Python model in the order its threads scan them
    rng = np.random.default_rng(11)
    conv_t, conv_c = (rng.random(3000) < 0.12).tolist(), (rng.random(1000) < 0.1).tolist()
    rev_t = (rng.gamma(2.0, 31.7, 3000) * conv_t).tolist()
    rev_c = (rng.gamma(2.0, 29.3, 1000) * conv_c).tolist()
    outcomes = _outcomes(conv_t, conv_c, rev_t, rev_c)
    shuffled = outcomes.take(pa.array(rng.permutation(outcomes.num_rows)))

    def readout(rows: pa.Table) -> pa.Table:
        return build_campaign_results(rows, window_days=14, alpha=0.05, min_group_users=30)

    assert readout(shuffled).equals(readout(outcomes))


def test_readout_intervals_cover_a_planted_multiplier_at_their_level() -> None:
    # 200 planted tests (treated convert 1.4x as often): the 95% intervals must cover the truth
    # in about 95% of them (binomial sd 1.5 points), and the test must nearly always detect it.
    rng = np.random.default_rng(5)
    n_t, n_c, base, multiplier, runs = 4000, 1000, 0.1, 1.4, 200
    covered_ratio = covered_uplift = detected = 0
    for _ in range(runs):
        conv_t = (rng.random(n_t) < base * multiplier).tolist()
        conv_c = (rng.random(n_c) < base).tolist()
        row = build_campaign_results(
            _outcomes(conv_t, conv_c, [50.0 * c for c in conv_t], [50.0 * c for c in conv_c]),
            window_days=14, alpha=0.05, min_group_users=30,
        ).to_pylist()[0]  # fmt: skip
        covered_ratio += row["ratio_ci_low"] <= multiplier <= row["ratio_ci_high"]
        covered_uplift += row["uplift_ci_low"] <= base * (multiplier - 1) <= row["uplift_ci_high"]
        detected += row["is_significant"]
    assert 0.90 <= covered_ratio / runs <= 0.99
    assert 0.90 <= covered_uplift / runs <= 0.99
    assert detected / runs > 0.9


def test_readout_degrades(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        empty = build_campaign_results(
            _outcomes([], [], [], []), window_days=14, alpha=0.05, min_group_users=30
        )
        small = build_campaign_results(
            _outcomes([True] * 5, [False] * 5, [1.0] * 5, [0.0] * 5),
            window_days=14, alpha=0.05, min_group_users=30,
        )  # fmt: skip
        nobody = build_campaign_results(
            _outcomes([False] * 40, [False] * 40, [0.0] * 40, [0.0] * 40),
            window_days=14, alpha=0.05, min_group_users=30,
        )  # fmt: skip
    assert set(nobody.column("status").to_pylist()) == {"no_conversions"}
    assert empty.num_rows == 0 and "p_value" in empty.column_names
    assert set(small.column("status").to_pylist()) == {"too_small"}
    assert small.column("p_value").null_count == small.num_rows
    assert "no campaign sends recorded" in caplog.text and "too_small" not in caplog.text
    bad = _outcomes([True], [False], [1.0], [0.0]).set_column(
        3, "group_name", pa.array(["treatment", "holdout"])
    )
    with pytest.raises(ValueError, match="unknown groups"):
        build_campaign_results(bad, window_days=14, alpha=0.05, min_group_users=1)


# ------------------------------------------------------------------ the demo's planted test ---
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("campaign_demo")
    generate_events(300_000, 42, out)
    return out


def test_demo_writes_its_sends_and_truth(demo: Path) -> None:
    con = duckdb.connect()
    sends = con.sql(f"select * from read_csv('{demo}/campaign_sends.csv', header=true)")
    rows = sends.fetchall()
    assert rows, "the planted campaign has sends"
    for campaign_id, campaign_type, _, user_id, group, segment in rows[:2000]:
        assert campaign_id == planted.CAMPAIGN_ID and campaign_type == planted.CAMPAIGN_TYPE
        assert segment in (planted.SEGMENT_BUYERS, planted.SEGMENT_NON_BUYERS)
        is_control = holdout_bucket(user_id, planted.CAMPAIGN_ID) < planted.HOLDOUT_SHARE
        assert group == ("control" if is_control else "treatment")
    truth = con.sql(f"select * from read_csv('{demo}/ground_truth/campaign_uplift.csv')").fetchall()
    assert len(truth) == 1 and truth[0][4] == planted.CONVERSION_MULTIPLIER
    assert not (demo / "ground_truth" / "campaign_sends.csv").exists()


def test_demo_readout_recovers_the_planted_uplift(demo: Path) -> None:
    con = duckdb.connect()
    outcomes = con.sql(f"""
        with sends as (
            select * from read_csv('{demo}/campaign_sends.csv', header=true)
        ),
        purchases as (
            select user_id, event_time, try_cast(price as double) as price
            from read_csv('{demo}/*.csv.gz', header=true, all_varchar=true,
                          columns={{'event_time': 'VARCHAR', 'event_type': 'VARCHAR',
                                   'product_id': 'VARCHAR', 'category_id': 'VARCHAR',
                                   'category_code': 'VARCHAR', 'brand': 'VARCHAR',
                                   'price': 'VARCHAR', 'user_id': 'BIGINT',
                                   'user_session': 'VARCHAR'}})
            where event_type = 'purchase'
        ),
        window_purchases as (
            select sends.user_id, count(purchases.user_id) as n, coalesce(sum(price), 0) as rev
            from sends left join purchases on sends.user_id = purchases.user_id
                and cast(left(purchases.event_time, 19) as timestamp)
                    >= cast(sends.send_date as timestamp)
                and cast(left(purchases.event_time, 19) as timestamp)
                    < cast(sends.send_date as timestamp) + to_days({planted.WINDOW_DAYS})
            group by sends.user_id
        )
        select sends.campaign_id, sends.send_date, sends.user_id, sends.group_name,
               sends.segment_name, window_purchases.n > 0 as is_converted,
               window_purchases.rev as revenue
        from sends join window_purchases using (user_id)
    """).arrow()
    if not isinstance(outcomes, pa.Table):
        outcomes = outcomes.read_all()
    row = build_campaign_results(
        outcomes, window_days=planted.WINDOW_DAYS, alpha=0.05, min_group_users=30
    ).to_pylist()[0]
    assert row["status"] == "ok"
    assert row["ratio_ci_low"] <= planted.CONVERSION_MULTIPLIER <= row["ratio_ci_high"]
    assert row["conversion_ratio"] > 1.0


# ------------------------------------------------------------------------------ stock plan ---
def _forecast(yhat: float, sd: float, days: int, series: str = "s1") -> pa.Table:
    half = NormalDist().inv_cdf(0.9) * sd  # 80 % interval of N(yhat, sd^2)
    dates = [dt.date(2020, 5, 1) + dt.timedelta(days=i) for i in range(days)]
    rows = days * 2
    return pa.table(
        {
            "series_id": [series] * rows,
            "measure": ["units"] * days + ["revenue"] * days,
            "forecast_date": dates * 2,
            "model": ["prophet"] * rows,
            "yhat": [yhat] * rows,
            "yhat_lower": [yhat - half] * rows,
            "yhat_upper": [yhat + half] * rows,
            "is_selected": [True] * rows,
        }
    )


def test_safety_stock_on_a_known_distribution() -> None:
    # Daily demand N(10, 2^2), 9-day lead time: sd 6, 95 % -> 1.644854 * 6 = 9.869 units.
    assert safety_stock(np.full(9, 2.0), 0.95) == pytest.approx(9.869124, abs=1e-5)
    evaluation = pa.table({"series_id": ["s1"], "model": ["prophet"], "measure": ["units"],
                           "metric": ["coverage"], "value": [0.75]})  # fmt: skip
    plan = build_stock_plan(
        _forecast(10.0, 2.0, 28), evaluation, lead_time_days=9, review_days=7,
        service_level=0.95, interval_level=0.8,
    ).to_pylist()  # fmt: skip
    assert len(plan) == 1
    row = plan[0]
    assert row["lead_time_sigma"] == pytest.approx(6.0)
    assert row["safety_stock"] == 10 and row["reorder_point"] == 100
    assert row["reorder_quantity"] == 70 and row["expected_units_horizon"] == pytest.approx(280)
    assert row["upper_units_horizon"] == pytest.approx(
        280 + NormalDist().inv_cdf(0.9) * 2.0 * math.sqrt(28)
    )
    assert row["backtest_interval_coverage"] == 0.75 and row["status"] == "ok"
    assert "stock_plan_backtest" in row["reason"]
    # Monte Carlo: lead-time demand of that distribution stays within the reorder point in 95 %.
    demand = np.random.default_rng(1).normal(10.0, 2.0, size=(200_000, 9)).sum(axis=1)
    assert (demand <= 10 * 9 + 9.869124).mean() == pytest.approx(0.95, abs=0.003)


def test_stock_plan_reads_a_one_sided_upper_bound_where_the_lower_bound_is_0() -> None:
    """A small series' interval starts at 0 and its upper bound is the one-sided 80 % quantile
    (forecasting/intervals.py): daily sd = (upper - yhat) / z(0.8), not / z(0.9)."""
    days, z80 = 28, NormalDist().inv_cdf(0.8)
    forecast = _forecast(2.0, 1.5, days)
    forecast = forecast.set_column(
        forecast.schema.get_field_index("yhat_lower"), "yhat_lower", pa.array([0.0] * 2 * days)
    ).set_column(
        forecast.schema.get_field_index("yhat_upper"),
        "yhat_upper",
        pa.array([2.0 + z80 * 1.5] * 2 * days),
    )
    row = build_stock_plan(
        forecast, pa.table({"series_id": pa.array([], pa.string())}), lead_time_days=9,
        review_days=7, service_level=0.95, interval_level=0.8,
    ).to_pylist()[0]  # fmt: skip
    assert row["lead_time_sigma"] == pytest.approx(1.5 * 3)  # sd 1.5 a day over 9 days
    assert row["safety_stock"] == math.ceil(1.644854 * 4.5)


def test_stock_plan_reads_the_interval_level_it_is_given() -> None:
    """Level 0.95 reads yhat_upper_95 (sd = (upper - yhat) / z(0.975)) and the coverage_95
    metric; a level the forecast does not have is a clear error."""
    forecast = _forecast(10.0, 2.0, 28)
    z975 = NormalDist().inv_cdf(0.975)
    forecast = forecast.append_column("yhat_lower_95", pa.array([10.0 - z975 * 3.0] * 56))
    forecast = forecast.append_column("yhat_upper_95", pa.array([10.0 + z975 * 3.0] * 56))
    evaluation = pa.table({"series_id": ["s1", "s1"], "model": ["prophet", "prophet"],
                           "measure": ["units", "units"], "metric": ["coverage", "coverage_95"],
                           "value": [0.75, 0.93]})  # fmt: skip
    row = build_stock_plan(forecast, evaluation, lead_time_days=9, review_days=7,
                           service_level=0.95, interval_level=0.95).to_pylist()[0]  # fmt: skip
    assert row["lead_time_sigma"] == pytest.approx(3.0 * 3)  # sd 3 a day, not 2
    assert row["backtest_interval_coverage"] == 0.93 and row["interval_level"] == 0.95
    with pytest.raises(
        ValueError, match=r"not one of the forecast's interval levels \(0.8, 0.95\)"
    ):
        build_stock_plan(forecast, evaluation, lead_time_days=9, review_days=7,
                         service_level=0.95, interval_level=0.9)  # fmt: skip


def test_stock_plan_degrades(caplog: pytest.LogCaptureFixture) -> None:
    empty_eval = pa.table({"series_id": pa.array([], pa.string())})
    with caplog.at_level(logging.WARNING):
        empty = build_stock_plan(
            _forecast(10.0, 2.0, 5).slice(0, 0), empty_eval, lead_time_days=7, review_days=7,
            service_level=0.95, interval_level=0.8,
        )  # fmt: skip
        short = build_stock_plan(
            _forecast(10.0, 2.0, 5), empty_eval, lead_time_days=7, review_days=7,
            service_level=0.95, interval_level=0.8,
        ).to_pylist()[0]  # fmt: skip
        flat = build_stock_plan(
            _forecast(10.0, 0.0, 28), empty_eval, lead_time_days=7, review_days=7,
            service_level=0.95, interval_level=0.8,
        ).to_pylist()[0]  # fmt: skip
    assert empty.num_rows == 0 and "safety_stock" in empty.column_names
    assert short["status"] == "short_horizon" and short["reorder_quantity"] == 0
    assert flat["status"] == "no_interval" and flat["safety_stock"] == 0
    assert "No backtest coverage" in flat["reason"]
    assert "WARN stock_plan: no selected unit forecast" in caplog.text
    with pytest.raises(ValueError, match="service level"):
        build_stock_plan(_forecast(10.0, 2.0, 28), empty_eval, lead_time_days=7, review_days=7,
                         service_level=1.0, interval_level=0.8)  # fmt: skip
