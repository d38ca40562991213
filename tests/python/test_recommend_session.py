"""Known-answer tests of the session recommender (amazing_analytics.ml.recommend.session)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from amazing_analytics.ml.recommend.session import (
    DEFAULT_MODEL,
    SESSION_MODELS,
    NeighbourIndex,
    ScoredItem,
    SessionInputError,
    SessionItem,
    embedding_neighbour_table,
    fill_with_popular,
    model_params,
    recommend_for_session,
    selected_session_model,
    serving_index,
)
from amazing_analytics.ml.recommend.session.votes import SMALL_BAN


def neighbour_table(rows: list[tuple[int, int, float]]) -> pa.Table:
    """(product, neighbour, score) rows, ranked by score within each product."""
    ranked = []
    for product in sorted({r[0] for r in rows}):
        mine = sorted((r for r in rows if r[0] == product), key=lambda r: (-r[2], r[1]))
        ranked += [(p, n, rank, s) for rank, (p, n, s) in enumerate(mine, start=1)]
    return pa.table(
        {
            "product_id": pa.array([r[0] for r in ranked], pa.int64()),
            "neighbour_product_id": pa.array([r[1] for r in ranked], pa.int64()),
            "neighbour_rank": pa.array([r[2] for r in ranked], pa.int32()),
            "score": pa.array([r[3] for r in ranked], pa.float64()),
        }
    )


#: 1 -> 2 (4), 3 (2); 2 -> 3 (10), 4 (5); 5 -> 6 (1)
INDEX = NeighbourIndex.from_arrow(
    neighbour_table([(1, 2, 4.0), (1, 3, 2.0), (2, 3, 10.0), (2, 4, 5.0), (5, 6, 1.0)])
)


def views(*ids: int) -> list[SessionItem]:
    return [SessionItem(i, "view") for i in ids]


def ids(items: list[ScoredItem]) -> list[int]:
    return [i.product_id for i in items]


def test_a_few_and_many_excluded_products_give_the_same_lists():
    """Up to SMALL_BAN banned products are compared one by one, more go through np.isin: the
    same list either way, the banned ones never in it, the rest in the unbanned order."""
    rows = [(1, n, float(100 - n)) for n in range(2, 40)] + [(5, n, 1.0) for n in range(40, 50)]
    index = NeighbourIndex.from_arrow(neighbour_table(rows))
    session = views(5, 1)
    everything = ids(recommend_for_session(session, index, 60, model="vsknn"))
    few = {3, 7, 41}
    many = few | set(range(10, 20))
    assert len(few) <= SMALL_BAN < len(many)
    for banned in (few, many):
        out = ids(recommend_for_session(session, index, 60, exclude=banned, model="vsknn"))
        assert out == [p for p in everything if p not in banned]
        assert all(isinstance(p, int) for p in out)


def test_index_lookup_best_first_and_unknown_product_is_empty():
    neighbour_ids, scores = INDEX.neighbours(2)
    assert neighbour_ids.tolist() == [3, 4]
    assert scores.tolist() == [10.0, 5.0]
    unknown_ids, unknown_scores = INDEX.neighbours(99)
    assert unknown_ids.size == 0 and unknown_scores.size == 0
    assert INDEX.knows(1) and not INDEX.knows(6)
    assert INDEX.product_count() == 3


def test_index_rejects_a_table_without_the_columns():
    with pytest.raises(SessionInputError, match="lacks column"):
        NeighbourIndex.from_arrow(pa.table({"product_id": [1]}))


def test_popularity_returns_nothing_for_the_caller_to_fill():
    assert recommend_for_session(views(1, 2), INDEX, 5, model="popularity") == []


def test_covisitation_uses_the_last_product_only():
    out = recommend_for_session(views(5, 2), INDEX, 5, model="covisitation")
    assert ids(out) == [3, 4]
    assert [i.score for i in out] == [1.0, 0.5]  # normalised by the best neighbour
    assert all(i.source == "session" and i.source_product_id == 2 for i in out)


def test_covisitation_skips_a_trailing_remove_from_cart():
    session = [SessionItem(1, "view"), SessionItem(5, "remove_from_cart")]
    assert ids(recommend_for_session(session, INDEX, 5, model="covisitation")) == [2, 3]


def test_sknn_sums_every_session_products_votes_equally():
    # 1 votes 2: 1.0, 3: 0.5; 2 votes 3: 1.0, 4: 0.5; the last product (2) is never returned
    out = recommend_for_session(views(1, 2), INDEX, 5, model="sknn")
    assert ids(out) == [3, 4]
    assert out[0].score == pytest.approx(1.5)
    assert out[0].source_product_id == 2  # the biggest single vote
    assert out[1].score == pytest.approx(0.5)


def test_vsknn_decays_by_position_and_weighs_event_types():
    # session 1 (view), 2 (view): weights 1/2 and 2/2
    out = recommend_for_session(views(1, 2), INDEX, 5, model="vsknn")
    assert ids(out) == [3, 4]
    assert out[0].score == pytest.approx(0.5 * 0.5 + 1.0)
    # 2 then 1 carted: 1 weighs 3 x 2/2, 2 weighs 1 x 1/2 -> 3: 3 x 0.5 + 0.5 x 1 = 2.0,
    # 4: 0.5 x 0.5 = 0.25; 2 (a neighbour of 1, score 3 x 1) is in the session but not the last
    session = [SessionItem(2, "view"), SessionItem(1, "cart")]
    out = recommend_for_session(session, INDEX, 5, model="vsknn")
    assert ids(out) == [2, 3, 4]
    assert [round(i.score, 6) for i in out] == [3.0, 2.0, 0.25]
    assert out[0].source_product_id == 1


def test_params_override_the_event_weights():
    session = [SessionItem(2, "view"), SessionItem(1, "cart")]
    out = recommend_for_session(
        session, INDEX, 5, model="vsknn", params={"weight_cart": 1.0, "weight_view": 1.0}
    )
    # 1: weight 1, 2: weight 0.5 -> 2: 1.0, 3: 0.5 + 0.5 = 1.0 (tie: smaller id first), 4: 0.25
    assert ids(out) == [2, 3, 4]
    assert [round(i.score, 6) for i in out] == [1.0, 1.0, 0.25]


def test_k_and_exclude_are_respected():
    out = recommend_for_session(views(1, 2), INDEX, 1, model="sknn")
    assert ids(out) == [3]
    out = recommend_for_session(views(1, 2), INDEX, 5, model="sknn", exclude={3})
    assert ids(out) == [4]
    assert recommend_for_session(views(1, 2), INDEX, 0) == []


def test_unknown_products_give_an_empty_list_and_empty_session_too():
    assert recommend_for_session(views(99), INDEX, 5, model="vsknn") == []
    assert recommend_for_session([], INDEX, 5, model="vsknn") == []


def test_history_blend_adds_viewed_not_bought_products_and_their_neighbours():
    # session: 5 only -> 6 (1.0). History newest first: 1, then 2.
    out = recommend_for_session(
        views(5),
        INDEX,
        10,
        model="vsknn_history",
        history=[1, 2],
        params={"history_weight": 0.4, "history_neighbour_weight": 0.2},
    )
    scores = {i.product_id: round(i.score, 6) for i in out}
    # 1: history 0.4 x 1; 2: history 0.4 x 1/2 + neighbour of 1: 0.2 x 1.0;
    # 3: neighbour of 1 0.2 x 0.5 + of 2 0.2 x 1/2 x 1.0; 4: of 2 0.2 x 1/2 x 0.5
    assert scores == {6: 1.0, 1: 0.4, 2: 0.4, 3: 0.2, 4: 0.05}
    assert ids(out) == [6, 1, 2, 3, 4]
    by_id = {i.product_id: i for i in out}
    assert by_id[6].source == "session" and by_id[1].source == "history"
    assert by_id[3].source_product_id in (1, 2)
    # other models ignore the history
    assert ids(recommend_for_session(views(5), INDEX, 10, model="vsknn", history=[1])) == [6]


def test_bad_model_params_and_event_types_are_clear_errors():
    with pytest.raises(SessionInputError, match="unknown session model"):
        recommend_for_session(views(1), INDEX, 5, model="gru4rec")
    with pytest.raises(SessionInputError, match="no param"):
        recommend_for_session(views(1), INDEX, 5, model="vsknn", params={"alpha": 1})
    with pytest.raises(SessionInputError, match=">= 0"):
        model_params("vsknn", {"weight_view": -1})
    with pytest.raises(SessionInputError, match="event_type"):
        recommend_for_session([SessionItem(1, "click")], INDEX, 5, model="vsknn")
    with pytest.raises(SessionInputError, match="k must be"):
        recommend_for_session(views(1), INDEX, -1)


def test_every_model_has_defaults_and_the_default_model_is_one_of_them():
    assert DEFAULT_MODEL in SESSION_MODELS
    for name in SESSION_MODELS:
        assert isinstance(model_params(name), dict)


def test_embedding_neighbours_of_some_products_are_their_rows_of_the_whole_table():
    rng = np.random.default_rng(3)
    ids = np.arange(100, 3100, 1, dtype=np.int64)  # over two blocks of 1,024
    vectors = rng.normal(size=(ids.size, 8)).astype(np.float32)
    embeddings = pa.table(
        {
            "product_id": pa.array(ids),
            "embedding": pa.array(vectors.tolist(), pa.list_(pa.float32())),
        }
    )
    whole = embedding_neighbour_table(embeddings, 5)
    asked = {100, 1500, 3099, 999_999}  # the last one is not in the table
    some = embedding_neighbour_table(embeddings, 5, products=asked)
    expected = whole.filter(pc.is_in(whole.column("product_id"), pa.array(sorted(asked))))
    assert some.num_rows == 15
    assert some.sort_by("product_id").to_pylist() == expected.sort_by("product_id").to_pylist()
    assert embedding_neighbour_table(embeddings, 5, products=[]).num_rows == 0


def test_embedding_neighbours_are_the_exact_top_n_with_ties_by_product_id():
    """Against the brute force (every cosine, a full sort by score then product id), on a
    catalogue larger than top_k_dot's tiles, in shuffled row order, with exact ties: products
    sharing a vector, and products whose vectors differ only in length."""
    rng = np.random.default_rng(11)
    base = rng.normal(size=(6000, 6)).astype(np.float32)
    base[100:110] = base[5]  # ten copies of one vector: tied neighbours of product 5
    base[200] = 3.0 * base[7]  # the same direction, another length: cosine ties too
    ids = np.arange(10, 6010, dtype=np.int64)
    shuffled = rng.permutation(ids.size)
    embeddings = pa.table(
        {
            "product_id": pa.array(ids[shuffled]),
            "embedding": pa.array(base[shuffled].tolist(), pa.list_(pa.float32())),
        }
    )
    asked = [15, 17, 110, 5000, 6009]
    table = embedding_neighbour_table(embeddings, 12, products=asked)
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    for product in asked:
        position = product - 10
        cosine = unit @ unit[position]
        cosine[position] = -np.inf
        expected = np.lexsort((ids, -np.round(cosine, 5)))[:12]
        rows = table.filter(pc.equal(table.column("product_id"), product)).sort_by("neighbour_rank")
        assert rows.column("neighbour_rank").to_pylist() == list(range(1, 13))
        assert rows.column("neighbour_product_id").to_pylist() == ids[expected].tolist()
        assert np.allclose(rows.column("score").to_numpy(), cosine[expected], atol=1e-5)
    # product 15's neighbours start with its nine other copies, lowest id first
    first = table.filter(pc.equal(table.column("product_id"), 15)).sort_by("neighbour_rank")
    assert first.column("neighbour_product_id").to_pylist()[:10] == list(range(110, 120))


def test_embedding_lists_of_unequal_length_are_a_clear_error():
    embeddings = pa.table(
        {
            "product_id": pa.array([1, 2, 3], pa.int64()),
            "embedding": pa.array([[1.0, 0.0], [0.5, 0.5], [1.0]], pa.list_(pa.float32())),
        }
    )
    with pytest.raises(SessionInputError, match="same dimension"):
        embedding_neighbour_table(embeddings, 2)


def test_embedding_neighbours_by_cosine_and_the_embedding_model():
    embeddings = pa.table(
        {
            "product_id": pa.array([1, 2, 3, 4], pa.int64()),
            "embedding": pa.array(
                [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]], pa.list_(pa.float32())
            ),
        }
    )
    table = embedding_neighbour_table(embeddings, 2)
    assert table.num_rows == 8
    rows = [r for r in table.to_pylist() if r["product_id"] == 1]
    assert [r["neighbour_product_id"] for r in rows] == [2, 3]
    assert rows[0]["score"] == pytest.approx(0.9 / np.hypot(0.9, 0.1), rel=1e-6)
    assert rows[1]["score"] == pytest.approx(0.0, abs=1e-6)
    index = NeighbourIndex.from_arrow(
        pa.concat_tables(
            [
                neighbour_table([(1, 4, 1.0)]).append_column(
                    "source", pa.array(["session"], pa.string())
                ),
                table,
            ]
        )
    )
    assert index.neighbours(1)[0].tolist() == [4]
    assert index.neighbours(1, "embedding")[0].tolist() == [2, 3]
    out = recommend_for_session(views(1), index, 1, model="embedding")
    assert ids(out) == [2] and out[0].source == "embedding"


def test_selected_session_model_reads_name_and_params():
    table = pa.table(
        {
            "model": ["popularity", "vsknn_history"],
            "is_selected": [False, True],
            "params": [None, json.dumps({"history_weight": 0.5})],
        }
    )
    name, params = selected_session_model(table)
    assert name == "vsknn_history"
    assert params["history_weight"] == 0.5 and params["weight_cart"] == 3.0
    assert selected_session_model(table.slice(0, 0)) == ("popularity", {})


def test_same_input_same_output():
    first = recommend_for_session(views(1, 2, 5), INDEX, 10, model="vsknn")
    second = recommend_for_session(views(1, 2, 5), INDEX, 10, model="vsknn")
    assert first == second


def test_hybrid_adds_embedding_votes_at_their_weight_and_the_history():
    session_rows = neighbour_table([(1, 2, 4.0)]).append_column(
        "source", pa.array(["session"], pa.string())
    )
    embedding_rows = neighbour_table([(1, 3, 0.9), (1, 2, 0.45)]).append_column(
        "source", pa.array(["embedding"] * 2, pa.string())
    )
    index = NeighbourIndex.from_arrow(pa.concat_tables([session_rows, embedding_rows]))
    out = recommend_for_session(
        views(1), index, 5, model="hybrid", history=[7], params={"embedding_weight": 0.5}
    )
    # 2: session 1.0 + embedding 0.5 x 0.5; 3: embedding 0.5 x 1.0; 7: history 0.3
    assert [(i.product_id, round(i.score, 6), i.source) for i in out] == [
        (2, 1.25, "session"),
        (3, 0.5, "embedding"),
        (7, 0.3, "history"),
    ]


def test_serving_index_holds_session_and_embedding_neighbours():
    embeddings = pa.table(
        {
            "product_id": pa.array([1, 2, 3], pa.int64()),
            "embedding": pa.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]], pa.list_(pa.float32())),
        }
    )
    index = serving_index(neighbour_table([(1, 3, 2.0)]), embeddings, top_n=1)
    assert index.neighbours(1)[0].tolist() == [3]
    assert index.neighbours(1, "embedding")[0].tolist() == [2]
    assert serving_index(neighbour_table([(1, 3, 2.0)])).product_count("embedding") == 0


def test_fill_with_popular_completes_the_list_without_repeats_or_excluded():
    items = [ScoredItem(3, 1.0, 1, "session")]
    out = fill_with_popular(items, [3, 9, 8, 7], 3, exclude={8}, popular_scores=[4, 3, 2, 1])
    assert [(i.product_id, i.score, i.source) for i in out] == [
        (3, 1.0, "session"),
        (9, 3.0, "popularity"),
        (7, 1.0, "popularity"),
    ]
    assert fill_with_popular(items * 2, [5], 1) == items


def _ranked_by_hand(
    lists: list[tuple[list[int], list[float], int, int]], k: int, banned: set[int]
) -> list[tuple[int, float, int, str]]:
    """SessionVotes.ranked written plainly: scores summed per product, the source of its biggest
    single vote (the first list on a tie), best first, ties by product id."""
    from amazing_analytics.ml.recommend.session.votes import SOURCE_LABELS

    total: dict[int, float] = {}
    best: dict[int, tuple[float, int, int]] = {}
    for ids, scores, origin, label in lists:
        for product, score in zip(ids, scores, strict=True):
            total[product] = total.get(product, 0.0) + score
            if product not in best or score > best[product][0]:
                best[product] = (score, origin, label)
    kept = sorted((p for p in total if p not in banned), key=lambda p: (-total[p], p))[:k]
    return [(p, total[p], best[p][1], SOURCE_LABELS[best[p][2]]) for p in kept]


@pytest.mark.parametrize("seed", range(30))
def test_votes_rank_and_name_sources_as_written_by_hand(seed: int) -> None:
    """Random lists with shared products, equal votes (whole numbers: sums are exact) and bans,
    small and large: the ranked list, the scores and each product's source match the plain
    computation."""
    from amazing_analytics.ml.recommend.session.votes import SessionVotes

    rng = np.random.default_rng(seed)
    lists = []
    for _ in range(int(rng.integers(1, 7))):
        ids = rng.choice(40, size=int(rng.integers(1, 12)), replace=False)
        scores = rng.integers(1, 4, size=ids.size).astype(np.float64)
        lists.append(
            (ids.tolist(), scores.tolist(), int(rng.integers(100, 200)), int(rng.integers(0, 3)))
        )
    banned = set(
        rng.choice(40, size=int(rng.choice([0, 2, SMALL_BAN + 3])), replace=False).tolist()
    )
    votes = SessionVotes()
    for ids, scores, origin, label in lists:
        votes.add(np.array(ids, np.int64), np.array(scores), origin, label)
    k = int(rng.integers(1, 15))
    got = [(i.product_id, i.score, i.source_product_id, i.source) for i in votes.ranked(k, banned)]
    assert got == _ranked_by_hand(lists, k, banned)


def test_a_products_votes_are_summed_in_the_order_they_were_cast() -> None:
    """Floating-point sums depend on the order: a product's votes are summed (numpy's
    ``add.reduceat``) in the order the lists were added, the same for the API and the
    evaluation, not sorted by size first; the biggest vote still names the source."""
    from amazing_analytics.ml.recommend.session.votes import SessionVotes

    votes = SessionVotes()
    for origin, score in ((11, 0.1), (12, 0.2), (13, 0.3)):
        votes.add(np.array([7, origin]), np.array([score, 1.0]), origin, 0)
    (item,) = [i for i in votes.ranked(4, set()) if i.product_id == 7]
    in_order, biggest_first = (
        float(np.add.reduceat(np.array(v), [0])[0]) for v in ([0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    )
    assert item.score == in_order != biggest_first
    assert item.source_product_id == 13
    assert votes.top_ids(4, set()) == [11, 12, 13, 7]


@pytest.mark.parametrize("seed", range(20))
def test_stable_order_is_numpys_stable_argsort(seed: int) -> None:
    """Repeated ids keep their positions' order, with ids near both ends of 64 bits (where the
    ids cannot be made unique by their position and the merge sort is used) and without."""
    from amazing_analytics.ml.recommend.session.votes import stable_order

    rng = np.random.default_rng(seed)
    size = int(rng.integers(0, 600))
    ids = rng.integers(-50, 50, size=size) * int(rng.choice([1, 10**6, 2**56]))
    if seed % 4 == 0 and size:
        ids[0] = np.iinfo(np.int64).max
    np.testing.assert_array_equal(stable_order(ids), np.argsort(ids, kind="stable"))


def test_a_vote_that_is_not_a_number_ranks_last() -> None:
    """A NaN vote (a broken neighbour table) sinks its product to the end instead of pushing
    better products out of the k kept."""
    from amazing_analytics.ml.recommend.session.votes import SessionVotes

    votes = SessionVotes()
    votes.add(np.array([1, 2, 3]), np.array([np.nan, 0.5, 0.4]), 9, 0)
    votes.add(np.array([4, 1]), np.array([0.3, 0.2]), 8, 0)
    assert votes.top_ids(2, set()) == [2, 3]
    assert votes.top_ids(3, set()) == [2, 3, 4]
    assert [i.product_id for i in votes.ranked(4, set())] == [2, 3, 4, 1]


@pytest.mark.parametrize("seed", range(10))
def test_the_evaluations_ids_are_the_lists_the_api_is_given(seed: int) -> None:
    """recommended_ids (the evaluation's call) and popular_fill give, for every model, random
    sessions with repeats, carts and a shopper's history, exactly the product ids of
    recommend_for_session followed by fill_with_popular."""
    from amazing_analytics.ml.recommend.session import popular_fill, recommended_ids

    rng = np.random.default_rng(seed)
    rows = [
        (p, n, float(rng.integers(1, 6)))
        for p in range(30)
        for n in rng.choice(30, size=8, replace=False).tolist()
        if n != p
    ]
    session_rows = neighbour_table(rows)
    embedding_rows = neighbour_table([(p, (p * 7 + 3) % 30, 0.5) for p in range(30)])
    index = NeighbourIndex.from_arrow(
        pa.concat_tables(
            [
                session_rows.append_column("source", pa.array(["session"] * len(session_rows))),
                embedding_rows.append_column(
                    "source", pa.array(["embedding"] * len(embedding_rows))
                ),
            ]
        )
    )
    popular = rng.permutation(40).tolist()
    kinds = ["view", "view", "cart", "purchase", "remove_from_cart"]
    for model in SESSION_MODELS:
        settings = model_params(model)
        for _ in range(20):
            session = [
                SessionItem(int(p), kinds[int(rng.integers(len(kinds)))])
                for p in rng.integers(0, 35, size=int(rng.integers(1, 7)))
            ]
            history = rng.integers(0, 35, size=int(rng.integers(0, 4))).tolist()
            k = int(rng.integers(1, 25))
            served = recommend_for_session(session, index, k, history=history, model=model)
            filled = fill_with_popular(served, popular, k, exclude=(session[-1].product_id,))
            got = recommended_ids(session, index, k, history, model, settings)
            got += [popular[p] for p in popular_fill(got, popular, k, (session[-1].product_id,))]
            assert got == ids(filled), (model, session, history, k)
    with pytest.raises(SessionInputError, match="k must be >= 0"):
        recommended_ids(views(1), index, -1, (), "sknn", model_params("sknn"))
