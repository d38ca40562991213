"""A small hand-made warehouse output, written as a serving bundle through the package function
the dbt model calls (so the tests know every expected answer exactly).

Catalogue: products 1001..1010 in two categories (10 phones of acme / globex, 20 kettles).
Users: 1 known (history, embedding, a nightly list), 2 opted out in the seed, 3 erased in the
seed, 4 and 5 known (for the live GDPR lists), 6 known with no embedding (item_knn list).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from amazing_analytics.serving.bundle import build_serving_bundle

CREATED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PHONES = [1001, 1002, 1003, 1004, 1005]
KETTLES = [1006, 1007, 1008, 1009, 1010]


def product_features() -> pa.Table:
    ids = PHONES + KETTLES
    phone = "electronics.smartphone"
    kettle = "appliances.kitchen.kettle"
    return pa.table(
        {
            "product_id": pa.array(ids, pa.int64()),
            "category_id": pa.array([10] * 5 + [20] * 5, pa.int64()),
            "category_code": [phone] * 5 + [kettle] * 5,
            "category_level_1": ["electronics"] * 5 + ["appliances"] * 5,
            "category_level_2_code": ["electronics.smartphone"] * 5 + ["appliances.kitchen"] * 5,
            "brand": ["acme", "acme", "globex", "globex", "unknown"] + ["kettlr"] * 5,
            "price_band": ["mid"] * 10,
            # kettles are bought again and again (descaling...), phones are not
            "is_repeat_purchase_category": [False] * 5 + [True] * 5,
        }
    )


def neighbours() -> pa.Table:
    rows = [
        (1001, 1002, 1, 0.9),
        (1001, 1003, 2, 0.5),
        (1002, 1004, 1, 0.8),
        (1002, 1001, 2, 0.7),
        (1005, 1006, 1, 1.0),
        (1006, 1007, 1, 0.6),
        (1009, 1010, 1, 0.4),
    ]
    return pa.table(
        {
            "product_id": pa.array([r[0] for r in rows], pa.int64()),
            "neighbour_product_id": pa.array([r[1] for r in rows], pa.int64()),
            "neighbour_rank": pa.array([r[2] for r in rows], pa.int32()),
            "score": pa.array([r[3] for r in rows], pa.float64()),
        }
    )


def recommendations() -> pa.Table:
    rows = [
        (1, 1007, 1, 0.9, "lightfm", True, "Because you viewed kettlr kettle"),
        (1, 1008, 2, 0.8, "lightfm", True, "Because you viewed kettlr kettle"),
        (1, 1010, 3, 50.0, "popularity", True, "Popular right now"),
        (2, 1010, 1, 50.0, "popularity", False, "Popular right now"),
        (4, 1003, 1, 0.7, "lightfm", True, "Because you viewed acme smartphone"),
        (5, 1004, 1, 0.7, "lightfm", True, "Because you viewed acme smartphone"),
        (6, 1002, 1, 0.5, "item_knn", True, "Because you viewed acme smartphone"),
    ]
    names = ["user_id", "product_id", "rank", "score", "model", "is_personalised", "reason"]
    types = [pa.int64(), pa.int64(), pa.int32(), pa.float64(), pa.string(), pa.bool_(), pa.string()]
    return pa.table(
        {
            n: pa.array([r[i] for r in rows], t)
            for i, (n, t) in enumerate(zip(names, types, strict=True))
        }
    )


def interactions() -> pa.Table:
    at = datetime(2026, 11, 30, 10, 0)
    rows = [
        # user, product, views, carts, purchases, minutes after `at`, weight
        (1, 1005, 3, 0, 0, 30, 3.0),  # recently viewed, not bought (newest)
        (1, 1001, 1, 0, 0, 10, 1.0),  # viewed, not bought (older)
        (1, 1003, 1, 1, 1, 20, 9.0),  # bought phone: never again
        (1, 1009, 1, 0, 1, 5, 6.0),  # bought kettle: repeat-purchase category, may come back
        (2, 1002, 5, 0, 0, 0, 5.0),  # opted out: must not reach the bundle
        (4, 1002, 1, 0, 0, 0, 1.0),
        (5, 1002, 1, 0, 0, 0, 1.0),
        (6, 1001, 1, 0, 0, 0, 1.0),
        (7, 1010, 10, 0, 0, 0, 40.0),  # makes 1010 the most popular
        (7, 1006, 5, 0, 0, 0, 20.0),
        (7, 1004, 2, 0, 0, 0, 10.0),
    ]
    from datetime import timedelta

    return pa.table(
        {
            "split": ["serving"] * len(rows),
            "user_id": pa.array([r[0] for r in rows], pa.int64()),
            "product_id": pa.array([r[1] for r in rows], pa.int64()),
            "view_count": pa.array([r[2] for r in rows], pa.int64()),
            "cart_count": pa.array([r[3] for r in rows], pa.int64()),
            "purchase_count": pa.array([r[4] for r in rows], pa.int64()),
            "last_event_at": pa.array(
                [at + timedelta(minutes=r[5]) for r in rows], pa.timestamp("us")
            ),
            "weight": pa.array([r[6] for r in rows], pa.float64()),
        }
    )


def _embedding_table(key: str, bias: str, ids: list[int], vectors: list[list[float]]) -> pa.Table:
    return pa.table(
        {
            key: pa.array(ids, pa.int64()),
            bias: pa.array([0.0] * len(ids), pa.float64()),
            "embedding": pa.array(vectors, pa.list_(pa.float32())),
            "model": ["lightfm"] * len(ids),
        }
    )


def item_embeddings() -> pa.Table:
    # phones point along x, kettles along y; 1008 is the kettle most aligned with user 1
    vectors = [[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]]
    vectors += [[0.1, 0.9], [0.2, 0.8], [0.0, 1.0], [0.3, 0.7], [0.4, 0.6]]
    return _embedding_table("product_id", "item_bias", PHONES + KETTLES, vectors)


def user_embeddings() -> pa.Table:
    ids = [1, 2, 4, 5]
    return _embedding_table("user_id", "user_bias", ids, [[0.0, 1.0], [1.0, 0.0], [1, 0], [1, 0]])


def similar_products() -> pa.Table:
    rows = [
        (1001, 1002, "embedding", 1, 0.99, "Similar shoppers look at both"),
        (1001, 1003, "embedding", 2, 0.97, "Similar shoppers look at both"),
        (1001, 1006, "bought_together", 1, 3.0, "Bought together in 3 sessions"),
    ]
    return pa.table(
        {
            "product_id": pa.array([r[0] for r in rows], pa.int64()),
            "similar_product_id": pa.array([r[1] for r in rows], pa.int64()),
            "method": [r[2] for r in rows],
            "rank": pa.array([r[3] for r in rows], pa.int32()),
            "score": [r[4] for r in rows],
            "reason": [r[5] for r in rows],
        }
    )


def popular_products() -> pa.Table:
    rows = [
        ("all", "all", 1010, 1, 40.0, "Popular right now"),
        ("all", "all", 1006, 2, 20.0, "Popular right now"),
        ("category_family", "electronics", 1004, 1, 10.0, "Popular in electronics"),
        ("category", "10", 1004, 1, 10.0, "Popular in electronics.smartphone"),
        ("category", "10", 1005, 2, 3.0, "Popular in electronics.smartphone"),
    ]
    return pa.table(
        {
            "context_type": [r[0] for r in rows],
            "context": [r[1] for r in rows],
            "product_id": pa.array([r[2] for r in rows], pa.int64()),
            "rank": pa.array([r[3] for r in rows], pa.int32()),
            "score": [r[4] for r in rows],
            "reason": [r[5] for r in rows],
        }
    )


def opt_outs() -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array([2, None], pa.int64()),
            "opted_out_at": pa.array([datetime(2026, 1, 1), None], pa.timestamp("us")),
        }
    )


def erasures() -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array([3], pa.int64()),
            "requested_at": pa.array([datetime(2026, 1, 2)], pa.timestamp("us")),
            "request_reference": ["REQ-1"],
        }
    )


SESSION_PARAMS = '{"history_weight": 0.5}'


def session_evaluation(model: str = "vsknn_history") -> pa.Table:
    params = SESSION_PARAMS
    rows = [
        (model, "all", "all", "hit_rate", 20, 0.16, 0.14, 0.18, 900, True, "ok", None, params),
        (model, "all", "all", "mrr", 20, 0.05, 0.04, 0.06, 900, True, "ok", None, params),
        (
            "popularity",
            "all",
            "all",
            "hit_rate",
            20,
            0.06,
            0.05,
            0.07,
            900,
            False,
            "ok",
            None,
            "{}",
        ),
    ]
    names = [
        "model",
        "slice_type",
        "slice",
        "metric",
        "k",
        "value",
        "ci_low",
        "ci_high",
        "session_count",
        "is_selected",
        "status",
        "message",
        "params",
    ]
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})


def batch_evaluation() -> pa.Table:
    rows = [
        ("lightfm", "all", "all", "ndcg", 10, 0.12, 500, True, "ok", None),
        ("popularity", "all", "all", "ndcg", 10, 0.10, 500, False, "ok", None),
    ]
    names = ["model", "slice_type", "slice", "metric", "k", "value", "user_count"]
    names += ["is_selected", "status", "message"]
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})


def write_test_bundle(target: Path, created_at: datetime = CREATED_AT, **overrides) -> pa.Table:
    inputs = {
        "recommendations": recommendations(),
        "session_item_neighbours": neighbours(),
        "similar_products": similar_products(),
        "item_embeddings": item_embeddings(),
        "user_embeddings": user_embeddings(),
        "popular_products": popular_products(),
        "product_features": product_features(),
        "interactions": interactions(),
        "opt_outs": opt_outs(),
        "erasures": erasures(),
        "recommender_evaluation": batch_evaluation(),
        "session_recommender_evaluation": session_evaluation(),
    }
    inputs.update(overrides)
    return build_serving_bundle(target, created_at=created_at, history_size=20, **inputs)


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    """The bundle above, written once per test module (import the fixture to use it)."""
    target = tmp_path_factory.mktemp("bundle") / "serving"
    write_test_bundle(target)
    return target
