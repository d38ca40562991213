"""Known-answer tests of what the warehouse serves: reasons, opt-outs, the selected model, the
embeddings round trip and similar products (src/amazing_analytics/ml/recommend/serving.py and
build.py)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from amazing_analytics.ml.recommend import build as b
from amazing_analytics.ml.recommend import serving as s
from amazing_analytics.ml.recommend.data import build_catalogue, build_training_data
from amazing_analytics.ml.recommend.models import ItemKNNRecommender, LightFMParams
from test_recommend_core import cooccurrence_table, interaction_table, product_table

# phones (category 1), cases (category 2), a lamp (category 3)
PRODUCTS = [
    (
        10,
        1,
        "electronics.smartphone",
        "electronics",
        "electronics.smartphone",
        "acme",
        "mid",
        False,
    ),
    (
        11,
        1,
        "electronics.smartphone",
        "electronics",
        "electronics.smartphone",
        "zeta",
        "mid",
        False,
    ),
    (20, 2, "accessories.case", "accessories", "accessories.case", "acme", "budget", False),
    (21, 2, "accessories.case", "accessories", "accessories.case", None, "budget", False),
    (30, 3, None, None, None, None, "premium", False),
]


def shop() -> tuple[pa.Table, pa.Table, pa.Table]:
    rows = []
    # users 1..6 view phone 10 and case 21 (popular); user 1 bought phone 10
    for user in range(1, 7):
        rows.append(("serving", user, 10, 1, 0, 1 if user == 1 else 0, 5.0))
        rows.append(("serving", user, 21, 1, 0, 0, 2.0))
    rows.append(("serving", 7, 30, 1, 0, 0, 1.0))  # user 7 only saw the lamp
    cooc = [
        # phone 10 and case 20 were bought together once, seen together in 3 sessions
        ("serving", 10, 20, 3, 1),
        ("serving", 20, 10, 3, 1),
        ("serving", 10, 21, 5, 0),
        ("serving", 21, 10, 5, 0),
    ]
    return product_table(PRODUCTS), interaction_table(rows), cooccurrence_table(cooc)


def test_reasons_name_the_bought_together_partner_then_the_similar_history_product():
    products, interactions, cooc = shop()
    catalogue = build_catalogue(products)
    data = build_training_data(interactions, catalogue, cooc, "serving")
    model = ItemKNNRecommender().fit(data, 0)
    rows = data.user_index(np.array([1, 2]))
    recs = model.recommend(rows, 3, data.exclusions())
    why = s.reasons(model, data, rows, recs)
    chosen = {
        (int(data.user_ids[r]), int(catalogue.item_ids[i])): why[n, c]
        for n, r in enumerate(rows)
        for c, i in enumerate(recs.items[n])
        if i >= 0
    }
    # user 1 bought phone 10 (never recommended back), which was bought together with case 20
    assert (1, 10) not in chosen
    assert chosen[(1, 20)] == "Often bought with acme smartphone"
    # user 2 bought nothing: case 20 comes from viewing phone 10 (its neighbour)
    assert chosen[(2, 20)] == "Because you viewed acme smartphone"
    # the lamp nobody co-viewed can only come from popularity
    assert chosen.get((2, 30), "Popular right now") == "Popular right now"


def test_bought_with_names_the_strongest_partner_first_in_the_row_on_ties():
    # shopper row 0 bought products 0 and 2, row 1 bought 2 then 1 (stored in that order),
    # row 2 nothing
    bought = sp.csr_matrix(
        (np.ones(4, np.float32), np.array([0, 2, 2, 1]), np.array([0, 2, 4, 4])), shape=(3, 5)
    )
    together = np.zeros((5, 5), np.float32)
    together[0, 3], together[2, 3] = 2, 5  # product 3: with 2 five times, with 0 twice
    together[2, 4], together[1, 4] = 1, 1  # product 4: a tie between 2 and 1
    together[0, 4] = 3
    partners = s.bought_with(
        bought, sp.csr_matrix(together), np.array([0, 1, 0, 1]), np.array([3, 4, 4, 3])
    )
    # row 0: 3 -> 2 (5 > 2), 4 -> 0 (3 > 1); row 1: 4 -> 2 (tie, 2 comes first), 3 -> 2
    assert partners.tolist() == [2, 2, 0, 2]
    with pytest.raises(ValueError, match="at least one bought product"):
        s.bought_with(bought, sp.csr_matrix(together), np.array([0, 2]), np.array([3, 3]))


def test_bought_with_equals_a_loop_over_the_pairs():
    """The vectorised lookup against the per-pair loop it replaced, on random baskets with
    many ties (counts 0-2)."""
    rng = np.random.default_rng(7)
    bought = sp.random(300, 60, density=0.05, format="csr", random_state=1, dtype=np.float32)
    together = sp.csr_matrix(rng.integers(0, 3, (60, 60)).astype(np.float32))
    rows = np.repeat(np.flatnonzero(np.diff(bought.indptr) > 0), 4)
    items = rng.integers(0, 60, rows.size)
    expected = [
        bought[r].indices[int(np.argmax(together[bought[r].indices, i].toarray().ravel()))]
        for r, i in zip(rows, items, strict=True)
    ]
    assert rows.size > 500
    assert s.bought_with(bought, together, rows, items).tolist() == expected


def test_recommendation_rows_scored_two_chunks_at_a_time_equal_one_chunk(run_inline):
    """Chunks of two shoppers scored in two threads give the rows of one chunk, in its order;
    so does scoring them one after the other on the calling thread."""
    products, interactions, cooc = shop()
    data = build_training_data(interactions, build_catalogue(products), cooc, "serving")
    model = ItemKNNRecommender().fit(data, 0)
    users = data.user_ids.copy()
    assert users.size == 7

    def rows(chunk_size: int) -> list[dict]:
        table = s.recommendation_rows(
            model, data, users, 3, personalised=True, chunk_size=chunk_size
        )
        return table.to_pylist()

    whole = rows(100)
    assert {r["user_id"] for r in whole} == set(users.tolist())
    assert rows(2) == whole
    run_inline()
    assert rows(2) == whole


def _recommend(interactions, products, pairs, evaluation, customers) -> pa.Table:
    """build_recommendations without LightFM embeddings, the top 3, every shopper of the year."""
    return b.build_recommendations(
        interactions,
        products,
        pairs,
        evaluation,
        s.EMBEDDING_SCHEMA.empty_table(),
        customers,
        k=3,
        seed=0,
        active_days=365,
    )


def test_build_recommendations_serves_the_selected_model_and_flags_opt_outs():
    products, interactions, cooc = shop()
    evaluation = pa.table({"model": ["item_knn", "popularity"], "is_selected": [True, False]})
    customers = pa.table(
        {
            "user_id": pa.array([1, 2, 7, 8], pa.int64()),
            "recency_days": pa.array([1, 2, 400, 3], pa.int64()),
            "is_personalisation_opt_out": [False, False, False, True],
        }
    )
    table = _recommend(interactions, products, cooc, evaluation, customers)
    users = sorted(set(table.column("user_id").to_pylist()))
    assert users == [1, 2, 8]  # user 7 was last seen 400 days ago
    rows = table.to_pylist()
    opt_out = [r for r in rows if r["user_id"] == 8]
    assert [r["rank"] for r in opt_out] == [1, 2, 3]
    assert all(not r["is_personalised"] and r["model"] == "popularity" for r in opt_out)
    assert all(r["reason"] == "Popular right now" for r in opt_out)
    # the popularity list of the opt-out: by summed weight (phone 10: 30, case 21: 12, lamp: 1)
    assert [r["product_id"] for r in opt_out] == [10, 21, 30]
    personal = [r for r in rows if r["user_id"] == 2]
    assert personal[0]["model"] == "item_knn" and personal[0]["is_personalised"]


@pytest.mark.parametrize("selected", ["item_knn", "recently_viewed", "popularity", "buy_again"])
def test_recommendations_read_only_the_pairs_the_selected_model_uses(selected):
    """cooccurrence_filter keeps every serving pair for item_knn and the bought-together ones
    for the others: the rows are the same as from every pair, reasons included."""
    products, _, cooc = shop()
    # shopper 9 bought phone 10 and looked at case 20, bought together with it
    interactions = interaction_table(
        [
            *[("serving", u, 10, 1, 0, int(u == 1), 5.0) for u in range(1, 7)],
            *[("serving", u, 21, 1, 0, 0, 2.0) for u in range(1, 7)],
            ("serving", 9, 10, 1, 0, 1, 1.0),
            ("serving", 9, 20, 1, 0, 0, 1.0),
        ]
    )
    evaluation = pa.table({"model": [selected], "is_selected": [True]})
    condition = b.cooccurrence_filter(evaluation)
    kept = duckdb.sql(f"select * from cooc where {condition}").to_arrow_table()
    assert kept.num_rows == (4 if selected == "item_knn" else 2)
    customers = pa.table(
        {
            "user_id": pa.array([1, 2, 9], pa.int64()),
            "recency_days": pa.array([1, 1, 1], pa.int64()),
            "is_personalisation_opt_out": [False, False, False],
        }
    )

    def rows(pairs: pa.Table) -> list[dict]:
        return _recommend(interactions, products, pairs, evaluation, customers).to_pylist()

    served = rows(kept)
    assert served == rows(cooc)
    # the pairs kept still give the reason: case 20 was bought together with the phone 9 bought
    case = [r for r in served if (r["user_id"], r["product_id"]) == (9, 20)]
    if selected in ("item_knn", "recently_viewed"):
        assert [r["reason"] for r in case] == ["Often bought with acme smartphone"]


def test_selected_model_falls_back_to_popularity_without_a_single_selection():
    assert b.selected_model(pa.table({"model": ["lightfm"], "is_selected": [True]})) == "lightfm"
    assert b.selected_model(pa.table({"model": ["a", "b"], "is_selected": [True, True]})) == (
        "popularity"
    )
    assert b.selected_model(s.EMBEDDING_SCHEMA.empty_table()) == "popularity"


def test_embeddings_round_trip_gives_the_same_lists_as_the_fitted_model():
    products, interactions, cooc = shop()
    params = LightFMParams(components=4, epochs=3)
    interactions_big = _bigger(interactions)
    table = b.build_embeddings(interactions_big, products, seed=1, params=params)
    assert set(table.column("entity").to_pylist()) == {"item", "user"}
    catalogue = build_catalogue(products)
    data = build_training_data(interactions_big, catalogue, None, "serving")
    from amazing_analytics.ml.recommend.models import LightFMRecommender

    fitted = LightFMRecommender(params).fit(data, 1)
    served = s.EmbeddingRecommender(table).fit(data, 1)
    rows = np.arange(data.n_users)
    np.testing.assert_array_equal(
        fitted.recommend(rows, 3, data.exclusions()).items,
        served.recommend(rows, 3, data.exclusions()).items,
    )


def _bigger(interactions: pa.Table) -> pa.Table:
    """Enough interactions to train (MIN_TRAIN_INTERACTIONS): copies of the shop's users."""
    rows = interactions.to_pylist()
    out = []
    for copy in range(40):
        for r in rows:
            out.append({**r, "user_id": r["user_id"] + 100 * copy})
    return pa.Table.from_pylist(out, schema=interactions.schema)


def test_similar_products_by_embedding_and_bought_together():
    products, interactions, cooc = shop()
    catalogue = build_catalogue(products)
    data = build_training_data(interactions, catalogue, cooc, "serving")
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [-1, 0]], np.float32)
    table = s.similar_products(data, vectors, 2).to_pylist()
    embedding = [
        (r["product_id"], r["similar_product_id"]) for r in table if r["method"] == "embedding"
    ]
    assert (10, 11) in embedding and (20, 21) in embedding
    assert all(a != b_ for a, b_ in embedding)
    together = [r for r in table if r["method"] == "bought_together"]
    assert [(r["product_id"], r["similar_product_id"], r["score"]) for r in together] == [
        (10, 20, 1.0),
        (20, 10, 1.0),
    ]
    assert together[0]["reason"] == "Bought together in 1 session"


def test_bought_together_ties_need_only_the_bought_together_pairs():
    """similar_products breaks ties on the bought-together count by the same pairs' session
    counts: the dbt model reads BOUGHT_TOGETHER_PAIRS only, and gets the rows of every pair."""
    products, _, _ = shop()
    pairs = cooccurrence_table(
        [
            ("serving", 10, 11, 2, 2),  # bought together twice
            ("serving", 10, 21, 5, 1),  # once, seen together in 5 sessions
            ("serving", 10, 20, 3, 1),  # once, in 3
            ("serving", 10, 30, 9, 0),  # seen together often, never bought together
            ("evaluation_train", 10, 30, 4, 4),
        ]
    )
    kept = duckdb.sql(f"select * from pairs where {b.BOUGHT_TOGETHER_PAIRS}").to_arrow_table()
    assert kept.num_rows == 3

    def similar(table: pa.Table) -> list[tuple]:
        rows = b.build_similar_products(
            products, table, s.EMBEDDING_SCHEMA.empty_table(), k=5
        ).to_pylist()
        return [(r["product_id"], r["similar_product_id"], r["rank"], r["score"]) for r in rows]

    assert similar(kept) == similar(pairs) == [(10, 11, 1, 2.0), (10, 21, 2, 1.0), (10, 20, 3, 1.0)]
