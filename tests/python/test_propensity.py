"""Purchase propensity: quality on a known synthetic population, leakage guards, determinism,
TreeSHAP reasons, chunked scoring and known-answer evaluation."""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from amazing_analytics.ml.propensity import (
    FEATURE_LABELS,
    PROPENSITY_FEATURES,
    REASON_DIRECTIONS,
    InsufficientDataError,
    PropensityModel,
    assert_no_leakage,
    evaluate_propensity,
    evaluate_scores,
    explain,
    feature_importance,
    predict_margin,
    predict_proba,
    reason_text,
    score_customers,
    train_propensity,
)

TRAIN_AS_OF = dt.date(2020, 1, 1)
TEST_AS_OF = dt.date(2020, 2, 1)
DRIVER = "views_last_7_days"


def synthetic_snapshot(
    n: int, *, seed: int, as_of: dt.date, snapshot: str, with_label: bool = True
) -> pa.Table:
    """Customers whose chance of buying rises with their product views in the last 7 days.

    Everything else is correlated activity or noise; ``revenue`` is a decimal and
    ``days_since_last_order`` / ``average_basket`` are null for customers who never bought, like
    the SQL snapshots.
    """
    rng = np.random.default_rng(seed)
    tenure_days = rng.integers(1, 366, n)
    engagement = rng.gamma(1.0, 1.0, n)
    intent = rng.exponential(1.0, n)
    session_count = 1 + rng.poisson(engagement * 6)
    view_count = session_count + rng.poisson(session_count * 3)
    cart_count = rng.binomial(view_count, 0.08)
    order_count = rng.binomial(cart_count, 0.4)
    revenue = np.round(order_count * rng.gamma(2.0, 40.0, n), 2)
    bought = order_count > 0
    views_last_7_days = rng.poisson(intent * 2.5)
    views_last_30_days = views_last_7_days + rng.poisson(engagement * 3)
    days_since_last_event = np.where(
        views_last_7_days > 0, rng.integers(0, 7, n), 7 + rng.integers(0, 120, n)
    )
    logit = -3.4 + 2.0 * np.log1p(views_last_7_days) + rng.normal(0.0, 0.5, n)
    label = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    with np.errstate(divide="ignore", invalid="ignore"):
        average_basket = np.where(bought, revenue / np.maximum(order_count, 1), np.nan)
        abandonment = np.where(cart_count > 0, 1 - order_count / np.maximum(cart_count, 1), np.nan)
    return pa.table(
        {
            "snapshot": pa.array([snapshot] * n, pa.string()),
            "as_of_date": pa.array([as_of] * n, pa.date32()),
            "user_id": pa.array(np.arange(1, n + 1) * 7, pa.int64()),
            "session_count": pa.array(session_count, pa.int64()),
            "view_count": pa.array(view_count, pa.int64()),
            "cart_count": pa.array(cart_count, pa.int64()),
            "order_count": pa.array(order_count, pa.int64()),
            "revenue": pa.array(
                [decimal.Decimal(f"{v:.2f}") for v in revenue], pa.decimal128(14, 2)
            ),
            "average_basket": pa.array(average_basket, pa.float64(), mask=~bought),
            "conversion_rate": pa.array(order_count / session_count, pa.float64()),
            "cart_abandonment_rate": pa.array(abandonment, pa.float64(), mask=cart_count == 0),
            "days_active": pa.array(np.minimum(session_count, tenure_days), pa.int64()),
            "tenure_days": pa.array(tenure_days, pa.int64()),
            "days_since_last_event": pa.array(
                np.minimum(days_since_last_event, tenure_days), pa.int64()
            ),
            "days_since_last_order": pa.array(
                rng.integers(0, tenure_days + 1), pa.int64(), mask=~bought
            ),
            "views_last_7_days": pa.array(views_last_7_days, pa.int64()),
            "views_last_30_days": pa.array(views_last_30_days, pa.int64()),
            "carts_last_30_days": pa.array(rng.binomial(views_last_30_days, 0.08), pa.int64()),
            "orders_last_90_days": pa.array(rng.binomial(order_count, 0.3), pa.int64()),
            "label": pa.array(label, pa.bool_()) if with_label else pa.nulls(n, pa.bool_()),
        }
    )


def replace_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


def metric(evaluation: pa.Table, name: str, segment: str | None = None) -> float:
    rows = [
        row
        for row in evaluation.to_pylist()
        if row["metric"] == name and (segment is None or row["segment"] == segment)
    ]
    assert len(rows) == 1, (name, segment)
    return rows[0]["value"]


@pytest.fixture(scope="module")
def train() -> pa.Table:
    return synthetic_snapshot(4000, seed=1, as_of=TRAIN_AS_OF, snapshot="evaluation_train")


@pytest.fixture(scope="module")
def test_snapshot() -> pa.Table:
    return synthetic_snapshot(4000, seed=2, as_of=TEST_AS_OF, snapshot="evaluation_test")


@pytest.fixture(scope="module")
def model(train: pa.Table) -> PropensityModel:
    return train_propensity(train, seed=42)


# --------------------------------------------------------------------------------------------
# Quality on a known population
# --------------------------------------------------------------------------------------------


def test_model_records_what_it_was_trained_on(model: PropensityModel, train: pa.Table) -> None:
    labels = train.column("label").to_numpy(zero_copy_only=False)
    assert model.feature_names == PROPENSITY_FEATURES
    assert model.as_of_date == TRAIN_AS_OF
    assert model.n_train == 4000
    assert model.n_positive == int(labels.sum())
    assert model.base_rate == pytest.approx(labels.mean())
    assert model.seed == 42
    assert model.params["objective"] == "binary:logistic"
    assert "scale_pos_weight" not in model.params
    assert model.booster_json.startswith(b"{")


def test_held_out_snapshot_quality(model: PropensityModel, test_snapshot: pa.Table) -> None:
    evaluation = evaluate_propensity(model, test_snapshot)
    base_rate = metric(evaluation, "base_rate")
    assert 0.1 < base_rate < 0.5
    assert metric(evaluation, "auc") > 0.75
    assert metric(evaluation, "precision_at_top_decile") > base_rate
    assert metric(evaluation, "lift_at_top_decile") > 1.5
    assert metric(evaluation, "brier_score") < base_rate * (1 - base_rate)
    assert metric(evaluation, "brier_score") < metric(evaluation, "brier_score_base_rate")
    assert metric(evaluation, "mean_predicted") == pytest.approx(base_rate, abs=0.03)
    assert metric(evaluation, "n_test") == 4000

    calibration = [r for r in evaluation.to_pylist() if r["metric"] == "calibration"]
    assert [r["segment"] for r in calibration] == [f"decile={d}" for d in range(1, 11)]
    assert sum(r["n"] for r in calibration) == 4000
    observed = np.array([r["value"] for r in calibration])
    predicted = np.array([r["predicted_mean"] for r in calibration])
    assert np.all(np.diff(predicted) <= 0)  # decile 1 = most likely
    assert observed[0] > observed[4] > observed[9]
    assert np.sum(np.diff(observed) > 0.03) <= 1  # monotone-ish: at most one small inversion
    assert np.max(np.abs(observed - predicted)) < 0.1  # calibrated without re-weighting


def test_evaluation_schema(model: PropensityModel, test_snapshot: pa.Table) -> None:
    evaluation = evaluate_propensity(model, test_snapshot)
    assert evaluation.schema == pa.schema(
        [
            ("metric", pa.string()),
            ("segment", pa.string()),
            ("value", pa.float64()),
            ("predicted_mean", pa.float64()),
            ("n", pa.int64()),
            ("description", pa.string()),
        ]
    )
    names = set(evaluation.column("metric").to_pylist())
    assert {
        "auc",
        "precision_at_top_decile",
        "lift_at_top_decile",
        "base_rate",
        "mean_predicted",
        "brier_score",
        "n_test",
        "n_positive",
        "calibration",
    } <= names
    assert evaluation.column("description").null_count == 0


# --------------------------------------------------------------------------------------------
# Known-answer evaluation
# --------------------------------------------------------------------------------------------


def test_perfect_ranking_known_answer() -> None:
    labels = np.r_[np.ones(20, bool), np.zeros(80, bool)]
    scores = np.linspace(0.99, 0.01, 100)
    evaluation = evaluate_scores(scores, labels)
    assert metric(evaluation, "auc") == 1.0
    assert metric(evaluation, "precision_at_top_decile") == 1.0
    assert metric(evaluation, "lift_at_top_decile") == pytest.approx(5.0)
    assert metric(evaluation, "base_rate") == pytest.approx(0.2)
    assert metric(evaluation, "n_positive") == 20
    assert metric(evaluation, "calibration", "decile=1") == 1.0
    assert metric(evaluation, "calibration", "decile=2") == 1.0
    assert metric(evaluation, "calibration", "decile=3") == 0.0
    assert metric(evaluation, "brier_score_base_rate") == pytest.approx(0.16)

    reversed_ = evaluate_scores(scores[::-1], labels)
    assert metric(reversed_, "auc") == 0.0
    assert metric(reversed_, "precision_at_top_decile") == 0.0

    exact = evaluate_scores(np.array([1.0, 0.0]), np.array([True, False]))
    assert metric(exact, "brier_score") == 0.0


def test_ties_are_handled_deterministically_and_fairly() -> None:
    # ROC AUC with a tie counts the tied pair as half: (1 + 0.5 + 1 + 1) / 4.
    tied = evaluate_scores(np.array([0.1, 0.5, 0.5, 0.9]), np.array([False, True, False, True]))
    assert metric(tied, "auc") == pytest.approx(0.875)

    # Everyone tied: no ranking information at all.
    labels = np.r_[np.ones(20, bool), np.zeros(80, bool)]
    flat = evaluate_scores(np.full(100, 0.3), labels)
    assert metric(flat, "auc") == pytest.approx(0.5)
    assert metric(flat, "precision_at_top_decile") == pytest.approx(0.2)
    assert metric(flat, "lift_at_top_decile") == pytest.approx(1.0)

    # 5 sure buyers, then 10 tied at the cut-off (4 of them buyers): 5 + 5/10 * 4 out of 10.
    scores = np.r_[np.full(5, 0.9), np.full(10, 0.8), np.full(85, 0.1)]
    labels = np.r_[np.ones(5, bool), np.ones(4, bool), np.zeros(6, bool), np.zeros(85, bool)]
    first = evaluate_scores(scores, labels)
    assert metric(first, "precision_at_top_decile") == pytest.approx(0.7)
    # Shuffling rows does not change any figure; calibration ties follow order_key.
    rng = np.random.default_rng(0)
    permutation = rng.permutation(100)
    keys = np.arange(100)
    a = evaluate_scores(scores, labels, order_key=keys)
    b = evaluate_scores(scores[permutation], labels[permutation], order_key=keys[permutation])
    assert a.equals(b)
    assert metric(a, "precision_at_top_decile") == pytest.approx(0.7)


def test_single_outcome_test_has_no_auc() -> None:
    evaluation = evaluate_scores(np.array([0.2, 0.4, 0.6]), np.zeros(3, bool))
    assert metric(evaluation, "auc") is None
    assert metric(evaluation, "lift_at_top_decile") is None
    with pytest.raises(InsufficientDataError):
        evaluate_scores(np.array([]), np.array([], bool))


# --------------------------------------------------------------------------------------------
# Leakage
# --------------------------------------------------------------------------------------------


def test_test_labels_cannot_change_predictions(
    model: PropensityModel, test_snapshot: pa.Table
) -> None:
    before = predict_proba(model, test_snapshot)
    flipped = replace_column(test_snapshot, "label", pc.invert(test_snapshot.column("label")))
    no_label = test_snapshot.drop_columns(["label"])
    null_label = replace_column(test_snapshot, "label", pa.nulls(4000, pa.bool_()))
    assert np.array_equal(predict_proba(model, flipped), before)
    assert np.array_equal(predict_proba(model, no_label), before)
    assert np.array_equal(predict_proba(model, null_label), before)
    contributions, _ = explain(model, flipped)
    assert np.array_equal(contributions, explain(model, test_snapshot)[0])


def test_shuffled_training_labels_learn_nothing(train: pa.Table, test_snapshot: pa.Table) -> None:
    rng = np.random.default_rng(5)
    labels = train.column("label").to_numpy(zero_copy_only=False)
    shuffled = replace_column(train, "label", pa.array(rng.permutation(labels), pa.bool_()))
    auc = metric(evaluate_propensity(train_propensity(shuffled), test_snapshot), "auc")
    assert 0.4 < auc < 0.6


def test_leakage_guards(train: pa.Table) -> None:
    assert_no_leakage(train)  # the clean table passes

    second = synthetic_snapshot(300, seed=9, as_of=TEST_AS_OF, snapshot="evaluation_train")
    second = replace_column(
        second, "user_id", pa.array(np.arange(300, dtype=np.int64) + 10**9, pa.int64())
    )
    with pytest.raises(ValueError, match="as_of_date"):
        assert_no_leakage(pa.concat_tables([train, second]))
    with pytest.raises(ValueError, match="as_of_date"):
        train_propensity(pa.concat_tables([train, second]))

    with pytest.raises(ValueError, match="label"):
        assert_no_leakage(train, features=(*PROPENSITY_FEATURES, "label"))

    mixed = replace_column(
        train, "snapshot", pa.array(["evaluation_train", "final_train"] * 2000, pa.string())
    )
    with pytest.raises(ValueError, match="snapshot"):
        assert_no_leakage(mixed)

    score = replace_column(train, "snapshot", pa.array(["score"] * 4000, pa.string()))
    with pytest.raises(ValueError, match="score"):
        assert_no_leakage(score)

    copied = replace_column(
        train, "orders_last_90_days", pc.cast(train.column("label"), pa.int64())
    )
    with pytest.raises(ValueError, match="orders_last_90_days"):
        train_propensity(copied)

    with pytest.raises(ValueError, match="more than once"):
        assert_no_leakage(pa.concat_tables([train, train.slice(0, 1)]))

    unlabelled = replace_column(train, "label", pa.nulls(4000, pa.bool_()))
    with pytest.raises(ValueError, match="no label"):
        assert_no_leakage(unlabelled.drop_columns(["snapshot"]))


def test_test_snapshot_must_follow_the_label_window(
    model: PropensityModel, test_snapshot: pa.Table
) -> None:
    too_early = replace_column(
        test_snapshot, "as_of_date", pa.array([dt.date(2020, 1, 15)] * 4000, pa.date32())
    )
    with pytest.raises(ValueError, match="at least 30 days after"):
        evaluate_propensity(model, too_early)


# --------------------------------------------------------------------------------------------
# Determinism and input handling
# --------------------------------------------------------------------------------------------


def test_same_input_and_seed_give_identical_probabilities(
    model: PropensityModel, train: pa.Table, test_snapshot: pa.Table
) -> None:
    again = train_propensity(train, seed=42)
    assert again.booster_json == model.booster_json
    assert again == model
    assert np.array_equal(predict_proba(again, test_snapshot), predict_proba(model, test_snapshot))
    other = train_propensity(train, seed=7)
    assert not np.array_equal(
        predict_proba(other, test_snapshot), predict_proba(model, test_snapshot)
    )


def test_the_row_order_of_the_training_snapshot_does_not_change_the_model(
    model: PropensityModel, train: pa.Table, test_snapshot: pa.Table
) -> None:
    """The warehouse hands the same snapshot over in no fixed order: the model is the same."""
    shuffled = train.take(np.random.default_rng(3).permutation(train.num_rows))
    assert shuffled.column("user_id") != train.column("user_id")
    again = train_propensity(shuffled, seed=42)
    assert again.booster_json == model.booster_json
    assert np.array_equal(predict_proba(again, test_snapshot), predict_proba(model, test_snapshot))


def test_inputs_are_cast_and_missing_features_reported(
    model: PropensityModel, test_snapshot: pa.Table
) -> None:
    probabilities = predict_proba(model, test_snapshot)
    assert probabilities.dtype == np.float64
    assert probabilities.shape == (4000,)
    assert np.all((probabilities > 0) & (probabilities < 1))
    # Column order and extra columns do not matter; decimals and float revenue agree.
    reordered = test_snapshot.select(list(reversed(test_snapshot.column_names)))
    as_float = replace_column(
        test_snapshot, "revenue", pc.cast(test_snapshot.column("revenue"), pa.float64())
    )
    assert np.array_equal(predict_proba(model, reordered), probabilities)
    assert np.array_equal(predict_proba(model, as_float), probabilities)
    # Infinity (a division by zero upstream) is treated as missing.
    with_inf = replace_column(
        test_snapshot, "conversion_rate", pa.array([np.inf] * 4000, pa.float64())
    )
    with_null = replace_column(test_snapshot, "conversion_rate", pa.nulls(4000, pa.float64()))
    assert np.array_equal(predict_proba(model, with_inf), predict_proba(model, with_null))
    with pytest.raises(ValueError, match="views_last_7_days"):
        predict_proba(model, test_snapshot.drop_columns(["views_last_7_days"]))


# --------------------------------------------------------------------------------------------
# Too little data
# --------------------------------------------------------------------------------------------


def test_too_few_rows_or_outcomes_raise_readable_errors(train: pa.Table) -> None:
    with pytest.raises(InsufficientDataError, match=r"has 150 and at least 200"):
        train_propensity(train.slice(0, 150))

    labels = np.zeros(500, bool)
    labels[:10] = True
    few_buyers = replace_column(train.slice(0, 500), "label", pa.array(labels, pa.bool_()))
    with pytest.raises(InsufficientDataError, match=r"10 bought and 490 did not buy") as error:
        train_propensity(few_buyers)
    assert "at least 20 of each" in str(error.value)
    assert isinstance(error.value, ValueError)

    few_non_buyers = replace_column(train.slice(0, 500), "label", pa.array(~labels, pa.bool_()))
    with pytest.raises(InsufficientDataError, match=r"490 bought and 10 did not buy"):
        train_propensity(few_non_buyers)


# --------------------------------------------------------------------------------------------
# SHAP explanations
# --------------------------------------------------------------------------------------------


def test_contributions_add_up_to_the_margin(
    model: PropensityModel, test_snapshot: pa.Table
) -> None:
    contributions, reasons = explain(model, test_snapshot)
    assert contributions.shape == (4000, len(PROPENSITY_FEATURES))
    assert contributions.dtype == np.float64
    margin = predict_margin(model, test_snapshot)
    np.testing.assert_allclose(
        contributions.sum(axis=1) + model.shap_base_margin, margin, atol=1e-4
    )
    np.testing.assert_allclose(
        1 / (1 + np.exp(-margin)), predict_proba(model, test_snapshot), atol=1e-6
    )
    assert len(reasons) == 4000


def test_reasons_name_the_driver_for_likely_buyers(
    model: PropensityModel, test_snapshot: pa.Table
) -> None:
    probabilities = predict_proba(model, test_snapshot)
    top = np.argsort(-probabilities)[:200]
    contributions, reasons = explain(model, test_snapshot.take(pa.array(top)), top_n=3)
    driver = FEATURE_LABELS[DRIVER]
    first_is_driver = [r[0].startswith(driver) for r in reasons]
    assert np.mean(first_is_driver) > 0.8
    raises = f"({REASON_DIRECTIONS[1]})"
    assert all(
        any(text.startswith(driver) and text.endswith(raises) for text in r) for r in reasons
    )
    assert np.all(contributions[:, PROPENSITY_FEATURES.index(DRIVER)] > 0)


def test_reasons_are_plain_words_and_respect_top_n(
    model: PropensityModel, test_snapshot: pa.Table
) -> None:
    sample = test_snapshot.slice(0, 300)
    for top_n in (1, 3, 5):
        contributions, reasons = explain(model, sample, top_n=top_n)
        assert all(1 <= len(r) <= top_n for r in reasons)
        for row, texts in zip(contributions, reasons, strict=True):
            strengths = []
            for text in texts:
                assert "_" not in text  # no column names leak into the wording
                feature = next(f for f in PROPENSITY_FEATURES if text.startswith(FEATURE_LABELS[f]))
                contribution = row[PROPENSITY_FEATURES.index(feature)]
                assert text.endswith(f"({REASON_DIRECTIONS[1 if contribution > 0 else -1]})")
                strengths.append(abs(contribution))
            assert strengths == sorted(strengths, reverse=True)
            assert len(texts) == min(top_n, int(np.count_nonzero(row)))
    with pytest.raises(ValueError, match="top_n"):
        explain(model, sample, top_n=0)
    assert set(FEATURE_LABELS) == set(PROPENSITY_FEATURES)


def test_reason_wording() -> None:
    assert (
        reason_text("views_last_7_days", 12.0, 0.8)
        == "Product views in the last 7 days: 12 (raises purchase chance)"
    )
    assert (
        reason_text("days_since_last_order", float("nan"), -0.3)
        == "Days since last order: never ordered (lowers purchase chance)"
    )
    assert reason_text("conversion_rate", 0.25, 0.1).startswith(
        "Share of visits that end in a purchase: 25%"
    )
    assert reason_text("average_basket", 1234.5, 0.1).startswith("Average order value: 1,234.50")


# --------------------------------------------------------------------------------------------
# Scoring and importance
# --------------------------------------------------------------------------------------------


def test_score_customers_chunked_equals_unchunked(model: PropensityModel) -> None:
    score = synthetic_snapshot(
        503, seed=3, as_of=dt.date(2020, 3, 1), snapshot="score", with_label=False
    )
    whole = score_customers(model, score)
    chunked = score_customers(model, score, chunk_size=37)
    assert whole.equals(chunked)

    assert whole.column_names == [
        "user_id",
        "purchase_probability",
        "propensity_decile",
        "propensity_rank",
        "reason_1",
        "reason_2",
        "reason_3",
        "model_as_of_date",
        "scored_as_of_date",
    ]
    assert whole.schema.field("purchase_probability").type == pa.float64()
    assert whole.schema.field("model_as_of_date").type == pa.date32()
    assert whole.column("propensity_rank").to_pylist() == list(range(1, 504))
    deciles = whole.column("propensity_decile").to_numpy()
    assert sorted(set(deciles.tolist())) == list(range(1, 11))
    assert np.all(np.diff(deciles) >= 0)
    sizes = np.bincount(deciles)[1:]
    assert sizes.max() - sizes.min() <= 1
    probabilities = whole.column("purchase_probability").to_numpy()
    assert np.all(np.diff(probabilities) <= 0)
    assert sorted(whole.column("user_id").to_pylist()) == score.column("user_id").to_pylist()
    assert set(whole.column("model_as_of_date").to_pylist()) == {TRAIN_AS_OF}
    assert set(whole.column("scored_as_of_date").to_pylist()) == {dt.date(2020, 3, 1)}
    assert whole.column("reason_1").null_count == 0

    # Same probabilities as predict_proba, matched by user.
    expected = dict(
        zip(score.column("user_id").to_pylist(), predict_proba(model, score), strict=True)
    )
    assert all(
        expected[u] == p
        for u, p in zip(whole.column("user_id").to_pylist(), probabilities, strict=True)
    )


def test_score_customers_breaks_ties_by_user_id(model: PropensityModel) -> None:
    one = synthetic_snapshot(1, seed=4, as_of=dt.date(2020, 3, 1), snapshot="score")
    same = pa.concat_tables([one] * 20)
    same = replace_column(same, "user_id", pa.array([40 - i for i in range(20)], pa.int64()))
    scored = score_customers(model, same, top_n=5, chunk_size=3)
    assert scored.column("user_id").to_pylist() == list(range(21, 41))
    assert scored.column("propensity_rank").to_pylist() == list(range(1, 21))
    assert [f"reason_{i}" for i in range(1, 6)] == scored.column_names[4:9]


def test_feature_importance(model: PropensityModel, test_snapshot: pa.Table) -> None:
    importance = feature_importance(model, test_snapshot)
    assert importance.column_names == ["feature", "label", "gain", "mean_abs_shap", "rank"]
    assert sorted(importance.column("feature").to_pylist()) == sorted(PROPENSITY_FEATURES)
    assert importance.column("rank").to_pylist() == list(range(1, 17))
    assert importance.column("feature")[0].as_py() == DRIVER
    assert importance.column("label")[0].as_py() == FEATURE_LABELS[DRIVER]
    assert sum(importance.column("gain").to_pylist()) == pytest.approx(1.0)
    shap_values = importance.column("mean_abs_shap").to_numpy()
    assert np.all(np.diff(shap_values) <= 0)
    contributions, _ = explain(model, test_snapshot)
    np.testing.assert_allclose(
        np.sort(np.abs(contributions).mean(axis=0))[::-1], shap_values, rtol=1e-9
    )
