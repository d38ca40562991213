"""The ML steps as the dbt Python models call them: fallbacks, storage round trips, opt-outs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from amazing_analytics.dbt_io import config_int
from amazing_analytics.ml import propensity, segmentation

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SEGMENT_ACTIONS = pacsv.read_csv(SEEDS / "segment_actions.csv")
CATEGORY_FAMILIES = pacsv.read_csv(SEEDS / "category_families.csv")


def features_table(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    orders = rng.poisson(0.3, n)
    revenue = orders * rng.gamma(2.0, 50.0, n)
    return pa.table(
        {
            "user_id": np.arange(1, n + 1, dtype=np.int64),
            "session_count": rng.integers(1, 20, n),
            "view_count": rng.integers(1, 200, n),
            "cart_count": rng.integers(0, 10, n),
            "order_count": orders,
            "revenue": revenue,
            "average_basket": np.where(orders > 0, revenue / np.maximum(orders, 1), np.nan),
            "cart_abandonment_rate": rng.uniform(0, 1, n),
            "conversion_rate": rng.uniform(0, 0.3, n),
            "days_active": rng.integers(1, 60, n),
            "tenure_days": rng.integers(0, 200, n),
            "recency_days": rng.integers(0, 200, n),
            "median_viewed_price": rng.gamma(2.0, 100.0, n),
            "price_index": rng.lognormal(0.0, 0.4, n),
            "brand_loyalty": rng.uniform(0.2, 1.0, n),
            "in_house_brand_share": rng.uniform(0.0, 0.3, n),
            "event_count": rng.integers(1, 220, n),
            **{
                f"family_share_{family}": rng.dirichlet(
                    np.ones(len(segmentation.CATEGORY_FAMILIES)), n
                )[:, i]
                for i, family in enumerate(segmentation.CATEGORY_FAMILIES)
            },
            "is_buyer": orders > 0,
            "is_personalisation_opt_out": np.arange(n) % 10 == 0,
        }
    )


def test_config_int_reads_strings_and_says_what_is_missing() -> None:
    assert config_int(" 42 ", "seed") == 42
    try:
        config_int(None, "seed")
    except ValueError as error:
        assert "seed" in str(error)
    else:  # pragma: no cover
        raise AssertionError("no error for a missing config")


def test_segmentation_steps_end_to_end_and_keep_opt_outs_flagged() -> None:
    features = features_table(3000)
    quality = segmentation.build_quality(features, k_min=3, k_max=5, seed=7, sample_size=2000)
    assert quality["status"].to_pylist() == ["ok"] * 3
    assert sum(quality["is_chosen"].to_pylist()) == 1
    centroids = segmentation.build_centroids(
        features,
        quality,
        seed=7,
        segment_actions=SEGMENT_ACTIONS,
        category_families=CATEGORY_FAMILIES,
    )
    chosen = segmentation.chosen_k(quality)
    assert centroids.num_rows == chosen
    assert len(set(centroids["segment_name"].to_pylist())) == chosen
    rfm = pa.table({"user_id": pa.array([], pa.int64()), "rfm_segment": pa.array([], pa.string())})
    segments = segmentation.build_customer_segments(features, centroids, rfm)
    assert segments.num_rows == 3000
    assert set(segments["segmentation_method"].to_pylist()) == {"kmeans"}
    # opted-out shoppers are kept (they count in segment sizes) and flagged
    assert pc.sum(segments["is_personalisation_opt_out"]).as_py() == 300


def test_segmentation_falls_back_to_rfm_with_too_few_customers() -> None:
    features = features_table(12)
    quality = segmentation.build_quality(features, k_min=4, k_max=8, seed=7, sample_size=2000)
    assert quality["status"].to_pylist() == ["fallback"]
    assert quality["message"][0].as_py()
    assert segmentation.chosen_k(quality) is None
    centroids = segmentation.build_centroids(
        features,
        quality,
        seed=7,
        segment_actions=SEGMENT_ACTIONS,
        category_families=CATEGORY_FAMILIES,
    )
    assert centroids.num_rows == 0
    rfm = pa.table({"user_id": pa.array([2, 5], pa.int64()), "rfm_segment": ["Champions", "Lost"]})
    segments = segmentation.build_customer_segments(features, centroids, rfm)
    names = dict(
        zip(segments["user_id"].to_pylist(), segments["segment_name"].to_pylist(), strict=True)
    )
    assert names[2] == "Champions" and names[5] == "Lost"
    assert names[1] == segmentation.NOT_SEGMENTED_VISITOR
    assert set(segments["segmentation_method"].to_pylist()) == {"rfm_fallback"}
    assert segments["segment_id"].null_count == 12


def snapshots_table(n: int, seed: int = 0) -> pa.Table:
    """Three snapshots 30 days apart where buying depends on recent views."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, as_of in (
        ("evaluation_train", dt.date(2020, 3, 1)),
        ("final_train", dt.date(2020, 3, 31)),
        ("score", dt.date(2020, 4, 30)),
    ):
        views7 = rng.poisson(2.0, n)
        chance = 1 / (1 + np.exp(-(views7 - 5.0)))
        label = rng.uniform(0, 1, n) < chance
        columns = {name_: rng.uniform(0, 10, n) for name_ in propensity.PROPENSITY_FEATURES}
        columns["views_last_7_days"] = views7.astype(float)
        parts.append(
            pa.table(
                {
                    "snapshot": [name] * n,
                    "as_of_date": pa.array([as_of] * n, pa.date32()),
                    "user_id": np.arange(1, n + 1, dtype=np.int64),
                    **columns,
                    "label": pa.nulls(n, pa.bool_())
                    if name == "score"
                    else pa.array(label, pa.bool_()),
                }
            )
        )
    return pa.concat_tables(parts)


def test_propensity_steps_train_store_apply_and_explain() -> None:
    snapshots = snapshots_table(3000)
    model_table = propensity.build_model_table(snapshots, seed=3)
    assert model_table["status"].to_pylist() == ["trained"]
    model = propensity.model_from_table(model_table)
    assert model is not None and model.as_of_date == dt.date(2020, 3, 31)
    flags = pa.table(
        {
            "user_id": np.arange(1, 3001, dtype=np.int64),
            "is_personalisation_opt_out": np.arange(3000) < 5,
        }
    )
    scores = propensity.build_scores(model_table, snapshots, flags)
    assert scores.num_rows == 3000
    assert scores["propensity_rank"].to_pylist() == list(range(1, 3001))
    assert pc.sum(scores["is_personalisation_opt_out"]).as_py() == 5
    # the stored model gives exactly the probabilities of the trained one
    direct = propensity.train_propensity(
        snapshots.filter(pc.equal(snapshots["snapshot"], "final_train")), seed=3
    )
    score_rows = snapshots.filter(pc.equal(snapshots["snapshot"], "score"))
    assert np.array_equal(
        propensity.predict_proba(model, score_rows), propensity.predict_proba(direct, score_rows)
    )
    evaluation = propensity.build_evaluation(snapshots, seed=3, horizon_days=30)
    auc = evaluation.filter(pc.equal(evaluation["metric"], "auc"))["value"][0].as_py()
    assert auc > 0.75
    importance = propensity.build_feature_importance(model_table, snapshots)
    assert (
        importance.filter(pc.equal(importance["rank"], 1))["feature"][0].as_py()
        == "views_last_7_days"
    )


def test_propensity_falls_back_without_enough_history() -> None:
    snapshots = snapshots_table(50)
    model_table = propensity.build_model_table(snapshots, seed=3)
    assert model_table["status"].to_pylist() == ["not_trained"]
    assert "at least" in model_table["message"][0].as_py()
    assert propensity.model_from_table(model_table) is None
    flags = pa.table({"user_id": pa.array([1], pa.int64()), "is_personalisation_opt_out": [False]})
    assert propensity.build_scores(model_table, snapshots, flags).num_rows == 0
    assert propensity.build_feature_importance(model_table, snapshots).num_rows == 0
    evaluation = propensity.build_evaluation(snapshots, seed=3, horizon_days=30)
    assert evaluation["metric"].to_pylist() == ["not_evaluated"]
