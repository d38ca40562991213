"""Bias audit and drift: known answers for the intervals, the PSI and the fairness gaps."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from amazing_analytics.ml import propensity
from amazing_analytics.ml.monitoring import (
    DRIFT_SCHEMA,
    PREDICTION_DRIFT_SCHEMA,
    SLICE_COLUMNS,
    CutOffFeatures,
    DriftSettings,
    auc_interval,
    audit_slices,
    build_feature_drift,
    build_prediction_drift,
    build_segment_reassignment,
    build_window_scores,
    feature_psi,
    match_labels,
    population_stability_index,
    unit_bootstrap_interval,
    wilson_interval,
)
from amazing_analytics.ml.propensity import PROPENSITY_FEATURES
from amazing_analytics.ml.recommend.selection import resample_indices
from amazing_analytics.model_cards import ModelCardError, build_model_cards, write_model_cards
from conftest import Build


def test_wilson_interval_known_answer() -> None:
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.236593, abs=1e-6)
    assert high == pytest.approx(0.763407, abs=1e-6)
    assert wilson_interval(0, 20)[0] == 0.0
    with pytest.raises(ValueError):
        wilson_interval(3, 0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_auc_interval_hanley_mcneil_known_answer() -> None:
    # q1 = 0.8/1.2, q2 = 1.28/1.8; variance = (0.16 + 9*0.02667 + 9*0.07111) / 100 = 0.0104
    low, high = auc_interval(0.8, 10, 10)
    half = 1.959964 * math.sqrt(0.0104)
    assert low == pytest.approx(0.8 - half, abs=1e-5)
    assert high == pytest.approx(min(1.0, 0.8 + half), abs=1e-5)
    with pytest.raises(ValueError):
        auc_interval(0.7, 0, 5)


def test_psi_known_answers() -> None:
    assert population_stability_index([50, 50], [50, 50]) == 0.0
    # (0.25 - 0.5) ln(0.5) + (0.75 - 0.5) ln(1.5)
    assert population_stability_index([50, 50], [25, 75]) == pytest.approx(0.274653, abs=1e-6)
    # an empty bin counts as 1e-4: (0.5 - 1) ln(0.5) + (0.5 - 1e-4) ln(0.5 / 1e-4)
    assert population_stability_index([100, 0], [50, 50]) == pytest.approx(4.604319, abs=1e-6)
    with pytest.raises(ValueError):
        population_stability_index([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        population_stability_index([0, 0], [1, 1])


def test_feature_psi_bins_on_training_deciles() -> None:
    training = np.arange(100, dtype=float)
    assert feature_psi(training, training.copy(), bins=10) == pytest.approx(0.0)
    # everyone moves to the top decile: 9 bins go 0.1 -> 1e-4, one goes 0.1 -> 1
    shifted = np.full(100, 99.0)
    expected = 9 * (1e-4 - 0.1) * math.log(1e-4 / 0.1) + (1 - 0.1) * math.log(1 / 0.1)
    assert feature_psi(training, shifted, bins=10) == pytest.approx(expected, rel=1e-9)
    # missing values have their own bin: half missing in the latest window is a shift
    half_missing = np.where(np.arange(100) % 2 == 0, np.nan, training)
    assert feature_psi(training, half_missing, bins=10) > 0.25


def slices(rows: list[dict]) -> pa.Table:
    defaults = {
        "model_family": "propensity",
        "model": "m",
        "metric": "auc",
        "higher_is_better": True,
        "successes": None,
        "positives": None,
        "negatives": None,
        "ci_low": None,
        "ci_high": None,
        "interval_method": "none",
    }
    full = [{**defaults, **row} for row in rows]
    return pa.Table.from_pylist(
        [{c: r[c] for c in SLICE_COLUMNS} for r in full],
        schema=pa.schema(
            [
                ("model_family", pa.string()),
                ("model", pa.string()),
                ("slice_type", pa.string()),
                ("slice", pa.string()),
                ("metric", pa.string()),
                ("higher_is_better", pa.bool_()),
                ("value", pa.float64()),
                ("n", pa.int64()),
                ("successes", pa.float64()),
                ("positives", pa.int64()),
                ("negatives", pa.int64()),
                ("ci_low", pa.float64()),
                ("ci_high", pa.float64()),
                ("interval_method", pa.string()),
            ]
        ),
    )


def test_audit_gaps_flags_and_small_slices_known_answer() -> None:
    table = slices(
        [
            {
                "slice_type": "all",
                "slice": "all",
                "value": 0.5,
                "n": 1000,
                "successes": 500,
                "interval_method": "wilson",
            },
            {
                "slice_type": "segment",
                "slice": "A",
                "value": 0.6,
                "n": 100,
                "successes": 60,
                "interval_method": "wilson",
            },
            {
                "slice_type": "segment",
                "slice": "B",
                "value": 0.4,
                "n": 100,
                "successes": 40,
                "interval_method": "wilson",
            },
            {
                "slice_type": "segment",
                "slice": "C",
                "value": 0.95,
                "n": 10,
                "successes": 9.5,
                "interval_method": "wilson",
            },
            {"slice_type": "price_band", "slice": "p", "value": 0.5, "n": 50},
            {"slice_type": "price_band", "slice": "q", "value": 0.45, "n": 50},
            # an error metric: lower is better, best / worst = 0.5 / 1.0
            {
                "model_family": "forecasting",
                "model": "f",
                "metric": "mase",
                "higher_is_better": False,
                "slice_type": "all",
                "slice": "all",
                "value": 0.7,
                "n": 84,
            },
            {
                "model_family": "forecasting",
                "model": "f",
                "metric": "mase",
                "higher_is_better": False,
                "slice_type": "category_family",
                "slice": "x",
                "value": 0.5,
                "n": 84,
            },
            {
                "model_family": "forecasting",
                "model": "f",
                "metric": "mase",
                "higher_is_better": False,
                "slice_type": "category_family",
                "slice": "y",
                "value": 1.0,
                "n": 84,
            },
        ]
    )
    audit = {
        (r["model"], r["slice_type"], r["slice"]): r
        for r in audit_slices(table, min_ratio=0.8, min_slice_size=30).to_pylist()
    }
    b = audit[("m", "segment", "B")]
    assert b["gap_to_overall"] == pytest.approx(-0.1)
    assert b["best_value"] == 0.6 and b["worst_value"] == 0.4
    assert b["worst_to_best_ratio"] == pytest.approx(0.4 / 0.6)
    assert b["is_worst_slice"] and b["is_flagged"] and b["status"] == "flagged"
    assert "segment 'B'" in b["message"] and "66.7%" in b["message"] and "80%" in b["message"]
    assert (b["ci_low"], b["ci_high"]) == pytest.approx(wilson_interval(40, 100))
    a = audit[("m", "segment", "A")]
    assert not a["is_flagged"] and a["status"] == "ok" and a["gap_to_overall"] == pytest.approx(0.1)
    # too small to judge: not the best (0.6 is) nor flagged, though its value is the highest
    c = audit[("m", "segment", "C")]
    assert c["status"] == "too_small" and not c["is_flagged"] and c["best_value"] == 0.6
    assert "only 10" in c["message"]
    # within the threshold: the worst slice is marked but not flagged; no interval asked for
    q = audit[("m", "price_band", "q")]
    assert q["is_worst_slice"] and not q["is_flagged"]
    assert q["worst_to_best_ratio"] == pytest.approx(0.9)
    assert q["ci_low"] is None
    # for an error the worst slice is the highest
    y = audit[("f", "category_family", "y")]
    assert y["is_flagged"] and y["worst_to_best_ratio"] == pytest.approx(0.5)
    assert y["gap_to_overall"] == pytest.approx(0.3)
    assert not audit[("f", "category_family", "x")]["is_flagged"]
    overall = audit[("m", "all", "all")]
    assert overall["gap_to_overall"] == 0.0 and not overall["is_flagged"]


def test_audit_rejects_bad_thresholds_and_columns() -> None:
    table = slices([{"slice_type": "all", "slice": "all", "value": 0.5, "n": 10}])
    with pytest.raises(ValueError, match="min_ratio"):
        audit_slices(table, min_ratio=1.5, min_slice_size=30)
    with pytest.raises(ValueError, match="min_slice_size"):
        audit_slices(table, min_ratio=0.8, min_slice_size=0)
    with pytest.raises(ValueError, match=r"lacks column\(s\) n$"):
        audit_slices(table.drop(["n"]), min_ratio=0.8, min_slice_size=30)


def test_match_labels_renames_clusters_to_the_reference() -> None:
    reference = np.array([0, 0, 1, 1, 2, 2])
    other = np.array([2, 2, 0, 0, 1, 0])
    assert match_labels(reference, other).tolist() == [0, 0, 1, 1, 2, 1]


def test_segment_reassignment_after_a_fallback_is_empty() -> None:
    empty = pa.table({"segment_id": pa.array([], pa.int64())})
    assert (
        build_segment_reassignment(pa.table({"user_id": [1]}), empty, pa.table({}), seed=1).num_rows
        == 0
    )


def snapshot_table(name: str, n: int, shift: float, labels: bool | None) -> pa.Table:
    rng = np.random.default_rng(7)
    columns: dict[str, object] = {
        "snapshot": [name] * n,
        "as_of_date": [dt.date(2020, 3, 31)] * n,
        "user_id": list(range(n)),
    }
    for feature in PROPENSITY_FEATURES:
        columns[feature] = rng.gamma(2.0, 2.0, n) + shift
    columns["label"] = pa.array(
        [None] * n if labels is None else [bool(i % 3 == 0) for i in range(n)], pa.bool_()
    )
    return pa.table(columns)


def test_feature_drift_flags_a_shifted_feature_and_warns_on_small_windows() -> None:
    snapshots = pa.concat_tables(
        [
            snapshot_table("final_train", 500, 0.0, True),
            snapshot_table("score", 500, 0.0, None).set_column(
                3 + PROPENSITY_FEATURES.index("revenue"),
                "revenue",
                pa.array(np.full(500, 1000.0)),
            ),
        ]
    )
    scores = build_window_scores(snapshots, pa.table({"status": ["not_trained"]}), seed=1)
    centroids = pa.table({"segment_id": [0, 1], "segment_size": [300, 200]})
    assigned = pa.table({"segment_id": [0] * 300 + [1] * 200})
    drift = build_feature_drift(
        snapshots, scores, centroids, assigned, bins=10, psi_threshold=0.25, min_rows=100
    )
    assert drift.schema == DRIFT_SCHEMA
    rows = {r["variable"]: r for r in drift.to_pylist()}
    assert rows["revenue"]["is_drifted"] and rows["revenue"]["status"] == "drifted"
    assert "revenue: PSI" in rows["revenue"]["message"]
    # same generator, same seed: the other features did not move
    assert rows["session_count"]["psi"] == pytest.approx(0.0)
    # same segment shares: PSI 0
    assert rows["segment_share"]["psi"] == pytest.approx(0.0)
    # no served model: the prediction drift is not measured, with a reason
    assert rows["purchase_probability"]["status"] == "too_small"
    assert rows["purchase_probability"]["psi"] is None


def test_feature_drift_does_not_depend_on_the_order_of_the_snapshot_rows() -> None:
    # DuckDB hands a table's rows to a Python model in the order its threads scan them: the
    # same snapshots in another order must give the same drift table, means to the last bit
    snapshots = pa.concat_tables(
        [snapshot_table("final_train", 5000, 0.0, True), snapshot_table("score", 5000, 0.3, None)]
    )
    scores = build_window_scores(snapshots, pa.table({"status": ["not_trained"]}), seed=1)
    centroids = pa.table({"segment_id": [0, 1], "segment_size": [300, 200]})
    assigned = pa.table({"segment_id": [0] * 300 + [1] * 200})
    shuffled = snapshots.take(pa.array(np.random.default_rng(3).permutation(snapshots.num_rows)))

    def drift(rows: pa.Table) -> pa.Table:
        return build_feature_drift(
            rows, scores, centroids, assigned, bins=10, psi_threshold=0.25, min_rows=100
        )

    assert drift(shuffled).equals(drift(snapshots))


def test_an_auc_slice_is_judged_on_its_rarer_outcome() -> None:
    table = slices(
        [
            {
                "slice_type": "all",
                "slice": "all",
                "value": 0.7,
                "n": 1000,
                "positives": 100,
                "negatives": 900,
                "interval_method": "hanley_mcneil",
            },
            {
                "slice_type": "segment",
                "slice": "few buyers",
                "value": 0.99,
                "n": 500,
                "positives": 5,
                "negatives": 495,
                "interval_method": "hanley_mcneil",
            },
            {
                "slice_type": "segment",
                "slice": "A",
                "value": 0.7,
                "n": 300,
                "positives": 40,
                "negatives": 260,
                "interval_method": "hanley_mcneil",
            },
            {
                "slice_type": "segment",
                "slice": "B",
                "value": 0.5,
                "n": 200,
                "positives": 55,
                "negatives": 145,
                "interval_method": "hanley_mcneil",
            },
        ]
    )
    audit = {
        r["slice"]: r for r in audit_slices(table, min_ratio=0.8, min_slice_size=30).to_pylist()
    }
    assert audit["few buyers"]["status"] == "too_small"
    assert "only 5 buyers or non-buyers" in audit["few buyers"]["message"]
    assert audit["B"]["is_flagged"] and audit["B"]["best_value"] == 0.7
    assert (audit["B"]["ci_low"], audit["B"]["ci_high"]) == pytest.approx(
        auc_interval(0.5, 55, 145)
    )


def test_unit_bootstrap_interval_known_answers() -> None:
    # every origin has the same scaled error per day: every resample gives 1.5
    assert unit_bootstrap_interval([3.0, 1.5, 6.0], [2.0, 1.0, 4.0], 200, 1) == pytest.approx(
        (1.5, 1.5)
    )
    # the percentile interval of the ratio of resampled sums, by hand with the same draws
    sums, counts = np.array([0.0, 2.0, 4.0, 10.0]), np.array([1.0, 1.0, 2.0, 2.0])
    draws = resample_indices(4, 500, 9)
    ratios = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    expected = tuple(np.quantile(ratios, [0.025, 0.975]))
    assert unit_bootstrap_interval(sums, counts, 500, 9) == pytest.approx(expected)
    assert expected[0] < 16 / 6 < expected[1]
    # fewer than 3 units, or no samples: no interval
    assert unit_bootstrap_interval([1.0, 2.0], [1.0, 1.0], 500, 9) == (None, None)
    assert unit_bootstrap_interval(sums, counts, 0, 9) == (None, None)
    with pytest.raises(ValueError):
        unit_bootstrap_interval([1.0, 2.0, 3.0], [1.0, 1.0], 10, 1)


def test_audit_bootstraps_forecast_rows_over_their_origins_and_gives_the_gap() -> None:
    base = slices(
        [
            {
                "model_family": "forecasting",
                "model": "selected",
                "metric": "mase_revenue",
                "higher_is_better": False,
                "slice_type": slice_type,
                "slice": name,
                "value": value,
                "n": 12,
                "interval_method": "bootstrap",
            }
            for slice_type, name, value in (
                ("all", "all", 1.0),
                ("category_family", "auto", 2.0),
                ("category_family", "kids", 0.5),
                ("category_family", "sport", 0.5),
            )
        ]
    )
    units = {
        "all": ([3.0, 4.0, 5.0], [4.0, 4.0, 4.0]),
        "auto": ([8.0, 8.0, 8.0], [4.0, 4.0, 4.0]),
        "kids": ([1.0, 2.0, 3.0], [4.0, 4.0, 4.0]),
        "sport": ([1.0, 5.0], [4.0, 8.0]),
    }
    names = base.column("slice").to_pylist()
    table = base.append_column(
        "unit_sums", pa.array([units[n][0] for n in names], pa.list_(pa.float64()))
    ).append_column("unit_counts", pa.array([units[n][1] for n in names], pa.list_(pa.float64())))
    audit = {
        r["slice"]: r
        for r in audit_slices(
            table, min_ratio=0.8, min_slice_size=10, bootstrap_samples=300, seed=3
        ).to_pylist()
    }
    assert (audit["all"]["ci_low"], audit["all"]["ci_high"]) == pytest.approx(
        unit_bootstrap_interval(*units["all"], 300, 3)
    )
    # a constant error per origin: a point interval; two origins: none
    assert (audit["auto"]["ci_low"], audit["auto"]["ci_high"]) == pytest.approx((2.0, 2.0))
    assert audit["sport"]["ci_low"] is None and audit["sport"]["ci_high"] is None
    # an error: auto is the worst (best / worst = 0.5 / 2.0), 1.0 above the overall
    assert audit["auto"]["is_flagged"] and audit["auto"]["worst_to_best_ratio"] == 0.25
    assert audit["auto"]["gap_to_overall"] == pytest.approx(1.0)
    assert audit["kids"]["gap_to_overall"] == pytest.approx(-0.5)
    assert "category_family 'auto'" in audit["auto"]["message"]
    with pytest.raises(ValueError):
        audit_slices(table, min_ratio=0.8, min_slice_size=10, bootstrap_samples=-1)


def drift_features(dates: list[dt.date], n: int, shift_last: float) -> pa.Table:
    parts = []
    for position, date in enumerate(dates):
        table = snapshot_table("window", n, 0.0, None).drop(["snapshot", "label"])
        table = table.set_column(0, "as_of_date", pa.array([date] * n, pa.date32()))
        if position == len(dates) - 1 and shift_last:
            # every shopper the same: the scores collapse into one bin
            for column, feature in enumerate(PROPENSITY_FEATURES, start=2):
                table = table.set_column(column, feature, pa.array(np.full(n, shift_last)))
        parts.append(table)
    return pa.concat_tables(parts)


def reference_scores(training: pa.Table, model_table: pa.Table) -> pa.Table:
    """int_propensity_window_scores of a training snapshot: its ``training`` window is the
    served model's scores on it, the drift's reference."""
    return build_window_scores(training, model_table, seed=0)


def test_prediction_drift_over_windows_known_answers() -> None:
    training = snapshot_table("final_train", 400, 0.0, True)
    model = propensity.train_propensity(training, seed=1)
    dates = [dt.date(2020, 4, 16), dt.date(2020, 4, 23), dt.date(2020, 4, 30)]
    features = drift_features(dates, 400, shift_last=500.0)
    # the same generator as the training snapshot: the first two windows score exactly alike
    activity = pa.table(
        {
            "user_id": pa.array([1, 2, 3, 1, 2, 3, 4, 4], pa.int64()),
            "activity_date": pa.array(
                [dt.date(2020, 4, d) for d in (10, 12, 16, 17, 23, 23, 24, 30)], pa.date32()
            ),
        }
    )
    segments = pa.table({"user_id": [1, 2, 3, 4], "segment_name": ["A", "A", "B", "B"]})
    settings = DriftSettings(window_days=7, bins=10, psi_threshold=0.25, min_rows=2)
    model_table = propensity.model_to_table(model)
    drift = build_prediction_drift(
        features, reference_scores(training, model_table), model_table, activity, segments, settings
    )
    assert drift.schema == PREDICTION_DRIFT_SCHEMA
    rows = drift.to_pylist()
    scores = [r for r in rows if r["model"] == "purchase_propensity"]
    reference = [r for r in scores if r["is_reference"]]
    assert len(reference) == 1 and reference[0]["window_end_date"] == dt.date(2020, 3, 31)
    assert reference[0]["psi"] == 0.0 and reference[0]["rows"] == 400
    by_date = {r["window_end_date"]: r for r in scores if not r["is_reference"]}
    assert sorted(by_date) == dates
    expected = propensity.predict_proba(model, training)
    assert by_date[dates[0]]["mean"] == pytest.approx(float(expected.mean()))
    assert by_date[dates[0]]["p50"] == pytest.approx(float(np.median(expected)))
    assert by_date[dates[0]]["psi"] == pytest.approx(0.0)
    assert by_date[dates[0]]["status"] == "ok" and not by_date[dates[0]]["is_drifted"]
    last = by_date[dates[-1]]
    assert last["status"] == "drifted" and last["psi"] > 0.25
    assert "as of 2020-04-30 vs the training snapshot of 2020-03-31" in last["message"]
    # segment shares of each week's active shoppers: weeks end 16, 23, 30 April
    shares = {
        (r["window_end_date"], r["category"]): r
        for r in rows
        if r["model"] == "customer_segmentation"
    }
    first = shares[(dates[0], "all")]
    assert first["is_reference"] and first["rows"] == 3  # users 1, 2, 3 (10, 12, 16 April)
    assert first["window_start_date"] == dt.date(2020, 4, 10)
    assert shares[(dates[0], "A")]["share"] == pytest.approx(2 / 3)
    # 17-23 April: users 1, 2, 3 again -> same shares, PSI 0
    assert shares[(dates[1], "all")]["psi"] == pytest.approx(0.0)
    # 24-30 April: only user 4 (B): PSI of (2/3, 1/3) -> (1e-4, 1)
    psi = (1e-4 - 2 / 3) * math.log(1e-4 / (2 / 3)) + (1 - 1 / 3) * math.log(1 / (1 / 3))
    third = shares[(dates[2], "all")]
    assert third["rows"] == 1 and third["status"] == "too_small" and third["psi"] is None
    settings_one = DriftSettings(window_days=7, bins=10, psi_threshold=0.25, min_rows=1)
    again = build_prediction_drift(
        features,
        reference_scores(training, model_table),
        model_table,
        activity,
        segments,
        settings_one,
    ).to_pylist()
    third = next(
        r
        for r in again
        if r["model"] == "customer_segmentation"
        and r["category"] == "all"
        and r["window_end_date"] == dates[2]
    )
    assert third["psi"] == pytest.approx(psi) and third["is_drifted"]
    assert shares[(dates[2], "B")]["share"] == 1.0


def test_prediction_drift_reads_its_reference_scores_instead_of_scoring_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reference row summarises int_propensity_window_scores' ``training`` window as given:
    only the cut-offs are scored."""
    training = snapshot_table("final_train", 200, 0.0, True)
    model_table = propensity.model_to_table(propensity.train_propensity(training, seed=3))
    reference = reference_scores(training, model_table)
    dates = [dt.date(2020, 4, 23), dt.date(2020, 4, 30)]
    features = drift_features(dates, 50, shift_last=0.0)
    activity = pa.table(
        {"user_id": pa.array([1], pa.int64()), "activity_date": pa.array(dates[:1], pa.date32())}
    )
    segments = pa.table({"user_id": [1], "segment_name": ["A"]})
    settings = DriftSettings(window_days=7, bins=10, psi_threshold=0.25, min_rows=2)
    scored: list[int] = []
    predict = propensity.predict_proba

    def counted(model: object, table: pa.Table) -> np.ndarray:
        scored.append(table.num_rows)
        return predict(model, table)

    monkeypatch.setattr(propensity, "predict_proba", counted)

    def reference_row(scores: pa.Table) -> dict:
        rows = build_prediction_drift(
            features, scores, model_table, activity, segments, settings
        ).to_pylist()
        return next(r for r in rows if r["model"] == "purchase_propensity" and r["is_reference"])

    given = reference_row(reference)
    assert scored == [50, 50]  # the two cut-offs, not the 200 reference rows
    probability = reference.column("purchase_probability").to_numpy()
    assert given["rows"] == 200 and given["mean"] == pytest.approx(float(probability.mean()))
    halved = reference.set_column(
        reference.schema.get_field_index("purchase_probability"),
        "purchase_probability",
        pa.array(probability / 2),
    )
    assert reference_row(halved)["mean"] == pytest.approx(given["mean"] / 2)


def test_prediction_drift_reads_one_cut_off_at_a_time_with_the_same_rows() -> None:
    """As the dbt model does: each cut-off read from DuckDB when it is scored, once; the table
    is the one the whole features give, with or without a trained model."""
    training = snapshot_table("final_train", 300, 0.0, True)
    trained = propensity.model_to_table(propensity.train_propensity(training, seed=2))
    untrained = pa.table({"status": ["not_trained"], "booster_json": [None]})
    dates = [dt.date(2020, 4, 16), dt.date(2020, 4, 23), dt.date(2020, 4, 30)]
    features = drift_features(dates, 300, shift_last=50.0)
    activity = pa.table(
        {"user_id": pa.array([1, 2], pa.int64()), "activity_date": pa.array(dates[:2], pa.date32())}
    )
    segments = pa.table({"user_id": [1, 2], "segment_name": ["A", "B"]})
    settings = DriftSettings(window_days=7, bins=10, psi_threshold=0.25, min_rows=2)
    con = duckdb.connect()
    relation = con.from_arrow(features)
    for model_table in (trained, untrained):
        read: list[dt.date] = []

        def cut_off(date: dt.date, read: list[dt.date] = read) -> pa.Table:
            read.append(date)
            return relation.filter(f"as_of_date = date '{date.isoformat()}'").to_arrow_table()

        one_at_a_time = build_prediction_drift(
            CutOffFeatures(tuple(dates), cut_off),
            reference_scores(training, model_table),
            model_table,
            activity,
            segments,
            settings,
        )
        whole = build_prediction_drift(
            features,
            reference_scores(training, model_table),
            model_table,
            activity,
            segments,
            settings,
        )
        assert read == dates
        assert one_at_a_time.equals(whole)
        # the reference and three cut-offs (scored) or three cut-offs (not), three windows of
        # segment shares ('all', A, B)
        assert one_at_a_time.num_rows == (4 if model_table is trained else 3) + 3 * 3


def test_prediction_drift_without_a_model_or_data_says_so() -> None:
    dates = [dt.date(2020, 4, 30)]
    features = drift_features(dates, 5, shift_last=0.0)
    empty_activity = pa.table(
        {"user_id": pa.array([], pa.int64()), "activity_date": pa.array([], pa.date32())}
    )
    segments = pa.table({"user_id": [1], "segment_name": ["A"]})
    settings = DriftSettings(window_days=7, bins=10, psi_threshold=0.25, min_rows=100)
    untrained = pa.table({"status": ["not_trained"], "booster_json": [None]})
    rows = build_prediction_drift(
        features,
        reference_scores(snapshot_table("final_train", 5, 0.0, True), untrained),
        untrained,
        empty_activity,
        segments,
        settings,
    ).to_pylist()
    scores = [r for r in rows if r["model"] == "purchase_propensity"]
    assert [(r["status"], r["rows"]) for r in scores] == [("not_evaluated", 5)]
    assert "no trained propensity model" in scores[0]["message"]
    summary = [r for r in rows if r["model"] == "customer_segmentation" and r["category"] == "all"]
    assert [r["status"] for r in summary] == ["too_small"]
    with pytest.raises(ValueError, match="window_days"):
        DriftSettings(window_days=0, bins=10, psi_threshold=0.25, min_rows=1)


# -- on a real build of the dirty files: too little data degrades to WARNs, never a crash ------


def test_governance_on_too_little_data_warns_and_builds(dirty_build: Build, tmp_path: Path) -> None:
    output = dirty_build.output
    # every model family is named as not judged; drift cannot be measured
    assert "WARN" in output and "warn_model_fairness_too_little_data" in output
    assert "warn_feature_drift_not_measured" in output
    not_judged = dirty_build.query(
        "select distinct model_family from marts.model_fairness_audit "
        "where slice_type <> 'all' and status in ('ok', 'flagged')"
    )
    assert not_judged == []
    assert dirty_build.scalar("select count(*) from intermediate.int_propensity_window_scores") == 0
    assert dirty_build.scalar("select count(*) from intermediate.int_segment_reassignments") == 0
    statuses = dict(dirty_build.query("select variable, status from marts.feature_drift"))
    assert set(statuses) == {*PROPENSITY_FEATURES, "purchase_probability", "segment_share"}
    assert set(statuses.values()) <= {"too_small", "not_evaluated"}
    # prediction drift over time: no window can be measured, and the WARN says so
    assert "warn_prediction_drift_not_measured" in output
    measured = dirty_build.query(
        "select count(*) from marts.prediction_drift "
        "where category = 'all' and not is_reference and status in ('ok', 'drifted')"
    )
    assert measured == [(0,)]
    # three days of data: no day has enough history to be judged
    assert dirty_build.query("select distinct status from marts.data_quality_anomalies") == [
        ("too_little_history",)
    ]
    assert "warn_data_quality_anomalies_not_judged" in output
    # the cards still write, and say why the models are missing
    paths = write_model_cards(dirty_build.warehouse, tmp_path / "cards")
    names = sorted(p.name for p in paths)
    assert names == [
        "README.md",
        "batch_recommenders.md",
        "customer_segmentation.md",
        "purchase_propensity.md",
        "sales_forecasting.md",
        "session_recommenders.md",
    ]
    propensity_card = (tmp_path / "cards" / "purchase_propensity.md").read_text()
    assert "Not trained in this build" in propensity_card
    segmentation_card = (tmp_path / "cards" / "customer_segmentation.md").read_text()
    assert "Fell back to RFM segments in this build" in segmentation_card


def test_model_cards_report_the_marts_numbers(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.recommender_evaluation as select * from (values "
            "('popularity', 'all', 'all', 'hit_rate', 10, 0.2, 100::bigint, false, 'ok', null), "
            "('lightfm', 'all', 'all', 'hit_rate', 10, 0.3, 100::bigint, true, 'ok', null), "
            "('lightfm', 'all', 'all', 'ndcg', 10, 0.15, 100::bigint, true, 'ok', null)) "
            "as t(model, slice_type, slice, metric, k, value, user_count, is_selected, status, message)"
        )
    (card,) = build_model_cards(warehouse)
    assert card.name == "batch_recommenders"
    low, high = wilson_interval(30, 100)
    assert (
        f"| lightfm (serving) | hit_rate@10 | 0.300 | [{low:.3f}, {high:.3f}] | 100 |" in card.text
    )
    assert "| popularity | hit_rate@10 | 0.200 |" in card.text
    assert "serving:\nlightfm" in card.text
    assert "_The bias audit (model_fairness_audit) is not in this build._" in card.text
    with pytest.raises(ModelCardError, match="make build"):
        build_model_cards(tmp_path / "missing.duckdb")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ModelCardError, match="no evaluation mart"):
        build_model_cards(empty)


def test_model_cards_show_the_prediction_drift_windows_and_forecast_slice_intervals() -> None:
    from amazing_analytics.model_cards.reader import WarehouseReader
    from amazing_analytics.model_cards.sections import prediction_drift_section, slices_section

    with duckdb.connect() as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.prediction_drift as select * from (values "
            "('purchase_propensity', date '2020-03-31', date '2020-03-31', true, 'all', 400, 0.2, 0.15, 0.0, 'ok'), "
            "('purchase_propensity', date '2020-04-30', date '2020-04-30', false, 'all', 410, 0.1, 0.05, 0.31, 'drifted'), "
            "('customer_segmentation', date '2020-04-24', date '2020-04-30', false, 'all', 90, null, null, 0.02, 'ok'), "
            "('customer_segmentation', date '2020-04-24', date '2020-04-30', false, 'A', 45, null, null, null, 'ok')) "
            "as t(model, window_start_date, window_end_date, is_reference, category, rows, mean, p50, psi, status)"
        )
        con.execute(
            "create table marts.model_fairness_audit as select * from (values "
            "('forecasting', 'selected', 'mase_revenue', 'category_family', 'auto', 1.5, 1.2, 1.9, 336, 0.6, 0.4, 'flagged', true, false)) "
            "as t(model_family, model, metric, slice_type, slice, value, ci_low, ci_high, n, gap_to_overall, "
            "worst_to_best_ratio, status, is_flagged, higher_is_better)"
        )
        warehouse = WarehouseReader(con)
        scores = prediction_drift_section(warehouse, "purchase_propensity")
        segments = prediction_drift_section(warehouse, "customer_segmentation")
        slices_text = slices_section(warehouse, "forecasting")
    assert "| 2020-03-31 (reference) | 400 | 0.200 | 0.150 | 0.000 | ok |" in scores
    assert scores.index("(reference)") < scores.index("2020-04-30")
    assert "| 2020-04-30 | 410 | 0.100 | 0.050 | 0.310 | drifted |" in scores
    assert "| 2020-04-24 to 2020-04-30 | 90 | 0.020 | ok |" in segments
    assert (
        "| selected | mase_revenue | category_family: auto | 1.500 | [1.200, 1.900] | 336 |"
        in slices_text
    )
