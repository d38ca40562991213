"""Bias audit and drift: known answers for the intervals, the PSI and the fairness gaps."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from amazing_analytics.ml.monitoring import (
    DRIFT_SCHEMA,
    SLICE_COLUMNS,
    auc_interval,
    audit_slices,
    build_feature_drift,
    build_segment_reassignment,
    build_window_scores,
    feature_psi,
    match_labels,
    population_stability_index,
    wilson_interval,
)
from amazing_analytics.ml.propensity import PROPENSITY_FEATURES
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
    with pytest.raises(ValueError, match="lacks columns"):
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
