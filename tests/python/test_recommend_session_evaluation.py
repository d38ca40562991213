"""Known-answer tests of the next-item-in-session evaluation and of the evidence rule."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from amazing_analytics.ml.recommend.selection import (
    Interval,
    Resamples,
    bootstrap_interval,
    bootstrap_intervals,
    resample_indices,
    select_by_evidence,
)
from amazing_analytics.ml.recommend.session import selected_session_model
from amazing_analytics.ml.recommend.session_evaluation import (
    SessionEvaluationSettings,
    evaluate_sessions,
    load_test_sessions,
    popularity_ranking,
    recently_viewed_not_bought,
)
from test_recommend_bounds import _embedding_inputs

NEIGHBOURS = pa.table(
    {
        "product_id": pa.array([1, 2, 3], pa.int64()),
        "neighbour_product_id": pa.array([2, 3, 1], pa.int64()),
        "neighbour_rank": pa.array([1, 1, 1], pa.int32()),
        "score": [1.0, 1.0, 1.0],
    }
)
T0 = dt.datetime(2020, 4, 1)


def interactions(rows: list[tuple[int, int, float, int, int]]) -> pa.Table:
    """(user, product, weight, purchase_count, day of last event) of evaluation_train."""
    return pa.table(
        {
            "split": ["evaluation_train"] * len(rows),
            "user_id": pa.array([r[0] for r in rows], pa.int64()),
            "product_id": pa.array([r[1] for r in rows], pa.int64()),
            "view_count": [1] * len(rows),
            "cart_count": [0] * len(rows),
            "purchase_count": [r[3] for r in rows],
            "weight": [r[2] for r in rows],
            "last_event_at": pa.array(
                [T0 + dt.timedelta(days=r[4]) for r in rows], pa.timestamp("us")
            ),
        }
    )


#: popularity: 5 (10), 4 (5), 1 (1)
TRAIN = interactions([(7, 5, 10.0, 0, 1), (8, 4, 5.0, 0, 2), (8, 1, 1.0, 1, 3)])


def sequences(sessions: list[tuple[str, int, bool, list[int]]]) -> pa.Table:
    rows = []
    for session_id, user, returning, products in sessions:
        for position, product in enumerate(products, start=1):
            rows.append(
                {
                    "session_id": session_id,
                    "user_id": user,
                    "position": position,
                    "product_id": product,
                    "event_type": "view",
                    "session_length": len(products),
                    "is_returning_user": returning,
                }
            )
    return pa.Table.from_pylist(rows)


def metric(table: pa.Table, model: str, name: str, slice_type="all", slice_name="all") -> dict:
    rows = [
        r
        for r in table.to_pylist()
        if r["model"] == model
        and r["metric"] == name
        and r["slice_type"] == slice_type
        and r["slice"] == slice_name
    ]
    assert len(rows) == 1, (model, name, slice_type, slice_name)
    return rows[0]


SETTINGS = SessionEvaluationSettings(k=2, min_sessions=1, bootstrap_samples=200, seed=1)
MODELS = ("popularity", "covisitation", "sknn")


def test_metrics_known_answer_on_two_sessions():
    # s1 (returning): 1 2 3; s2 (new): 1 4. k = 2, popularity 5, 4, 1.
    # covisitation: [1] -> 2, 5 (hit at 1); [1 2] -> 3, 5 (hit at 1); [1] -> 2, 5 (4 missed)
    # popularity: [1] -> 5, 4 (miss); [1 2] -> 5, 4 (miss); [1] -> 5, 4 (4 at rank 2)
    seqs = sequences([("s1", 7, True, [1, 2, 3]), ("s2", 9, False, [1, 4])])
    out = evaluate_sessions(seqs, NEIGHBOURS, TRAIN, None, settings=SETTINGS, models=MODELS)
    assert metric(out, "covisitation", "hit_rate")["value"] == pytest.approx(2 / 3)
    assert metric(out, "covisitation", "mrr")["value"] == pytest.approx(2 / 3)
    assert metric(out, "covisitation", "ndcg")["value"] == pytest.approx(2 / 3)
    assert metric(out, "popularity", "hit_rate")["value"] == pytest.approx(1 / 3)
    assert metric(out, "popularity", "mrr")["value"] == pytest.approx(1 / 6)
    assert metric(out, "popularity", "ndcg")["value"] == pytest.approx(1 / math.log2(3) / 3)
    row = metric(out, "covisitation", "hit_rate")
    assert row["session_count"] == 2 and row["prediction_count"] == 3 and row["k"] == 2
    assert row["ci_low"] <= row["value"] <= row["ci_high"]
    # slices: by user type and by session length
    assert metric(out, "covisitation", "hit_rate", "user_type", "returning")["value"] == 1.0
    assert metric(out, "covisitation", "hit_rate", "user_type", "new")["value"] == 0.0
    assert metric(out, "popularity", "hit_rate", "session_length", "2")["value"] == 1.0
    assert metric(out, "popularity", "hit_rate", "session_length", "3-4")["value"] == 0.0
    empty = metric(out, "popularity", "hit_rate", "session_length", "10+")
    assert empty["value"] is None and empty["session_count"] == 0
    # two sessions: the intervals overlap, so the simplest model serves
    assert metric(out, "popularity", "hit_rate")["is_selected"]
    assert selected_session_model(out)[0] == "popularity"


def test_a_model_serves_only_when_its_interval_clears_the_simpler_ones():
    # 60 sessions 1 2 3 (covisitation hits, popularity misses), 20 sessions 1 4
    sessions = [(f"a{i:03d}", i, True, [1, 2, 3]) for i in range(60)]
    sessions += [(f"b{i:03d}", 100 + i, False, [1, 4]) for i in range(20)]
    out = evaluate_sessions(
        sequences(sessions), NEIGHBOURS, TRAIN, None, settings=SETTINGS, models=MODELS
    )
    covisitation = metric(out, "covisitation", "hit_rate")
    popularity = metric(out, "popularity", "hit_rate")
    assert covisitation["ci_low"] > popularity["ci_high"]
    # sknn ranks exactly as covisitation here: equal, so it does not replace it
    assert metric(out, "sknn", "hit_rate")["value"] == covisitation["value"]
    name, params = selected_session_model(out)
    assert name == "covisitation" and params == {}
    assert all(r["status"] == "ok" for r in out.to_pylist())
    message = metric(out, "covisitation", "hit_rate")["message"]
    assert "80 of 80 test sessions" in message and "clears popularity" in message
    assert json.loads(metric(out, "sknn", "ndcg")["params"]) == {}


def test_too_few_sessions_is_not_enough_evidence_and_popularity_serves():
    sessions = [(f"a{i:03d}", i, True, [1, 2, 3]) for i in range(60)]
    settings = SessionEvaluationSettings(k=2, min_sessions=100, bootstrap_samples=50)
    out = evaluate_sessions(
        sequences(sessions), NEIGHBOURS, TRAIN, None, settings=settings, models=MODELS
    )
    assert {r["status"] for r in out.to_pylist()} == {"not_enough_evidence"}
    assert selected_session_model(out)[0] == "popularity"
    assert "60 test sessions (need 100" in metric(out, "popularity", "hit_rate")["message"]


def test_no_test_session_gives_one_row_saying_why():
    empty = sequences([("s", 1, True, [1, 2])]).slice(0, 0)
    out = evaluate_sessions(empty, NEIGHBOURS, TRAIN, None, settings=SETTINGS)
    assert out.num_rows == 1
    row = out.to_pylist()[0]
    assert row["metric"] == "not_evaluated" and row["is_selected"]
    assert row["status"] == "not_enough_evidence" and "no test session" in row["message"]


def test_embedding_without_product_features_says_it_was_not_evaluated():
    seqs = sequences([("s1", 7, True, [1, 2, 3])])
    out = evaluate_sessions(
        seqs, NEIGHBOURS, TRAIN, None, settings=SETTINGS, models=("popularity", "embedding")
    )
    row = metric(out, "embedding", "hit_rate")
    assert row["value"] is None and "not evaluated" in row["message"]


def test_the_history_blend_uses_the_returning_shoppers_history():
    # shopper 7 viewed 5 (not bought): the blend puts 5 first after the session's neighbours
    neighbours = NEIGHBOURS.slice(0, 1)  # only 1 -> 2
    seqs = sequences([("s1", 7, True, [1, 6, 5])])
    train = interactions([(7, 5, 10.0, 0, 1), (8, 4, 50.0, 0, 2)])
    out = evaluate_sessions(
        seqs,
        neighbours,
        train,
        None,
        settings=SessionEvaluationSettings(k=1, min_sessions=1, bootstrap_samples=10),
        models=("popularity", "vsknn", "vsknn_history"),
    )
    # [1] -> 2 (miss 6); [1 6] -> vsknn: 2 (miss 5); blend: 2 (0.5) vs history 5 (0.3 x 1)
    assert metric(out, "vsknn", "hit_rate")["value"] == 0.0
    assert metric(out, "popularity", "hit_rate")["value"] == 0.0
    out_k2 = evaluate_sessions(
        seqs,
        neighbours,
        train,
        None,
        settings=SessionEvaluationSettings(k=2, min_sessions=1, bootstrap_samples=10),
        models=("vsknn", "vsknn_history"),
    )
    # k = 2: vsknn fills with popularity 4 (5 missed); the blend has 2, 5: 5 hit at rank 2
    assert metric(out_k2, "vsknn", "hit_rate")["value"] == 0.0
    assert metric(out_k2, "vsknn_history", "hit_rate")["value"] == 0.5


def test_sample_is_seeded_and_bounded():
    seqs = sequences([(f"s{i:03d}", i, True, [1, 2]) for i in range(30)])
    first = load_test_sessions(seqs, 10, seed=3)
    again = load_test_sessions(seqs, 10, seed=3)
    assert first.size == 10 and first.total_sessions == 30
    assert first.session_ids.tolist() == again.session_ids.tolist()
    assert first.products.tolist() == [1, 2] * 10


def test_popularity_and_history_inputs():
    ids, weights = popularity_ranking(TRAIN)
    assert ids.tolist() == [5, 4, 1] and weights.tolist() == [10.0, 5.0, 1.0]
    train = interactions([(7, 5, 1.0, 0, 1), (7, 6, 1.0, 0, 3), (7, 8, 1.0, 1, 4), (9, 1, 1, 0, 0)])
    assert recently_viewed_not_bought(train, 10) == {7: [6, 5], 9: [1]}
    assert recently_viewed_not_bought(train, 1) == {7: [6], 9: [1]}
    # only the asked users (the test sessions' shoppers; -1 = unknown matches nobody)
    assert recently_viewed_not_bought(train, 10, users=np.array([9, -1])) == {9: [1]}
    assert recently_viewed_not_bought(train, 10, users=np.array([], np.int64)) == {}


def test_bootstrap_interval_of_identical_units_has_no_width():
    draws = resample_indices(5, 100, seed=0)
    interval = bootstrap_interval(np.ones(5), np.full(5, 2.0), draws)
    assert interval == Interval(0.5, 0.5, 0.5)
    assert bootstrap_interval(np.zeros(0), np.zeros(0), draws[:, :0]).value is None
    spread = bootstrap_interval(
        np.array([0.0, 1.0] * 50), np.ones(100), resample_indices(100, 500, 1)
    )
    assert spread.low < 0.5 < spread.high and spread.high - spread.low < 0.25


def test_resamples_as_counts_are_the_same_draws_and_the_same_intervals():
    draws = resample_indices(7, 250, seed=3)
    resamples = Resamples.draw(7, 250, seed=3)
    assert resamples.shape == (250, 7)
    # each resample's counts are its draws counted (the rows cross the counting blocks of 100)
    for row in (0, 99, 100, 249):
        assert resamples.weights[row].tolist() == np.bincount(draws[row], minlength=7).tolist()
    assert resamples.weights.sum(axis=1).tolist() == [7.0] * 250
    # a per-unit mean with integer sums (hit rates): the same interval exactly
    hits = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    assert bootstrap_interval(hits, np.ones(7), resamples) == bootstrap_interval(
        hits, np.ones(7), draws
    )
    # a ratio of sums over units of unequal size: equal up to the order of the additions
    sums, counts = np.array([0.3, 1.7, 0.0, 2.2, 0.9, 0.1, 1.3]), np.array([1, 3, 2, 4, 1, 1, 2.0])
    gathered = bootstrap_interval(sums, counts, draws)
    counted = bootstrap_interval(sums, counts, resamples)
    assert counted.value == gathered.value
    assert counted.low == pytest.approx(gathered.low, rel=1e-12)
    assert counted.high == pytest.approx(gathered.high, rel=1e-12)
    assert counted.low < gathered.value < counted.high
    with pytest.raises(ValueError, match="6 units but draws for 7"):
        bootstrap_interval(sums[:6], counts[:6], resamples)
    assert Resamples.draw(0, 10, seed=1).shape == (0, 0)
    assert bootstrap_interval(hits, np.ones(7), Resamples.draw(7, 0, seed=1)).low is None
    # several columns (every model's every metric on a slice) in one product: each column's
    # interval is its own, its point value to the bit
    columns = np.column_stack([hits, sums, sums * 3.0])
    together = bootstrap_intervals(columns, counts, resamples)
    for column, interval in zip(columns.T, together, strict=True):
        alone = bootstrap_interval(column.copy(), counts, draws)
        assert interval.value == alone.value
        assert (interval.low, interval.high) == pytest.approx((alone.low, alone.high), rel=1e-12)
    assert together[2].high == pytest.approx(3.0 * together[1].high, rel=1e-12)
    assert (
        bootstrap_intervals(columns[:0], counts[:0], Resamples.draw(0, 5, 1))
        == [Interval(None, None, None)] * 3
    )


def test_session_slice_intervals_draw_each_slice_once_for_every_model():
    import sys

    from amazing_analytics.ml.recommend.session_evaluation.scoring import per_session_metrics
    from amazing_analytics.ml.recommend.session_evaluation.sessions import TestSessions

    evaluate_module = sys.modules["amazing_analytics.ml.recommend.session_evaluation.evaluate"]
    lengths = np.array([2, 3, 4, 2, 5, 3])  # 13 predictions in 6 sessions
    n = lengths.size
    sessions = TestSessions(
        np.arange(n).astype(str).astype(object),
        np.full(n, -1),
        np.zeros(n, bool),
        np.r_[0, np.cumsum(lengths)],
        np.zeros(lengths.sum(), np.int64),
        np.full(lengths.sum(), "view", object),
        n,
    )
    ranks = np.array([1, 0, 3, 0, 2, 1, 0, 0, 5, 1, 0, 2, 4], np.int32)
    keep = np.array([True, False] * 6 + [True])  # a family slice counts some predictions
    slices = [
        ("all", "all", np.ones(n, bool), None),
        ("family", "f", np.array([True, True, False, True, True, True]), keep),
    ]
    ranked = {"a": (ranks, 1.0), "b": (ranks, 2.0), "c": (ranks[::-1].copy(), 3.0)}
    settings = SessionEvaluationSettings(bootstrap_samples=300, seed=11)
    slice_counts = evaluate_module._slice_counts(sessions, slices)
    out = evaluate_module._slice_intervals(ranked, sessions, slices, slice_counts, settings)
    for position, (_, _, mask, kept) in enumerate(slices):
        # slice p is resampled with seed + p, the same draws for every model (paired)
        draws = resample_indices(int(mask.sum()), 300, 11 + position)
        predictions = lengths - 1
        counted = (
            predictions
            if kept is None
            else np.add.reduceat(kept.astype(float), np.r_[0, np.cumsum(predictions)][:-1])
        )
        for name in ("a", "c"):
            sums = per_session_metrics(ranked[name][0], sessions, kept)["mrr"][mask]
            expected = bootstrap_interval(sums, counted[mask], draws)
            got = out[name][position]["mrr"]
            assert got.value == expected.value
            assert (got.low, got.high) == pytest.approx((expected.low, expected.high), rel=1e-12)
        assert out["a"][position] == out["b"][position]


def test_select_by_evidence_walks_the_complexity_order():
    intervals = {
        "popularity": Interval(0.2, 0.18, 0.22),
        "covisitation": Interval(0.4, 0.35, 0.45),
        "sknn": Interval(0.46, 0.44, 0.48),  # overlaps covisitation: does not serve
        "vsknn": Interval(0.5, 0.46, 0.54),  # clears covisitation's 0.45
    }
    name, notes = select_by_evidence(["popularity", "covisitation", "sknn", "vsknn"], intervals)
    assert name == "vsknn"
    assert "sknn" in notes[1] and "does not clear covisitation" in notes[1]
    assert (
        select_by_evidence(
            ["popularity", "covisitation"],
            {"popularity": intervals["popularity"], "covisitation": Interval(0.25, 0.21, 0.3)},
        )[0]
        == "popularity"
    )


def test_category_family_slices_count_only_the_predictions_of_the_family():
    # targets: s1 -> 2 (x), 3 (y); s2 -> 4 (y). covisitation hits 2 and 3, misses 4;
    # popularity (5, 4) misses 2 and 3, finds 4 at rank 2.
    families = pa.table(
        {"product_id": pa.array([1, 2, 3, 4], pa.int64()), "category_level_1": ["x", "x", "y", "y"]}
    )
    seqs = sequences([("s1", 7, True, [1, 2, 3]), ("s2", 9, False, [1, 4])])
    out = evaluate_sessions(seqs, NEIGHBOURS, TRAIN, families, settings=SETTINGS, models=MODELS)
    x = metric(out, "covisitation", "hit_rate", "category_family", "x")
    assert x["value"] == 1.0 and x["session_count"] == 1 and x["prediction_count"] == 1
    y = metric(out, "covisitation", "hit_rate", "category_family", "y")
    assert y["value"] == 0.5 and y["session_count"] == 2 and y["prediction_count"] == 2
    assert metric(out, "popularity", "hit_rate", "category_family", "x")["value"] == 0.0
    assert metric(out, "popularity", "mrr", "category_family", "y")["value"] == 0.25
    # the other slices are unchanged by the family slices
    assert metric(out, "covisitation", "hit_rate")["value"] == pytest.approx(2 / 3)


def _embedding_shop() -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """300 shoppers x 4 of 40 products in the training days (enough for LightFM), the bounds
    tests' product features, a co-visitation list for half the products and 40 seeded test
    sessions."""
    rng = np.random.default_rng(3)
    train = interactions(
        [
            (user, 1000 + int(p), 1.0 + (user % 3), int(user % 5 == 0), int(user % 20))
            for user in range(300)
            for p in rng.choice(40, size=4, replace=False)
        ]
    )
    _, features = _embedding_inputs()  # 40 products 1000-1039: 4 categories, 5 brands
    ids = list(range(1000, 1040))
    neighbours = pa.table(
        {
            "product_id": pa.array(ids[:20], pa.int64()),
            "neighbour_product_id": pa.array([p + 1 for p in ids[:20]], pa.int64()),
            "neighbour_rank": pa.array([1] * 20, pa.int32()),
            "score": [1.0] * 20,
        }
    )
    seqs = sequences(
        [
            (f"s{i:02d}", int(i % 300), bool(i % 2), [1000 + int(p) for p in rng.choice(40, 4)])
            for i in range(40)
        ]
    )
    return train, features, neighbours, seqs


def test_the_embedding_models_score_on_both_kinds_of_neighbours_fitted_beside_the_others(
    run_inline,
):
    """LightFM is fitted in a thread while the models without embeddings are scored; the
    embedding and hybrid models then score on the co-visitation plus the embedding neighbours:
    their ranks are those of the index built from both tables at once, and every row is the
    same as when the fit runs first (the timing rows aside)."""
    from amazing_analytics.ml.recommend.models import LightFMParams
    from amazing_analytics.ml.recommend.session import NeighbourIndex, model_params
    from amazing_analytics.ml.recommend.session_evaluation.scoring import session_ranks
    from amazing_analytics.ml.recommend.session_evaluation.training import embedding_index_rows

    train, features, neighbours, seqs = _embedding_shop()
    settings = SessionEvaluationSettings(k=3, min_sessions=1, bootstrap_samples=50, seed=1)
    lightfm = LightFMParams(epochs=2)
    models = ("popularity", "covisitation", "embedding", "hybrid")

    def run() -> pa.Table:
        out = evaluate_sessions(
            seqs, neighbours, train, features, settings=settings, lightfm=lightfm, models=models
        )
        return out.filter(pc.not_equal(out["metric"], "milliseconds_per_list"))

    beside = run()
    run_inline()
    assert run().equals(beside)

    sessions = load_test_sessions(seqs, settings.sample_sessions, settings.seed)
    rows = embedding_index_rows(
        train,
        features,
        lightfm,
        1,
        settings.neighbours_top_n,
        products=np.unique(sessions.products),
    )
    session_rows = neighbours.append_column("source", pa.array(["session"] * neighbours.num_rows))
    both = NeighbourIndex.from_arrow(pa.concat_tables([session_rows.cast(rows.schema), rows]))
    alone = NeighbourIndex.from_arrow(neighbours)
    popular, _ = popularity_ranking(train)
    histories = recently_viewed_not_bought(train, 10, users=sessions.user_ids)
    for name in ("embedding", "hybrid"):
        ranks, _ = session_ranks(sessions, both, popular, histories, 3, name, model_params(name))
        without, _ = session_ranks(sessions, alone, popular, histories, 3, name, model_params(name))
        assert not np.array_equal(ranks, without)  # the embedding neighbours change the answer
        assert metric(beside, name, "hit_rate")["value"] == pytest.approx((ranks > 0).mean())
        assert metric(beside, name, "mrr")["value"] == pytest.approx(
            np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0).mean()
        )


def test_the_embedding_models_rank_by_a_stored_lightfm_without_fitting_one(monkeypatch):
    """Given the batch evaluation's LightFM (recommender_evaluation_embeddings), the embedding
    models use its product vectors and nothing is fitted: with the vectors of the fit the
    session evaluation would make itself, every row is the same (the timing rows aside). A
    stored table without products (the batch split could not be evaluated) falls back to
    fitting."""
    from amazing_analytics.ml.recommend.data import build_catalogue, build_training_data
    from amazing_analytics.ml.recommend.models import LightFMParams, LightFMRecommender
    from amazing_analytics.ml.recommend.serving import embeddings_table

    train, features, neighbours, seqs = _embedding_shop()
    settings = SessionEvaluationSettings(k=3, min_sessions=1, bootstrap_samples=50, seed=1)
    lightfm = LightFMParams(epochs=2)
    data = build_training_data(train, build_catalogue(features), None, "evaluation_train")

    def as_stored(model: LightFMRecommender, fit: str = "evaluation") -> pa.Table:
        table = embeddings_table(model, data)
        return table.append_column("fit", pa.array([fit] * table.num_rows))

    # the cold start's fit has other vectors: only the evaluation's are the embedding models'
    stored = pa.concat_tables(
        [
            as_stored(LightFMRecommender(lightfm).fit(data, 7), "cold_start"),
            as_stored(LightFMRecommender(lightfm).fit(data, settings.seed)),
        ]
    )
    fits = []
    original = LightFMRecommender._fit
    monkeypatch.setattr(
        LightFMRecommender, "_fit", lambda self, *a: fits.append(1) or original(self, *a)
    )

    def run(shared) -> pa.Table:
        out = evaluate_sessions(
            seqs,
            neighbours,
            train,
            features,
            settings=settings,
            lightfm=lightfm,
            models=("popularity", "covisitation", "embedding", "hybrid"),
            lightfm_embeddings=shared,
        )
        return out.filter(pc.not_equal(out["metric"], "milliseconds_per_list"))

    fitted = run(None)
    assert len(fits) == 1
    assert run(stored).equals(fitted)
    assert len(fits) == 1  # the stored vectors, no fit
    # other vectors, other ranks: the stored table is what the embedding models use
    moved = run(as_stored(LightFMRecommender(lightfm).fit(data, 99)))
    assert len(fits) == 2  # the other vectors' fit, none in the run
    embedding = pc.is_in(moved["model"], pa.array(["embedding", "hybrid"]))
    assert not moved.filter(embedding).equals(fitted.filter(embedding))
    same = ["model", "slice_type", "slice", "metric", "value", "ci_low", "ci_high"]
    assert (
        moved.filter(pc.invert(embedding))
        .select(same)
        .equals(fitted.filter(pc.invert(embedding)).select(same))
    )
    assert run(stored.filter(pc.equal(stored["entity"], "user"))).equals(fitted)
    assert len(fits) == 3  # no products stored: fitted here
