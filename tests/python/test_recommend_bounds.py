"""The recommenders' cost bounds (issue 14 §2): window, row cap, test-user sample."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from amazing_analytics.ml.recommend.bounds import (
    TrainingBounds,
    bound_evaluation_interactions,
    bound_split,
    sample_users,
)


def _interactions() -> pa.Table:
    # users 1..4 train: user u has u pairs; days_since_last_event = 10 * product index
    rows = []
    for user in (1, 2, 3, 4):
        for product in range(user):
            rows.append(("evaluation_train", user, 100 + product, 10 * product, 1.0))
    rows += [("evaluation_test", user, 200, 0, 1.0) for user in (1, 2, 3, 4, 5)]
    rows += [("serving", 9, 300, 400, 1.0)]
    split, user, product, days, weight = zip(*rows, strict=True)
    return pa.table(
        {
            "split": list(split),
            "user_id": pa.array(user, pa.int64()),
            "product_id": pa.array(product, pa.int64()),
            "days_since_last_event": pa.array(days, pa.int64()),
            "weight": list(weight),
        }
    )


def _pairs(table: pa.Table, split: str) -> set[tuple[int, int]]:
    rows = table.filter(pa.compute.equal(table.column("split"), split)).to_pylist()
    return {(row["user_id"], row["product_id"]) for row in rows}


def test_no_bounds_returns_the_interactions_unchanged() -> None:
    table = _interactions()
    assert bound_evaluation_interactions(table, TrainingBounds()).equals(table)
    assert bound_split(table, "serving", TrainingBounds()).equals(table)


def test_the_window_keeps_pairs_whose_last_event_is_inside_it() -> None:
    bounded = bound_split(_interactions(), "evaluation_train", TrainingBounds(window_days=15))
    # products at 0 and 10 days are in a 15-day window, 20 and 30 are not
    assert _pairs(bounded, "evaluation_train") == {
        (1, 100),
        (2, 100),
        (2, 101),
        (3, 100),
        (3, 101),
        (4, 100),
        (4, 101),
    }
    # the other splits are untouched
    assert _pairs(bounded, "evaluation_test") == _pairs(_interactions(), "evaluation_test")
    assert _pairs(bounded, "serving") == {(9, 300)}


def test_the_cap_keeps_whole_users_and_never_passes_it() -> None:
    table = _interactions()
    for cap in (1, 3, 5, 7, 9):
        bounded = bound_split(table, "evaluation_train", TrainingBounds(max_training_rows=cap))
        pairs = _pairs(bounded, "evaluation_train")
        assert 0 < len(pairs) <= cap
        users = {user for user, _ in pairs}
        # whole users: each kept user keeps all of their `user` pairs
        assert len(pairs) == sum(users)
    # deterministic for a seed, different orders for other seeds
    first = bound_split(table, "evaluation_train", TrainingBounds(max_training_rows=5, seed=1))
    again = bound_split(table, "evaluation_train", TrainingBounds(max_training_rows=5, seed=1))
    assert first.equals(again)
    kept = {
        frozenset(
            _pairs(
                bound_split(table, "evaluation_train", TrainingBounds(max_training_rows=5, seed=s)),
                "evaluation_train",
            )
        )
        for s in range(20)
    }
    assert len(kept) > 1


def test_priority_users_keep_their_history_first() -> None:
    bounded = bound_split(
        _interactions(),
        "evaluation_train",
        TrainingBounds(max_training_rows=4),
        priority=np.array([4]),
    )
    assert _pairs(bounded, "evaluation_train") == {(4, 100), (4, 101), (4, 102), (4, 103)}


def test_the_evaluation_judges_a_seeded_sample_of_test_users() -> None:
    table = _interactions()
    bounded = bound_evaluation_interactions(table, TrainingBounds(eval_users=2, seed=3))
    test_users = {user for user, _ in _pairs(bounded, "evaluation_test")}
    assert test_users == set(sample_users(np.array([1, 2, 3, 4, 5]), 2, 3).tolist())
    assert len(test_users) == 2
    # training rows are not cut by the sample alone
    assert _pairs(bounded, "evaluation_train") == _pairs(table, "evaluation_train")


def test_sample_users_is_all_users_when_the_sample_is_larger() -> None:
    assert sample_users(np.array([3, 1, 3, 2]), 10, 0).tolist() == [1, 2, 3]
    assert sample_users(np.array([3, 1, 3, 2]), 0, 0).tolist() == [1, 2, 3]


@pytest.mark.parametrize("field", ["window_days", "max_training_rows", "eval_users"])
def test_a_negative_bound_is_a_clear_error(field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a whole number"):
        TrainingBounds(**{field: -1})


def test_the_window_needs_its_column() -> None:
    table = _interactions().drop_columns(["days_since_last_event"])
    with pytest.raises(ValueError, match="days_since_last_event"):
        bound_split(table, "evaluation_train", TrainingBounds(window_days=3))


def test_a_test_user_sample_below_the_selection_minimum_is_a_clear_error() -> None:
    from amazing_analytics.ml.recommend.build import build_evaluation, lightfm_params

    params = lightfm_params(components=2, epochs=1, learning_rate=0.05, item_alpha=0, threads=1)
    with pytest.raises(ValueError, match="below recommender_min_test_users"):
        build_evaluation(
            _interactions(),
            pa.table({"product_id": pa.array([], pa.int64())}),
            pa.table({}),
            [],
            k=10,
            seed=1,
            params=params,
            min_test_users=200,
            bootstrap_samples=10,
            bounds=TrainingBounds(eval_users=100),
        )


def _embedding_inputs() -> tuple[pa.Table, pa.Table]:
    """300 users x 40 products of evaluation_train, users 0..149 10 days ago, 150..299 90."""
    rng = np.random.default_rng(5)
    rows = []
    for user in range(300):
        for product in rng.choice(40, size=4, replace=False):
            rows.append((user, 1000 + int(product), 10 if user < 150 else 90))
    user, product, days = zip(*rows, strict=True)
    n = len(rows)
    interactions = pa.table(
        {
            "split": ["evaluation_train"] * n,
            "user_id": pa.array(user, pa.int64()),
            "product_id": pa.array(product, pa.int64()),
            "view_count": [1] * n,
            "cart_count": [0] * n,
            "purchase_count": [0] * n,
            "weight": [1.0] * n,
            "days_since_last_event": pa.array(days, pa.int64()),
        }
    )
    ids = list(range(1000, 1040))
    features = pa.table(
        {
            "product_id": pa.array(ids, pa.int64()),
            "category_id": pa.array([p % 4 for p in ids], pa.int64()),
            "category_code": [f"c.{p % 4}" for p in ids],
            "category_level_1": ["c"] * 40,
            "category_level_2_code": [f"c.{p % 4}" for p in ids],
            "brand": [f"b{p % 5}" for p in ids],
            "price_band": ["mid"] * 40,
            "is_repeat_purchase_category": [False] * 40,
        }
    )
    return interactions, features


def test_the_session_evaluations_embedding_model_trains_within_the_bounds() -> None:
    """The embedding session model's LightFM trains within the batch models' bounds, and only
    the asked products (the test sessions') get neighbour rows: at 100k products the whole
    table was 10^10 scores."""
    from amazing_analytics.ml.recommend.models import LightFMParams
    from amazing_analytics.ml.recommend.session_evaluation.training import (
        embedding_index_rows,
    )

    interactions, features = _embedding_inputs()
    params = LightFMParams(epochs=1)
    rows = embedding_index_rows(interactions, features, params, 42, 5, products=[1003, 1017])
    assert rows is not None and sorted(set(rows.column("product_id").to_pylist())) == [1003, 1017]
    assert rows.num_rows == 10
    # 600 interactions in the last 30 days: enough; a 5-day window leaves none: not evaluated
    assert (
        embedding_index_rows(
            interactions, features, params, 42, 5, bounds=TrainingBounds(window_days=30)
        )
        is not None
    )
    assert (
        embedding_index_rows(
            interactions, features, params, 42, 5, bounds=TrainingBounds(window_days=5)
        )
        is None
    )


def test_the_window_read_in_sql_keeps_what_bound_split_keeps() -> None:
    """window_filter applies bound_split's window in DuckDB (the pairs outside it are never
    read into Python): the same rows, whichever split is windowed; no window, no change."""
    import duckdb

    from amazing_analytics.ml.recommend.bounds import window_filter

    table = _interactions()
    con = duckdb.connect()
    con.register("pairs", table)
    for condition, split in (
        ("split <> 'serving'", "evaluation_train"),
        ("split = 'serving'", "serving"),
    ):
        assert window_filter(condition, 0, split) == condition
        read = con.sql("select * from pairs").filter(window_filter(condition, 15, split))
        in_python = bound_split(
            con.sql("select * from pairs").filter(condition).to_arrow_table(),
            split,
            TrainingBounds(window_days=15),
        )
        assert sorted(map(tuple, read.fetchall())) == sorted(
            tuple(row.values()) for row in in_python.to_pylist()
        )
    with pytest.raises(ValueError, match="window_days"):
        window_filter("true", -1, "serving")
