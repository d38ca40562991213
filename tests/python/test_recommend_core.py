"""Recommender building blocks with known answers: exact top-k against a full sort, ranking
metrics computed by hand, the baseline models on hand-built catalogues, the data indexing and
the temporal evaluation on a small synthetic shop."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import scipy.sparse as sp

from amazing_analytics.ml.recommend import data as d
from amazing_analytics.ml.recommend import evaluation as ev
from amazing_analytics.ml.recommend import metrics as m
from amazing_analytics.ml.recommend import models as md
from amazing_analytics.ml.recommend import topk
from amazing_analytics.ml.recommend.models.item_knn import item_similarity
from amazing_analytics.ml.recommend.topk import top_k_dot, top_k_naive, top_k_sparse

# ---------------------------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------------------------


def product_table(rows: list[tuple]) -> pa.Table:
    """rows: (product_id, category_id, category_code, category_level_1, category_level_2_code,
    brand, price_band, is_repeat_purchase_category)."""
    columns = list(zip(*rows, strict=True))
    types = [
        pa.int64(),
        pa.int64(),
        pa.string(),
        pa.string(),
        pa.string(),
        pa.string(),
        pa.string(),
        pa.bool_(),
    ]
    return pa.table(
        {
            name: pa.array(list(col), type=t)
            for name, col, t in zip(d.PRODUCT_FEATURE_COLUMNS, columns, types, strict=True)
        }
    )


def interaction_table(rows: list[tuple]) -> pa.Table:
    """rows: (split, user_id, product_id, view_count, cart_count, purchase_count, weight)."""
    columns = list(zip(*rows, strict=True))
    types = [pa.string(), pa.int64(), pa.int64(), pa.int64(), pa.int64(), pa.int64(), pa.float64()]
    return pa.table(
        {
            name: pa.array(list(col), type=t)
            for name, col, t in zip(d.INTERACTION_COLUMNS, columns, types, strict=True)
        }
    )


def cooccurrence_table(rows: list[tuple]) -> pa.Table:
    """rows: (split, product_id, other_product_id, session_count, bought_together_count)."""
    columns = list(zip(*rows, strict=True))
    types = [pa.string(), pa.int64(), pa.int64(), pa.int64(), pa.int64()]
    return pa.table(
        {
            name: pa.array(list(col), type=t)
            for name, col, t in zip(d.COOCCURRENCE_COLUMNS, columns, types, strict=True)
        }
    )


# index: 0    1    2    3    4    5    6    7    8
# id:    101  102  103  104  105  106  107  108  109
PRODUCTS = [
    (
        101,
        10,
        "electronics.smartphone",
        "electronics",
        "electronics.smartphone",
        "samsung",
        "mid",
        False,
    ),
    (
        102,
        10,
        "electronics.smartphone",
        "electronics",
        "electronics.smartphone",
        "apple",
        "premium",
        False,
    ),
    (
        103,
        10,
        "electronics.smartphone",
        "electronics",
        "electronics.smartphone",
        "xiaomi",
        "budget",
        False,
    ),
    (
        104,
        20,
        "appliances.kitchen.kettle",
        "appliances",
        "appliances.kitchen",
        "bosch",
        "mid",
        False,
    ),
    (
        105,
        20,
        "appliances.kitchen.kettle",
        "appliances",
        "appliances.kitchen",
        "tefal",
        "budget",
        False,
    ),
    (
        106,
        20,
        "appliances.kitchen.kettle",
        "appliances",
        "appliances.kitchen",
        "bosch",
        "premium",
        False,
    ),
    # a repeat-purchase category: what was bought may be recommended again
    (107, 30, "food.coffee", "food", "food.coffee", "lavazza", "mid", True),
    # nothing known but the category id (nulls everywhere else)
    (108, 40, None, None, None, None, None, None),
    # cold start: never interacted with, same content as the most popular product 104
    (
        109,
        20,
        "appliances.kitchen.kettle",
        "appliances",
        "appliances.kitchen",
        "bosch",
        "mid",
        False,
    ),
]

# serving split; popularity (summed weight) per index:
#   0: 1.0  1: 0.5  2: 0.2  3: 5+2 = 7.0  4: 3.0  5: 3.0  6: 1.0  7: 0  8: 0
# ranked (weight desc, ties -> lower index): 3, 4, 5, 0, 6, 1, 2, 7, 8
INTERACTIONS = [
    ("serving", 1, 101, 1, 0, 0, 1.0),
    ("serving", 1, 104, 3, 0, 0, 5.0),
    ("serving", 2, 104, 1, 1, 0, 2.0),
    ("serving", 2, 105, 1, 1, 1, 3.0),  # bought, not a repeat category -> excluded for user 2
    ("serving", 3, 106, 2, 0, 0, 3.0),
    ("serving", 3, 107, 1, 0, 1, 1.0),  # bought, repeat category -> still recommendable
    ("serving", 4, 102, 1, 0, 0, 0.5),
    ("serving", 4, 103, 1, 0, 0, 0.2),
    # another split: must not count in the serving popularity
    ("evaluation_train", 1, 102, 9, 9, 9, 100.0),
]
POPULAR_ORDER = [3, 4, 5, 0, 6, 1, 2, 7, 8]
POPULARITY = [1.0, 0.5, 0.2, 7.0, 3.0, 3.0, 1.0, 0.0, 0.0]

# serving split co-occurrence (both directions), row totals:
#   101: 5 + 1 = 6, 102: 5, 103: 4, 104: 4, 105: 1
# sim(101, 102) = 5 / sqrt(6 * 5), sim(101, 105) = 1 / sqrt(6 * 1), sim(103, 104) = 4 / sqrt(4 * 4) = 1
COOCCURRENCE = [
    ("serving", 101, 102, 5, 1),
    ("serving", 102, 101, 5, 1),
    ("serving", 101, 105, 1, 0),
    ("serving", 105, 101, 1, 0),
    ("serving", 103, 104, 4, 0),
    ("serving", 104, 103, 4, 0),
    ("evaluation_train", 101, 103, 50, 0),  # another split: ignored
    ("evaluation_train", 103, 101, 50, 0),
]
NEW_USER = 99


@pytest.fixture(scope="module")
def catalogue() -> d.Catalogue:
    return d.build_catalogue(product_table(PRODUCTS))


@pytest.fixture(scope="module")
def training(catalogue) -> d.TrainingData:
    return d.build_training_data(
        interaction_table(INTERACTIONS),
        catalogue,
        cooccurrence_table(COOCCURRENCE),
        "serving",
        extra_user_ids=np.array([NEW_USER]),
    )


def row_of(data: d.TrainingData, user_id: int) -> np.ndarray:
    rows = data.user_index(np.array([user_id]))
    assert rows[0] >= 0
    return rows


FAST_LIGHTFM = md.LightFMParams(epochs=5, components=8)


# ---------------------------------------------------------------------------------------------
# topk.py
# ---------------------------------------------------------------------------------------------


def _random_problem(n_users: int, n_items: int, dim: int, seed: int):
    rng = np.random.default_rng(seed)
    users = rng.normal(size=(n_users, dim)).astype(np.float32)
    items = rng.normal(size=(n_items, dim)).astype(np.float32)
    bias = rng.normal(scale=0.5, size=n_items).astype(np.float32)
    scores = users.astype(np.float64) @ items.T.astype(np.float64) + bias
    return users, items, bias, scores


def _random_exclusions(scores: np.ndarray, seed: int, max_excluded: int) -> sp.csr_matrix:
    """Exclusions that hit each user's true best products (and some random ones)."""
    rng = np.random.default_rng(seed)
    n_users, n_items = scores.shape
    rows, cols = [], []
    for u in range(n_users):
        best = np.argsort(-scores[u])[: min(20, n_items)]
        count = (
            int(rng.integers(0, min(max_excluded, n_items) + 1))
            if u
            else min(max_excluded, n_items)
        )
        picked = set(rng.choice(best, size=min(count // 2 + 1, best.size), replace=False).tolist())
        picked |= set(rng.choice(n_items, size=count, replace=False).tolist())
        picked = sorted(picked)[:count]
        rows.extend([u] * len(picked))
        cols.extend(picked)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=scores.shape)


def _assert_same_top_k(got, want):
    got_items, got_scores = got
    want_items, want_scores = want
    np.testing.assert_array_equal(got_items, want_items)
    finite = np.isfinite(want_scores)
    np.testing.assert_array_equal(np.isfinite(got_scores), finite)
    np.testing.assert_allclose(got_scores[finite], want_scores[finite], rtol=1e-5, atol=1e-5)
    assert np.all(np.isneginf(got_scores[~finite]))
    assert np.all(got_items[~finite] == -1)


# 7 < k, 100 < tile, 300 = 2 tiles (last padded with 212), 513 = 3 tiles (last almost all padding),
# 1000 = 4 tiles (last padded with 24)
@pytest.mark.parametrize("n_items", [7, 100, 300, 513, 1000])
@pytest.mark.parametrize("with_exclusions", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("chunk_size", [10, 64])
def test_top_k_dot_equals_full_sort(n_items, with_exclusions, threads, chunk_size):
    k = 10
    users, items, bias, scores = _random_problem(37, n_items, 8, seed=n_items)
    exclude = (
        _random_exclusions(scores, seed=n_items + 1, max_excluded=40) if with_exclusions else None
    )
    got = top_k_dot(
        users,
        items,
        bias,
        k,
        exclude=exclude,
        chunk_size=chunk_size,
        threads=threads,
        tile=256,
        block=8,
    )
    assert got[0].shape == (37, k) and got[0].dtype == np.int64
    assert got[1].shape == (37, k) and got[1].dtype == np.float32
    _assert_same_top_k(got, top_k_naive(scores, k, exclude=exclude))


def test_top_k_dot_without_bias_equals_full_sort():
    users, items, _, _ = _random_problem(23, 700, 6, seed=5)
    scores = users.astype(np.float64) @ items.T.astype(np.float64)
    got = top_k_dot(users, items, None, 12, chunk_size=7, threads=2, tile=256, block=8)
    _assert_same_top_k(got, top_k_naive(scores, 12))


def test_top_k_dot_rows_are_sorted_best_first():
    users, items, bias, scores = _random_problem(30, 1000, 8, seed=11)
    got_items, got_scores = top_k_dot(users, items, bias, 15, chunk_size=9, tile=256, block=8)
    assert np.all(np.diff(got_scores, axis=1) <= 0)
    # the scores returned are the scores of the products returned
    recomputed = np.take_along_axis(scores, got_items, axis=1)
    np.testing.assert_allclose(got_scores, recomputed, rtol=1e-5, atol=1e-5)
    # and the best product of every user is its argmax
    np.testing.assert_array_equal(got_items[:, 0], np.argmax(scores, axis=1))


def test_top_k_dot_pads_with_minus_one_and_minus_inf_when_few_products_are_allowed():
    k = 5
    users, items, bias, scores = _random_problem(3, 300, 8, seed=3)
    allowed = [17, 150, 299]
    rows = [0] * (300 - len(allowed)) + [1] * 300
    cols = [c for c in range(300) if c not in allowed] + list(range(300))
    exclude = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(3, 300))
    got_items, got_scores = top_k_dot(
        users, items, bias, k, exclude=exclude, chunk_size=2, tile=256, block=8
    )
    # user 0: only the three allowed products, best first, then two empty slots
    expected = sorted(allowed, key=lambda c: -scores[0, c])
    np.testing.assert_array_equal(got_items[0], expected + [-1, -1])
    np.testing.assert_allclose(got_scores[0, :3], scores[0, expected], rtol=1e-5)
    assert np.all(np.isneginf(got_scores[0, 3:]))
    # user 1: everything excluded
    np.testing.assert_array_equal(got_items[1], [-1] * k)
    assert np.all(np.isneginf(got_scores[1]))
    # user 2: no exclusion, a full list
    np.testing.assert_array_equal(got_items[2], np.argsort(-scores[2])[:k])
    _assert_same_top_k((got_items, got_scores), top_k_naive(scores, k, exclude=exclude))


def test_top_k_dot_catalogue_smaller_than_k_returns_every_product_then_padding():
    users, items, bias, scores = _random_problem(4, 3, 5, seed=8)
    got_items, got_scores = top_k_dot(users, items, bias, 6)
    for u in range(4):
        np.testing.assert_array_equal(got_items[u], list(np.argsort(-scores[u])) + [-1, -1, -1])
    assert np.all(np.isneginf(got_scores[:, 3:]))


@pytest.mark.parametrize(
    ("k", "most_excluded"),
    [
        (10, 200),  # a heavy buyer: k + exclusions = 210 > 1024 / 8 = 128 blocks
        (150, 0),  # a long list: k = 150 > 128 blocks (but < 1000 products)
    ],
)
def test_top_k_dot_exact_when_more_products_are_needed_than_there_are_blocks(k, most_excluded):
    users, items, bias, scores = _random_problem(6, 1000, 8, seed=21)
    exclude = None
    if most_excluded:
        cols = np.argsort(-scores[0])[:most_excluded]  # the user's 200 best products are bought
        exclude = sp.csr_matrix(
            (np.ones(cols.size), (np.zeros(cols.size, int), cols)), shape=scores.shape
        )
    got = top_k_dot(users, items, bias, k, exclude=exclude, tile=256, block=8)
    _assert_same_top_k(got, top_k_naive(scores, k, exclude=exclude))


def _tied_problem(seed: int, spread: bool) -> tuple[np.ndarray, np.ndarray]:
    """Users whose best products are products with the same vector among 1,000: their scores
    tie exactly. ``spread``: 40 of them anywhere; else 16 in two blocks (of ``tile=256,
    block=8``: a block is every 32nd product of a tile), all among the candidates."""
    rng = np.random.default_rng(seed)
    items = rng.normal(0, 0.1, (1000, 6)).astype(np.float32)
    if spread:
        tied = rng.choice(1000, 40, replace=False)
    else:
        tied = (rng.choice(32, 2, replace=False)[:, None] + 32 * np.arange(8)).ravel()
    items[tied] = [1.0, 0.5, -0.25, 0.0, 0.125, 2.0]
    users = rng.normal(0, 1, (16, 6)).astype(np.float32)
    users[:, [0, 5]] = np.abs(users[:, [0, 5]]) + 3
    return users, items


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [5, 10])
@pytest.mark.parametrize("spread", [True, False])
def test_top_k_dot_gives_tied_products_to_the_lower_index(seed, k, spread):
    # The k-th best score is shared by more products than fit in the list, in blocks left out
    # or among the candidates: which ones are kept must follow the product index, not the
    # blocks (at 10M events 15 thousand products without interactions share their LightFM
    # vector, and the similar products of a fifth of the catalogue depended on the blocks).
    users, items = _tied_problem(seed, spread)
    got = top_k_dot(users, items, None, k, chunk_size=7, tile=256, block=8)
    want = top_k_naive(users.astype(np.float64) @ items.T.astype(np.float64), k)
    np.testing.assert_array_equal(got[0], want[0])


@pytest.mark.parametrize("k", [0, -1])
def test_top_k_dot_rejects_k_below_one(k):
    users, items, bias, _ = _random_problem(2, 10, 3, seed=1)
    with pytest.raises(ValueError, match="k must be at least 1"):
        top_k_dot(users, items, bias, k)


def test_top_k_dot_rejects_mismatched_dimensions():
    with pytest.raises(ValueError, match="same dimension"):
        top_k_dot(np.ones((2, 3)), np.ones((4, 5)), None, 2)


def test_top_k_naive_breaks_ties_by_lower_index_and_drops_excluded():
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]])
    items, values = top_k_naive(scores, 4)
    np.testing.assert_array_equal(items, [[1, 2, 4, 3]])
    np.testing.assert_array_equal(values, [[3.0, 3.0, 3.0, 2.0]])
    items, _ = top_k_naive(scores, 4, exclude=sp.csr_matrix([[0, 0, 1, 0, 0]]))
    np.testing.assert_array_equal(items, [[1, 4, 3, 0]])


@pytest.mark.parametrize("block", [1 << 22, 7, 1])
@pytest.mark.parametrize("with_exclusions", [False, True])
def test_top_k_sparse_equals_full_sort_over_stored_entries(with_exclusions, block, monkeypatch):
    """In one block of rows and in many (SPARSE_BLOCK entries at a time: 7, and 1, a row per
    block): the same top-k as the full sort."""
    monkeypatch.setattr(topk, "SPARSE_BLOCK", block)
    rng = np.random.default_rng(4)
    scores = sp.random(30, 60, density=0.12, format="csr", random_state=7, dtype=np.float64)
    scores.data = rng.normal(size=scores.data.size)  # negative scores too: absent is not 0
    scores = scores.tolil()
    scores[5, :] = 0  # a row with no candidate at all
    scores = scores.tocsr()
    scores.eliminate_zeros()
    dense = np.full(scores.shape, -np.inf)
    coo = scores.tocoo()
    dense[coo.row, coo.col] = coo.data
    exclude = None
    if with_exclusions:
        # ban a stored entry of most rows (the row's best) and some absent pairs
        rows, cols = [], []
        for r in range(30):
            stored = scores.indices[scores.indptr[r] : scores.indptr[r + 1]]
            if stored.size:
                rows.append(r)
                cols.append(
                    int(stored[np.argmax(scores.data[scores.indptr[r] : scores.indptr[r + 1]])])
                )
            rows.append(r)
            cols.append(r)
        exclude = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=scores.shape)
    k = 8
    got = top_k_sparse(scores, k, exclude=exclude)
    want = top_k_naive(dense, k, exclude=exclude)
    _assert_same_top_k(got, want)
    assert np.all(got[0][5] == -1)
    # some rows have fewer than k stored entries: padded
    assert (got[0] == -1).any(axis=1).sum() >= 5


def test_item_similarity_is_the_cosine_of_co_occurrence_and_leaves_its_input_alone():
    """inv_i * c_ij * inv_j with inv = 1 / sqrt(row total), the best neighbours per row; the
    training data's matrix is not scaled in place (float32 in, as build_training_data makes)."""
    cooc = sp.csr_matrix(
        np.array([[0, 4, 1, 0], [4, 0, 0, 0], [1, 0, 0, 9], [0, 0, 9, 0]], np.float32)
    )
    before = cooc.copy()
    sim = item_similarity(cooc, 1)
    assert (cooc != before).nnz == 0 and cooc.dtype == np.float32
    totals = np.array([5.0, 4.0, 10.0, 9.0])
    expected = {(0, 1): 4 / np.sqrt(5 * 4), (1, 0): 4 / np.sqrt(4 * 5)}
    expected |= {(2, 3): 9 / np.sqrt(10 * 9), (3, 2): 9 / np.sqrt(9 * 10)}
    assert sim.nnz == 4  # one neighbour per row: (0, 2) lost to (0, 1)
    for (i, j), value in expected.items():
        assert sim[i, j] == pytest.approx(value, rel=1e-6)
    assert totals.sum() == before.sum()


@pytest.mark.parametrize("k", [1, 3, 10, 40, 60])
def test_top_k_dense_is_top_k_naive_with_ties_and_non_finite_scores(k):
    """Scores of a few distinct values (ties across the k-th place), -inf, NaN and -0.0: the
    same columns and scores as the full sort, padded alike when fewer than k are finite."""
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 5, size=(50, 40)).astype(np.float64)
    scores[rng.random(scores.shape) < 0.1] = -np.inf
    scores[rng.random(scores.shape) < 0.05] = np.nan
    scores[3] = -np.inf  # nothing to offer
    scores[4, :35] = np.nan  # fewer than k finite
    scores[5] = 0.0
    scores[5, ::2] = -0.0
    got_items, got_scores = topk.top_k_dense(scores, k)
    want_items, want_scores = top_k_naive(scores, k)
    np.testing.assert_array_equal(got_items, want_items)
    np.testing.assert_array_equal(got_scores, want_scores)
    assert got_items.shape == (50, k) and np.all(got_items[3] == -1)


def test_row_blocks_cover_every_row_once_in_order():
    indptr = np.array([0, 3, 3, 3, 10, 11, 20, 20])  # empty rows, and rows longer than a block
    for entries in (1, 2, 4, 9, 100):
        blocks = topk._row_blocks(indptr, entries)
        assert blocks[0][0] == 0 and blocks[-1][1] == indptr.size - 1
        assert all(a < b for a, b in blocks)
        assert all(b == c for (_, b), (c, _) in zip(blocks, blocks[1:], strict=False))
        # a block holds at most `entries` stored entries plus one row (a cut falls inside a row)
        lengths = np.diff(indptr)
        assert all(indptr[b] - indptr[a] <= entries + lengths[a:b].max() for a, b in blocks)


def test_top_k_sparse_hand_case():
    scores = sp.csr_matrix(np.array([[0.0, 0.5, 0.0, -0.2, 0.9], [0.3, 0.0, 0.0, 0.0, 0.0]]))
    items, values = top_k_sparse(scores, 3)
    np.testing.assert_array_equal(items, [[4, 1, 3], [0, -1, -1]])
    np.testing.assert_allclose(values[0], [0.9, 0.5, -0.2], rtol=1e-6)
    assert values[1, 0] == pytest.approx(0.3)
    assert np.all(np.isneginf(values[1, 1:]))


# ---------------------------------------------------------------------------------------------
# metrics.py
# ---------------------------------------------------------------------------------------------

L2, L3, L4 = math.log2(2), math.log2(3), math.log2(4)  # discounts 1/log2(r + 1) at r = 1, 2, 3


def test_user_metrics_hand_computed():
    k = 3
    recommended = np.array(
        [
            [0, 1, 2],  # A: relevant {1, 3}
            [3, -1, -1],  # B: relevant {3}, two empty slots
            [0, 1, 2],  # C: nothing relevant -> not evaluated
            [0, 1, 2],  # D: relevant {0, 2, 3, 4}: more than k
            [4, 0, -1],  # E: relevant {2}, no hit
        ]
    )
    relevant = sp.csr_matrix(
        np.array(
            [
                [0, 1, 0, 1, 0],
                [0, 0, 0, 1, 0],
                [0, 0, 0, 0, 0],
                [1, 0, 1, 1, 1],
                [0, 0, 1, 0, 0],
            ],
            dtype=np.float32,
        )
    )
    got = m.user_metrics(recommended, relevant, k)

    # A: hits at rank 2 only.
    #   precision = 1/3, recall = 1/2, DCG = 1/log2(3), IDCG (2 relevant) = 1 + 1/log2(3)
    #   AP = precision@2 / min(2, 3) = (1/2) / 2 = 0.25
    # B: hit at rank 1. precision = 1/3 (empty slots count as misses), recall = 1,
    #   NDCG = 1 / 1 = 1, AP = 1/1 / 1 = 1
    # D: hits at ranks 1 and 3. precision = 2/3, recall = 2/4,
    #   DCG = 1 + 1/log2(4) = 1.5, IDCG cut at k = 3: 1 + 1/log2(3) + 1/log2(4)
    #   AP = (1/1 + 2/3) / min(4, 3) = (5/3) / 3 = 5/9
    # E: no hit: everything 0
    expected = {
        "precision": [1 / 3, 1 / 3, np.nan, 2 / 3, 0.0],
        "recall": [1 / 2, 1.0, np.nan, 2 / 4, 0.0],
        "ndcg": [
            (1 / L3) / (1 / L2 + 1 / L3),
            1.0,
            np.nan,
            (1 / L2 + 1 / L4) / (1 / L2 + 1 / L3 + 1 / L4),
            0.0,
        ],
        "map": [0.25, 1.0, np.nan, 5 / 9, 0.0],
        "hit_rate": [1.0, 1.0, np.nan, 1.0, 0.0],
    }
    for name in m.PER_USER_METRICS:
        np.testing.assert_allclose(
            got.get(name), expected[name], rtol=1e-12, equal_nan=True, err_msg=name
        )
    assert got.ndcg[0] == pytest.approx(0.386853, abs=1e-6)
    assert got.ndcg[3] == pytest.approx(0.703918, abs=1e-6)


def test_user_metrics_only_reads_the_first_k_columns():
    recommended = np.array([[5, 6, 1, 2]])  # the hit at rank 3 is beyond k = 2
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0, 0, 0, 0]], dtype=np.float32))
    got = m.user_metrics(recommended, relevant, 2)
    assert got.hit_rate[0] == 0.0 and got.ndcg[0] == 0.0 and got.precision[0] == 0.0


def test_catalogue_coverage_counts_distinct_products_over_catalogue():
    recommended = np.array([[0, 1, -1], [1, 2, -1], [2, 0, 1]])
    # distinct shown: {0, 1, 2} of 10 products
    assert m.catalogue_coverage(recommended, 10) == pytest.approx(0.3)
    assert math.isnan(m.catalogue_coverage(recommended, 0))


def test_item_self_information_and_novelty_hand_values():
    # p = (users + 1) / (3 + 1): 1/4, 2/4, 4/4 -> -log2 p = 2, 1, 0
    info = m.item_self_information(np.array([0, 1, 3]), 3)
    np.testing.assert_allclose(info, [2.0, 1.0, 0.0])
    # shown: 0, 1, 2, 0 (empty slots ignored): (2 + 1 + 0 + 2) / 4 = 1.25
    assert m.novelty(np.array([[0, 1], [2, -1], [0, -1]]), info) == pytest.approx(1.25)
    assert math.isnan(m.novelty(np.array([[-1, -1]]), info))


# ---------------------------------------------------------------------------------------------
# models/
# ---------------------------------------------------------------------------------------------


def test_merge_ranked_priority_duplicates_exclusions_and_source():
    personal_items = np.array([[5, 3, -1, 7], [2, 2, 4, 1], [4, -1, -1, -1]])
    personal_scores = np.array(
        [[0.9, 0.8, -np.inf, 0.6], [0.9, 0.8, 0.7, 0.6], [0.5, -np.inf, -np.inf, -np.inf]]
    )
    popular_items = np.array([[3, 1, 5, 0], [1, 0, 3, 2], [4, 6, 4, 6]])
    popular_scores = np.array([[1.0, 0.5, 0.4, 0.3], [1.0, 0.5, 0.4, 0.3], [1.0, 0.9, 0.8, 0.7]])
    exclude = sp.csr_matrix(
        (np.ones(3), ([0, 1, 2], [7, 4, 6])), shape=(3, 8)
    )  # row 0: 7, row 1: 4, row 2: 6
    items, scores, source = md.merge_ranked(
        [
            (personal_items, personal_scores, md.SOURCE_PERSONAL),
            (popular_items, popular_scores, md.SOURCE_POPULAR),
        ],
        4,
        exclude,
    )
    # row 0: 5, 3 (personal), -1 skipped, 7 excluded, 3 dup, 1, 5 dup, 0
    # row 1: 2, 2 dup, 4 excluded, 1 (personal 0.6, not popular 1.0), 1 dup, 0, 3
    # row 2: 4 (personal), 6 excluded, then nothing left -> padding
    np.testing.assert_array_equal(items, [[5, 3, 1, 0], [2, 1, 0, 3], [4, -1, -1, -1]])
    np.testing.assert_allclose(
        scores, [[0.9, 0.8, 0.5, 0.3], [0.9, 0.6, 0.5, 0.4], [0.5, -np.inf, -np.inf, -np.inf]]
    )
    P, G = md.SOURCE_PERSONAL, md.SOURCE_POPULAR
    np.testing.assert_array_equal(source, [[P, P, G, G], [P, P, G, G], [P, -1, -1, -1]])


def test_merge_ranked_without_exclusions_keeps_first_k():
    items, _, source = md.merge_ranked(
        [
            (np.array([[2, 0]]), np.array([[1.0, 1.0]]), md.SOURCE_CATEGORY),
            (np.array([[0, 1, 3]]), np.array([[1.0, 1.0, 1.0]]), md.SOURCE_POPULAR),
        ],
        3,
        None,
    )
    np.testing.assert_array_equal(items, [[2, 0, 1]])
    np.testing.assert_array_equal(
        source, [[md.SOURCE_CATEGORY, md.SOURCE_CATEGORY, md.SOURCE_POPULAR]]
    )


def test_popularity_ranks_by_summed_weight_ties_to_lower_index(training):
    model = md.make_model("popularity").fit(training, seed=0)
    np.testing.assert_allclose(model.popularity, POPULARITY, rtol=1e-6)
    np.testing.assert_array_equal(model.ranked, POPULAR_ORDER)
    recs = model.recommend(row_of(training, NEW_USER), 9, training.exclusions())
    np.testing.assert_array_equal(recs.items, [POPULAR_ORDER])
    # scores: popularity / max popularity (7)
    np.testing.assert_allclose(recs.scores[0], np.array(POPULARITY)[POPULAR_ORDER] / 7.0, rtol=1e-6)
    np.testing.assert_array_equal(recs.source, np.full((1, 9), md.SOURCE_POPULAR))


def test_exclusions_are_bought_products_outside_repeat_purchase_categories(training):
    excl = training.exclusions().toarray()
    # user 2 bought 105 (index 4, kettle): excluded; user 3 bought 107 (index 6, coffee): repeat
    expected = np.zeros_like(excl)
    expected[row_of(training, 2)[0], 4] = True
    np.testing.assert_array_equal(excl, expected)
    model = md.make_model("popularity").fit(training, seed=0)
    rows = np.concatenate([row_of(training, 2), row_of(training, 3)])
    recs = model.recommend(rows, 5, training.exclusions())
    np.testing.assert_array_equal(recs.items, [[3, 5, 0, 6, 1], [3, 4, 5, 0, 6]])


def test_category_popularity_puts_preferred_category_first_then_global_popularity(training):
    model = md.make_model("category_popularity").fit(training, seed=0)
    rows = np.concatenate([row_of(training, 4), row_of(training, 1)])
    recs = model.recommend(rows, 6, training.exclusions())
    C, G = md.SOURCE_CATEGORY, md.SOURCE_POPULAR
    # user 4 (weight only on category 10: 102, 103): category 10 by popularity 101 (1.0),
    # 102 (0.5), 103 (0.2); then global 104, 105, 106
    np.testing.assert_array_equal(recs.items[0], [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(recs.source[0], [C, C, C, G, G, G])
    # user 1 (category 20: 5.0 vs category 10: 1.0): 104, 105, 106, 109 (0, the category's
    # last), then global 104, 105, 106 are duplicates -> 101, 107
    np.testing.assert_array_equal(recs.items[1], [3, 4, 5, 8, 0, 6])
    np.testing.assert_array_equal(recs.source[1], [C, C, C, C, G, G])
    assert len(set(recs.items[1].tolist())) == 6


@pytest.mark.parametrize("name", md.MODEL_NAMES)
def test_user_without_history_gets_pure_popularity_from_every_model(training, name):
    model = md.make_model(name, FAST_LIGHTFM).fit(training, seed=1)
    recs = model.recommend(row_of(training, NEW_USER), 5, training.exclusions())
    np.testing.assert_array_equal(recs.items, [POPULAR_ORDER[:5]])
    np.testing.assert_array_equal(recs.source, np.full((1, 5), md.SOURCE_POPULAR))


def test_item_knn_recommends_co_occurring_neighbours_first(training):
    model = md.make_model("item_knn").fit(training, seed=0)
    s12, s15, s34 = 5 / math.sqrt(30), 1 / math.sqrt(6), 1.0
    sim = model.similarity.toarray()
    assert sim[0, 1] == pytest.approx(s12) and sim[1, 0] == pytest.approx(s12)
    assert sim[0, 4] == pytest.approx(s15) and sim[2, 3] == pytest.approx(s34)
    assert sim[0, 2] == 0.0  # the evaluation_train pair is not in the serving split
    rows = np.concatenate([row_of(training, 4), row_of(training, 1)])
    recs = model.recommend(rows, 5, training.exclusions())
    P, G = md.SOURCE_PERSONAL, md.SOURCE_POPULAR
    # user 4 (102: 0.5, 103: 0.2): 101 scores 0.5 * s12 = 0.456, 104 scores 0.2 * 1 = 0.2;
    # then popularity 104 (dup), 105, 106, 101 (dup), 107
    np.testing.assert_array_equal(recs.items[0], [0, 3, 4, 5, 6])
    np.testing.assert_array_equal(recs.source[0], [P, P, G, G, G])
    # the scores are the lists' own (no offset): 104's personal 0.2 is below the popular 105's
    # 3 / 7 and still comes first, because merge_ranked keeps the parts' order
    np.testing.assert_allclose(recs.scores[0, :3], [0.5 * s12, 0.2, 3 / 7], rtol=1e-5)
    assert recs.scores[0, 1] < recs.scores[0, 2]
    # user 1 (101: 1, 104: 5): 103 (5 * 1), 102 (1 * s12), 105 (1 * s15), then 104, 106
    np.testing.assert_array_equal(recs.items[1], [2, 1, 4, 3, 5])
    np.testing.assert_array_equal(recs.source[1], [P, P, P, G, G])
    np.testing.assert_allclose(recs.scores[1, :3], [5.0, s12, s15], rtol=1e-5)


def test_served_rows_keep_the_personal_list_first_with_its_own_scores(training):
    """recommendation_rows reports each list's own score (no offset to undo) and keeps the
    personal list ahead of popularity even where popularity scores higher."""
    from amazing_analytics.ml.recommend.serving import recommendation_rows

    model = md.make_model("item_knn").fit(training, seed=0)
    rows = recommendation_rows(model, training, np.array([4]), 5, personalised=True).to_pylist()
    s12 = 5 / math.sqrt(30)
    assert [r["product_id"] for r in rows] == [101, 104, 105, 106, 107]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["model"] for r in rows] == ["item_knn", "item_knn"] + ["popularity"] * 3
    assert [r["score"] for r in rows[:3]] == pytest.approx([0.5 * s12, 0.2, 3 / 7], rel=1e-5)
    assert rows[1]["score"] < rows[2]["score"]


def test_lightfm_is_deterministic_for_a_fixed_seed(training):
    rows = np.arange(training.n_users)
    first = md.make_model("lightfm", FAST_LIGHTFM).fit(training, seed=7)
    second = md.make_model("lightfm", FAST_LIGHTFM).fit(training, seed=7)
    a = first.recommend(rows, 6, training.exclusions())
    b = second.recommend(rows, 6, training.exclusions())
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(first.item_vectors, second.item_vectors)
    other = md.make_model("lightfm", FAST_LIGHTFM).fit(training, seed=8)
    assert not np.array_equal(first.item_vectors, other.item_vectors)


def test_lightfm_scores_a_cold_start_product_through_its_content_features(training):
    cold, twin = 8, 3  # 109 never interacted with; 104 has the same content features
    assert training.users_per_item()[cold] == 0
    model = md.make_model("lightfm", FAST_LIGHTFM).fit(training, seed=3)
    n = training.catalogue.size
    features = model.item_features.toarray()
    assert np.all(features[cold, :n] == 0)  # no identity feature
    content = features[:, n:]
    np.testing.assert_array_equal(content[cold] > 0, content[twin] > 0)
    # 4 content features (category, family, brand, price band), each weighted 1/4
    np.testing.assert_allclose(content[cold][content[cold] > 0], np.full(4, 0.25), rtol=1e-6)
    assert np.any(model.item_vectors[cold] != 0)
    assert np.all(np.isfinite(model.item_vectors[cold]))
    np.testing.assert_allclose(
        model.item_vectors[cold], features[cold] @ model.model.item_embeddings, rtol=1e-5, atol=1e-6
    )
    row = row_of(training, 1)
    score = model.user_vectors[row[0]] @ model.item_vectors[cold] + model.item_bias[cold]
    assert np.isfinite(score)
    # the personal list of a user with history covers the whole catalogue, the cold product too
    recs = model.recommend(row, n, None)
    assert sorted(recs.items[0].tolist()) == list(range(n))
    assert np.all(recs.source == md.SOURCE_PERSONAL)
    assert np.all(np.isfinite(recs.scores))


def test_cooccurrence_matrices_hold_the_serving_pairs_and_only_the_bought_together_ones(
    training, catalogue
):
    index = {int(product): i for i, product in enumerate(catalogue.item_ids)}
    cooc, together = training.cooccurrence, training.bought_together
    pairs = {
        (int(catalogue.item_ids[r]), int(catalogue.item_ids[c])): float(cooc[r, c])
        for r, c in zip(*cooc.nonzero(), strict=True)
    }
    # the six serving pairs, the evaluation_train ones left out
    assert pairs == {
        (101, 102): 5.0,
        (102, 101): 5.0,
        (101, 105): 1.0,
        (105, 101): 1.0,
        (103, 104): 4.0,
        (104, 103): 4.0,
    }
    # only the pair bought together is stored: no explicit zeros for the other four
    assert together.nnz == 2
    assert together[index[101], index[102]] == together[index[102], index[101]] == 1.0
    assert cooc.dtype == together.dtype == np.float32


def test_training_data_is_the_same_from_a_dictionary_encoded_split(training, catalogue):
    """The dbt models read ``split`` dictionary-encoded (dbt_io.read_arrow): the matrices are
    those of the text column, with several splits in the table as with one."""

    def encoded(table: pa.Table) -> pa.Table:
        position = table.schema.get_field_index("split")
        return table.set_column(position, "split", pc.dictionary_encode(table.column("split")))

    for interactions, cooccurrence in [
        (interaction_table(INTERACTIONS), cooccurrence_table(COOCCURRENCE)),
        (
            interaction_table([row for row in INTERACTIONS if row[0] == "serving"]),
            cooccurrence_table([row for row in COOCCURRENCE if row[0] == "serving"]),
        ),
    ]:
        again = d.build_training_data(
            encoded(interactions),
            catalogue,
            encoded(cooccurrence),
            "serving",
            extra_user_ids=np.array([NEW_USER]),
        )
        assert (again.cooccurrence != training.cooccurrence).nnz == 0
        assert (again.bought_together != training.bought_together).nnz == 0
        assert (again.weights != training.weights).nnz == 0
        np.testing.assert_array_equal(again.user_ids, training.user_ids)


def test_pairs_streamed_batch_by_batch_give_the_same_matrices(training, catalogue):
    """The dbt models hand the pairs over as a RecordBatchReader, read batch by batch and never
    held whole: one pair per batch, a batch of another split and an empty batch give the
    matrices of the table; a reader without a pair column is refused."""
    table = cooccurrence_table(COOCCURRENCE)
    batches = [
        *table.to_batches(max_chunksize=1),
        pa.RecordBatch.from_pylist([], schema=table.schema),
    ]
    assert len(batches) == table.num_rows + 1 and table.num_rows > 6
    reader = pa.RecordBatchReader.from_batches(table.schema, batches)
    again = d.build_training_data(
        interaction_table(INTERACTIONS),
        catalogue,
        reader,
        "serving",
        extra_user_ids=np.array([NEW_USER]),
    )
    assert (again.cooccurrence != training.cooccurrence).nnz == 0
    assert (again.bought_together != training.bought_together).nnz == 0
    assert again.cooccurrence.nnz == 6 and again.bought_together.nnz == 2
    assert again.cooccurrence.dtype == np.float32
    empty = d.build_training_data(
        interaction_table(INTERACTIONS),
        catalogue,
        pa.RecordBatchReader.from_batches(table.schema, []),
        "serving",
    )
    assert empty.cooccurrence.nnz == empty.bought_together.nnz == 0
    assert empty.cooccurrence.shape == (catalogue.size, catalogue.size)
    short = table.drop(["session_count"])
    with pytest.raises(d.MissingColumnsError, match="session_count"):
        d.build_training_data(
            interaction_table(INTERACTIONS),
            catalogue,
            pa.RecordBatchReader.from_batches(short.schema, short.to_batches()),
            "serving",
        )


def test_make_model_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown recommender 'nope'"):
        md.make_model("nope")


# ---------------------------------------------------------------------------------------------
# data.py
# ---------------------------------------------------------------------------------------------


def test_build_catalogue_sorts_by_id_and_fills_defaults():
    cat = d.build_catalogue(product_table(list(reversed(PRODUCTS))))
    np.testing.assert_array_equal(cat.item_ids, [101, 102, 103, 104, 105, 106, 107, 108, 109])
    assert cat.size == 9
    np.testing.assert_array_equal(cat.index(np.array([104, 999, 101])), [3, -1, 0])
    assert cat.brand[7] == "unknown" and cat.category_code[7] == "unknown"
    assert cat.price_band[7] == "mid"
    np.testing.assert_array_equal(cat.is_repeat_purchase, [False] * 6 + [True, False, False])


def test_the_evaluation_catalogue_knows_the_repeat_flag_from_before_the_test_window():
    features = product_table(PRODUCTS)
    before = [i == 0 for i in range(features.num_rows)]  # only the first product's category
    table = features.append_column(d.EVALUATION_REPEAT_COLUMN, pa.array(before))
    served = d.build_catalogue(table)
    evaluated = d.evaluation_catalogue(table)
    np.testing.assert_array_equal(served.is_repeat_purchase, [False] * 6 + [True, False, False])
    np.testing.assert_array_equal(evaluated.item_ids, served.item_ids)
    np.testing.assert_array_equal(evaluated.is_repeat_purchase, before)
    np.testing.assert_array_equal(evaluated.brand, served.brand)
    with pytest.raises(d.MissingColumnsError, match=d.EVALUATION_REPEAT_COLUMN):
        d.evaluation_catalogue(features)


def test_build_training_data_extra_users_add_empty_rows(catalogue):
    data = d.build_training_data(
        interaction_table(INTERACTIONS),
        catalogue,
        None,
        "serving",
        extra_user_ids=np.array([50, 2]),
    )
    np.testing.assert_array_equal(data.user_ids, [1, 2, 3, 4, 50])
    assert data.weights.shape == (5, 9)
    np.testing.assert_array_equal(data.history_counts(), [2, 2, 2, 2, 0])
    assert data.weights[4].nnz == 0
    np.testing.assert_array_equal(data.user_index(np.array([50, 7])), [4, -1])
    # strongest event per pair
    strongest = data.strongest.toarray()
    assert (
        strongest[1, 3] == d.CARTED and strongest[1, 4] == d.BOUGHT and strongest[0, 0] == d.VIEWED
    )
    # no co-occurrence table: empty matrices of the catalogue's shape
    assert data.cooccurrence.shape == (9, 9) and data.cooccurrence.nnz == 0


def test_build_training_data_ignores_products_missing_from_catalogue(catalogue):
    rows = [
        ("serving", 1, 101, 1, 0, 0, 1.0),
        ("serving", 1, 999, 1, 0, 1, 4.0),  # unknown product
        ("serving", 5, 998, 1, 0, 0, 2.0),  # a user seen only on unknown products
    ]
    cooc = [("serving", 101, 999, 3, 0), ("serving", 101, 102, 2, 0)]
    data = d.build_training_data(
        interaction_table(rows), catalogue, cooccurrence_table(cooc), "serving"
    )
    np.testing.assert_array_equal(data.user_ids, [1])
    assert data.weights.nnz == 1 and data.weights[0, 0] == pytest.approx(1.0)
    assert data.bought.nnz == 0
    assert data.cooccurrence.nnz == 1 and data.cooccurrence[0, 1] == pytest.approx(2.0)


def test_pairs_streamed_without_their_split_are_the_split_filtered_on(catalogue):
    """The dbt models stream one split's pairs without the split column: the same matrices as
    the table of every split, filtered by the model (batches of 2 rows, as a reader)."""
    table = cooccurrence_table(COOCCURRENCE)
    interactions = interaction_table(INTERACTIONS)
    for split in ("serving", "evaluation_train"):
        reference = d.build_training_data(interactions, catalogue, table, split)
        one_split = table.filter(pc.equal(table["split"], split)).drop_columns(["split"])
        reader = pa.RecordBatchReader.from_batches(one_split.schema, one_split.to_batches(2))
        streamed = d.build_training_data(interactions, catalogue, reader, split)
        assert streamed.cooccurrence.nnz == reference.cooccurrence.nnz > 0
        assert (streamed.cooccurrence != reference.cooccurrence).nnz == 0
        assert (streamed.bought_together != reference.bought_together).nnz == 0
    with pytest.raises(d.MissingColumnsError, match="session_count"):
        d.build_training_data(
            interactions, catalogue, table.drop_columns(["session_count"]), "serving"
        )


def test_relevant_matrix_marks_only_carts_and_purchases_of_the_split(catalogue):
    rows = [
        ("evaluation_test", 1, 101, 1, 1, 0, 1.0),  # carted -> relevant
        ("evaluation_test", 1, 102, 0, 0, 2, 1.0),  # bought -> relevant (value 1, not 2)
        ("evaluation_test", 1, 103, 3, 0, 0, 1.0),  # viewed only -> not relevant
        ("evaluation_train", 2, 104, 0, 1, 1, 1.0),  # another split -> not relevant
        ("evaluation_test", 3, 105, 0, 1, 0, 1.0),  # user 3 not among the users asked
        ("evaluation_test", 2, 999, 0, 1, 0, 1.0),  # unknown product
        ("evaluation_test", 2, 106, 0, None, 1, 1.0),  # null cart_count, bought -> relevant
    ]
    rel = d.relevant_matrix(interaction_table(rows), catalogue, np.array([1, 2]), "evaluation_test")
    expected = np.zeros((2, 9))
    expected[0, 0] = expected[0, 1] = expected[1, 5] = 1.0
    np.testing.assert_array_equal(rel.toarray(), expected)


def test_build_catalogue_rejects_missing_columns_and_duplicate_ids():
    table = product_table(PRODUCTS)
    with pytest.raises(d.MissingColumnsError, match="brand"):
        d.build_catalogue(table.drop_columns(["brand"]))
    duplicated = product_table(PRODUCTS + [PRODUCTS[0]])
    with pytest.raises(ValueError, match="duplicate product_id"):
        d.build_catalogue(duplicated)


def test_build_training_data_rejects_missing_interaction_columns(catalogue):
    with pytest.raises(d.MissingColumnsError, match="weight"):
        d.build_training_data(
            interaction_table(INTERACTIONS).drop_columns(["weight"]), catalogue, None, "serving"
        )


def test_catalogue_describe_and_category_label(catalogue):
    items = np.array([0, 3, 6, 7])
    np.testing.assert_array_equal(
        catalogue.describe(items),
        ["samsung smartphone", "bosch kettle", "lavazza coffee", "product 108"],
    )
    np.testing.assert_array_equal(
        catalogue.category_label(items),
        ["electronics.smartphone", "appliances.kitchen.kettle", "food.coffee", "category 40"],
    )


def test_catalogue_describe_with_only_brand_or_only_category():
    cat = d.build_catalogue(
        product_table(
            [
                (1, 5, None, None, None, "acme", "mid", False),
                (2, 5, "garden.tools.shovel", "garden", "garden.tools", None, "mid", False),
            ]
        )
    )
    # a lone brand or kind is not a product name: the product id makes it one
    np.testing.assert_array_equal(cat.describe(np.array([0, 1])), ["acme product 1", "shovel 2"])


# ---------------------------------------------------------------------------------------------
# evaluation/
# ---------------------------------------------------------------------------------------------

N_USERS, N_PRODUCTS, COLD_PRODUCT = 60, 40, 1039
NEW_TEST_USERS = (61, 62)
COLD_BUYERS = (3, 7, 11)


def synthetic_shop():
    """4 categories of 10 products; user u shops in category u % 4: 5 viewed products before
    the test window, one other product of the category carted in it. Product 1039 is never
    interacted with in training and carted by three users in the test window; two new users
    cart in the test window only."""
    products = [
        (
            1000 + i,
            1 + i // 10,
            f"cat{i // 10}.kind{i // 10}",
            f"cat{i // 10}",
            f"cat{i // 10}.kind{i // 10}",
            f"brand{i % 3}",
            ("budget", "mid", "premium")[i % 3],
            False,
        )
        for i in range(N_PRODUCTS)
    ]
    rows, pairs = [], {}
    for u in range(1, N_USERS + 1):
        g = u % 4
        viewed = [1000 + 10 * g + (u + j) % 9 for j in range(5)]
        for j, p in enumerate(viewed):
            rows.append(
                ("evaluation_train", u, p, 1, 0, 0, 1.0 + ((u * 7 + j * 3) % 11) / 8)
            )  # exact in float32
        for a in viewed:
            for b in viewed:
                if a != b:
                    pairs[(a, b)] = pairs.get((a, b), 0) + 1
        rows.append(("evaluation_test", u, 1000 + 10 * g + (u + 5) % 9, 0, 1, 0, 3.0))
    for u in COLD_BUYERS:
        rows.append(("evaluation_test", u, COLD_PRODUCT, 0, 1, 1, 5.0))
    for u in NEW_TEST_USERS:
        rows.append(("evaluation_test", u, 1000, 0, 1, 0, 3.0))
    cooc = [("evaluation_train", a, b, c, 0) for (a, b), c in sorted(pairs.items())]
    return product_table(products), interaction_table(rows), cooccurrence_table(cooc)


@pytest.fixture(scope="module")
def shop_result():
    products, interactions, cooc = synthetic_shop()
    catalogue = d.build_catalogue(products)
    result = ev.evaluate(
        interactions,
        catalogue,
        cooc,
        k=10,
        seed=1,
        models=("popularity", "item_knn"),
        min_test_users=20,
        bootstrap_samples=300,
    )
    return catalogue, interactions, result


def _value(table: pa.Table, model: str, slice_type: str, slice_name: str, metric: str):
    rows = table.filter(
        pc.and_(
            pc.and_(pc.equal(table["model"], model), pc.equal(table["slice_type"], slice_type)),
            pc.and_(pc.equal(table["slice"], slice_name), pc.equal(table["metric"], metric)),
        )
    ).to_pylist()
    assert len(rows) == 1, (model, slice_type, slice_name, metric, rows)
    return rows[0]


def test_evaluate_falls_back_to_popularity_with_too_few_test_users(catalogue):
    rows = [("evaluation_train", u, 101 + u % 5, 1, 0, 0, 1.0) for u in range(300)]
    rows += [("evaluation_test", u, 102, 0, 1, 0, 1.0) for u in range(ev.MIN_TEST_USERS - 1)]
    result = ev.evaluate(interaction_table(rows), catalogue, None, models=("popularity",))
    assert result.selected_model == "popularity"
    assert result.table.schema == ev.EVALUATION_SCHEMA
    assert result.table.num_rows == 1
    row = result.table.to_pylist()[0]
    assert row["status"] == "fallback" and row["model"] == "popularity"
    assert row["metric"] == "not_evaluated" and row["is_selected"] is True
    assert "too little data" in row["message"]
    assert f"{ev.MIN_TEST_USERS - 1} users" in row["message"]
    assert result.message == row["message"]


def test_evaluate_falls_back_with_too_few_training_interactions(catalogue):
    rows = [("evaluation_train", u, 101, 1, 0, 0, 1.0) for u in range(10)]
    rows += [("evaluation_test", u, 102, 0, 1, 0, 1.0) for u in range(30)]
    result = ev.evaluate(interaction_table(rows), catalogue, None, models=("popularity",))
    row = result.table.to_pylist()[0]
    assert row["status"] == "fallback" and "too little data" in row["message"]
    assert "10 training interactions" in row["message"]


def test_evaluate_returns_documented_columns_and_one_selected_model(shop_result):
    _, _, result = shop_result
    table = result.table
    assert table.schema == ev.EVALUATION_SCHEMA
    assert table.column_names == [
        "model",
        "slice_type",
        "slice",
        "metric",
        "k",
        "value",
        "ci_low",
        "ci_high",
        "user_count",
        "is_selected",
        "status",
        "message",
    ]
    assert set(table["status"].to_pylist()) == {"ok"}
    assert set(table["model"].to_pylist()) == {"popularity", "item_knn"}
    assert set(table["k"].to_pylist()) == {10}
    selected = {r["model"] for r in table.to_pylist() if r["is_selected"]}
    assert selected == {result.selected_model}
    assert all(r["is_selected"] == (r["model"] == result.selected_model) for r in table.to_pylist())
    ndcg = {
        name: _value(table, name, "all", "all", "ndcg")["value"]
        for name in ("popularity", "item_knn")
    }
    # the category structure is what item_knn learns: it beats global popularity here, and its
    # interval clears popularity's, so it serves
    assert ndcg[result.selected_model] == max(ndcg.values())
    assert result.selected_model == "item_knn"
    knn = _value(table, "item_knn", "all", "all", "ndcg")
    popular = _value(table, "popularity", "all", "all", "ndcg")
    assert knn["ci_low"] > popular["ci_high"]
    assert knn["ci_low"] <= knn["value"] <= knn["ci_high"]
    assert "item_knn" in knn["message"] and "clears popularity" in knn["message"]
    for name in ("popularity", "item_knn"):
        metrics = {
            r["metric"]
            for r in table.to_pylist()
            if r["model"] == name and r["slice_type"] == "all"
        }
        assert metrics == {
            *m.PER_USER_METRICS,
            "catalogue_coverage",
            "novelty",
            "fit_and_score_seconds",
        }


def test_evaluate_popularity_ndcg_matches_hand_computation(shop_result):
    catalogue, interactions, result = shop_result
    rows = interactions.to_pylist()
    train = [r for r in rows if r["split"] == "evaluation_train"]
    test = [r for r in rows if r["split"] == "evaluation_test"]
    # popularity by hand: summed training weight, ties to lower index; nothing was bought in
    # training, so every test user gets the same 10 products
    popularity = np.zeros(catalogue.size)
    for r in train:
        popularity[r["product_id"] - 1000] += r["weight"]
    top = sorted(range(catalogue.size), key=lambda i: (-popularity[i], i))[:10]
    users = sorted({r["user_id"] for r in test})
    assert len(users) == N_USERS + len(NEW_TEST_USERS)
    relevant = np.zeros((len(users), catalogue.size))
    for r in test:
        relevant[users.index(r["user_id"]), r["product_id"] - 1000] = 1
    lists = np.tile(top, (len(users), 1))
    expected = m.user_metrics(lists, sp.csr_matrix(relevant), 10)
    row = _value(result.table, "popularity", "all", "all", "ndcg")
    assert row["user_count"] == len(users)
    assert row["value"] == pytest.approx(float(np.nanmean(expected.ndcg)), rel=1e-9)
    hit = _value(result.table, "popularity", "all", "all", "hit_rate")["value"]
    assert hit == pytest.approx(float(np.nanmean(expected.hit_rate)), rel=1e-9)
    coverage = _value(result.table, "popularity", "all", "all", "catalogue_coverage")["value"]
    assert coverage == pytest.approx(10 / N_PRODUCTS)


def test_evaluate_user_type_slices_count_new_and_returning_users(shop_result):
    _, _, result = shop_result
    assert (
        _value(result.table, "popularity", "user_type", "returning", "ndcg")["user_count"]
        == N_USERS
    )
    assert _value(result.table, "item_knn", "user_type", "new", "ndcg")["user_count"] == len(
        NEW_TEST_USERS
    )


def test_evaluate_cold_start_products_slice(shop_result):
    _, _, result = shop_result
    slice_name = "products without training interactions"
    for name in ("popularity", "item_knn"):
        row = _value(result.table, name, "cold_start_products", slice_name, "hit_rate")
        assert row["user_count"] == len(COLD_BUYERS)
    # only the cold product counts as relevant there, and popularity never shows a product
    # without training interactions (36 products have some) -> no hit, recall 0
    assert (
        _value(result.table, "popularity", "cold_start_products", slice_name, "hit_rate")["value"]
        == 0.0
    )
    assert (
        _value(result.table, "popularity", "cold_start_products", slice_name, "recall")["value"]
        == 0.0
    )


TIMING = "fit_and_score_seconds"


def test_evaluate_simulated_cold_start_runs_beside_the_models_with_the_same_rows(run_inline):
    """The simulated cold start (every model refitted without a seeded 10 % of the products
    with training interactions) runs in a thread beside the models' own fits (two tasks at a
    time, LightFM first): one row per metric and model, on the test users who carted a hidden
    product, and the same rows as when every task runs inline, one after the other (the timing
    rows aside)."""
    products, interactions, cooc = synthetic_shop()
    catalogue = d.build_catalogue(products)
    models = ("popularity", "item_knn", "lightfm")

    def run() -> pa.Table:
        table = ev.evaluate(
            interactions,
            catalogue,
            cooc,
            k=10,
            seed=1,
            params=md.LightFMParams(epochs=2),
            models=models,
            min_test_users=20,
            bootstrap_samples=300,
        ).table
        return table.filter(pc.not_equal(table["metric"], TIMING))

    beside = run()
    run_inline()
    assert run().equals(beside)
    # by hand: products 1000 + 10g + j (j < 9) have training interactions (catalogue index =
    # id - 1000); round(0.1 x 36) = 4 of them hidden with the seed; user u carted product
    # 1000 + 10 (u % 4) + (u + 5) % 9 in the test window
    known = np.array([10 * g + j for g in range(4) for j in range(9)])
    hidden = set(np.random.default_rng(1).choice(known, 4, replace=False).tolist())
    buyers = sum(10 * (u % 4) + (u + 5) % 9 in hidden for u in range(1, N_USERS + 1))
    assert buyers > 0
    simulated = beside.filter(pc.equal(beside["slice"], ev.COLD_START_SIMULATED)).to_pylist()
    assert {r["model"] for r in simulated} == set(models)
    assert {r["user_count"] for r in simulated} == {buyers}


def test_evaluate_below_the_minimum_of_test_users_is_not_enough_evidence():
    products, interactions, cooc = synthetic_shop()
    catalogue = d.build_catalogue(products)
    result = ev.evaluate(
        interactions,
        catalogue,
        cooc,
        k=10,
        seed=1,
        models=("item_knn", "popularity"),
        min_test_users=100,
        bootstrap_samples=50,
    )
    # item_knn is better (see above), but 62 test users are not evidence: popularity serves
    assert result.selected_model == "popularity"
    assert set(result.table["status"].to_pylist()) == {"not_enough_evidence"}
    assert "62 test users (need 100" in result.message
    row = _value(result.table, "item_knn", "all", "all", "ndcg")
    assert row["value"] > _value(result.table, "popularity", "all", "all", "ndcg")["value"]


def test_evaluate_intervals_are_seeded():
    products, interactions, cooc = synthetic_shop()
    catalogue = d.build_catalogue(products)
    runs = [
        ev.evaluate(
            interactions,
            catalogue,
            cooc,
            seed=5,
            models=("popularity",),
            min_test_users=20,
            bootstrap_samples=100,
        ).table
        for _ in range(2)
    ]
    # everything but the timing is identical
    timed = [r.filter(pc.not_equal(r["metric"], "fit_and_score_seconds")) for r in runs]
    assert timed[0].equals(timed[1])
    assert any(row["ci_low"] is not None for row in timed[0].to_pylist())


def test_slice_intervals_draw_each_slice_once_for_every_model():
    import sys

    from amazing_analytics.ml.recommend.selection import (
        Resamples,
        bootstrap_interval,
        resample_indices,
    )

    evaluate_module = sys.modules["amazing_analytics.ml.recommend.evaluation.evaluate"]
    rng = np.random.default_rng(0)

    def scores(values: np.ndarray) -> ev.SliceScores:
        evaluated = {metric: values * (i + 1) for i, metric in enumerate(m.PER_USER_METRICS)}
        return ev.SliceScores("t", "s", {}, evaluated, values.size, None, None)

    slices = [rng.random(40), rng.random(40), (rng.random(25) < 0.3).astype(float)]
    twin = {name: [scores(v) for v in slices] for name in ("a", "b")}  # identical models
    twin["c"] = [scores(1.0 - v) for v in slices]
    out = evaluate_module._slice_intervals(twin, len(slices), 200, seed=7)
    for position, values in enumerate(slices):
        # slice p is resampled with seed + p, the same draws for every model (paired)
        draws = resample_indices(values.size, 200, 7 + position)
        for name, column in (("a", values), ("c", 1.0 - values)):
            expected = bootstrap_interval(column * 3, np.ones(values.size), draws)
            got = out[name][position]["ndcg"]  # the third metric: values x 3
            assert got.value == pytest.approx(expected.value, rel=1e-15)
            assert (got.low, got.high) == pytest.approx((expected.low, expected.high), rel=1e-12)
        assert out["a"][position] == out["b"][position]
    with pytest.raises(ValueError, match="evaluated users but draws"):
        ev.mean_intervals([scores(slices[0]), scores(slices[2])], Resamples.draw(40, 5, 1))


def own_history_training(catalogue_table: pa.Table):
    """user 1 viewed 101 (5 days ago), carted 102 (1 day ago), bought 103 (repeat category);
    user 2 bought 104 (not a repeat category) and viewed 105 (2 days ago)."""
    rows = [
        ("serving", 1, 101, 1, 0, 0, 1.0, 5),
        ("serving", 1, 102, 1, 1, 0, 4.0, 1),
        ("serving", 1, 103, 0, 0, 2, 10.0, 3),
        ("serving", 2, 104, 0, 0, 1, 5.0, 0),
        ("serving", 2, 105, 1, 0, 0, 1.0, 2),
        ("serving", 3, 106, 3, 0, 0, 30.0, 0),
    ]
    columns = [*d.INTERACTION_COLUMNS, "days_since_last_event"]
    types = [pa.string(), *[pa.int64()] * 5, pa.float64(), pa.int64()]
    table = pa.table(
        {
            name: pa.array([r[i] for r in rows], t)
            for i, (name, t) in enumerate(zip(columns, types, strict=True))
        }
    )
    catalogue = d.build_catalogue(catalogue_table)
    return d.build_training_data(table, catalogue, None, "serving")


def repeat_catalogue() -> pa.Table:
    """Products 101..106; 103 is in a repeat-purchase category."""
    return product_table(
        [(100 + i, i, f"cat{i}", "fam", f"fam.cat{i}", "b", "mid", i == 3) for i in range(1, 7)]
    )


def test_recently_viewed_lists_viewed_never_bought_products_most_recent_first():
    data = own_history_training(repeat_catalogue())
    model = md.make_model("recently_viewed").fit(data, 0)
    recs = model.recommend(data.user_index(np.array([1, 2])), 3, data.exclusions())
    ids = data.catalogue.item_ids
    # user 1: 102 (1 day) then 101 (5 days), then popularity (106); 103 was bought: never
    assert ids[recs.items[0]].tolist() == [102, 101, 106]
    assert recs.source[0].tolist() == [md.SOURCE_RECENT, md.SOURCE_RECENT, md.SOURCE_POPULAR]
    # user 2: 105, then popularity without the bought 104
    assert ids[recs.items[1]].tolist() == [105, 106, 103]


def test_buy_again_lists_bought_products_of_repeat_purchase_categories_only():
    data = own_history_training(repeat_catalogue())
    model = md.make_model("buy_again").fit(data, 0)
    recs = model.recommend(data.user_index(np.array([1, 2])), 2, data.exclusions())
    ids = data.catalogue.item_ids
    assert ids[recs.items[0]].tolist() == [103, 106]
    assert recs.source[0].tolist() == [md.SOURCE_BUY_AGAIN, md.SOURCE_POPULAR]
    # 104 is not in a repeat category: excluded, popularity instead
    assert ids[recs.items[1]].tolist() == [106, 103]
    assert recs.source[1].tolist() == [md.SOURCE_POPULAR, md.SOURCE_POPULAR]


def test_category_family_slices_keep_only_the_family_products_relevant():
    families = np.array(["kids", "kids", "auto", "unknown"], dtype=object)
    catalogue = d.Catalogue(
        item_ids=np.arange(4),
        category_id=np.arange(4),
        category_code=families,
        category_level_1=families,
        category_level_2_code=families,
        brand=np.array(["b"] * 4, dtype=object),
        price_band=np.array(["budget"] * 4, dtype=object),
        is_repeat_purchase=np.zeros(4, bool),
    )
    # user 0: a kids and an auto product; user 1: kids only; user 2: an unknown product
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
    out = {
        name: (mask, rel) for _, name, mask, rel in ev.category_family_slices(relevant, catalogue)
    }
    assert sorted(out) == ["auto", "kids", "unknown"]
    kids_mask, kids = out["kids"]
    assert kids_mask.tolist() == [True, True, False]
    assert kids.toarray().tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    assert out["auto"][0].tolist() == [True, False, False]
    assert out["auto"][1].toarray()[0].tolist() == [0, 0, 1, 0]


def test_evaluate_category_family_slices_count_the_family_buyers(shop_result):
    _, _, result = shop_result
    # user u carts a product of family cat(u % 4); the cold product is in cat3 like its
    # buyers (3, 7, 11); the two new users cart product 1000 (cat0)
    for name in ("popularity", "item_knn"):
        counts = {
            r["slice"]: r["user_count"]
            for r in result.table.to_pylist()
            if r["model"] == name
            and r["slice_type"] == "category_family"
            and r["metric"] == "hit_rate"
        }
        assert counts == {"cat0": 15 + 2, "cat1": 15, "cat2": 15, "cat3": 15}
    # the cold buyers' family: their own product or the cold one counts, so hit rate >= the
    # cold-start slice's 0 for popularity
    cat3 = _value(result.table, "popularity", "category_family", "cat3", "hit_rate")
    assert cat3["ci_low"] <= cat3["value"] <= cat3["ci_high"]


def test_evaluate_says_buy_again_is_popularity_when_no_category_is_bought_again():
    """The synthetic shop has no repeat-purchase category: buy_again's list is popularity's, and
    its selection row says why instead of silently matching popularity."""
    products, interactions, cooc = synthetic_shop()
    catalogue = d.build_catalogue(products)
    assert not catalogue.is_repeat_purchase.any()
    result = ev.evaluate(
        interactions,
        catalogue,
        cooc,
        k=10,
        seed=1,
        models=("popularity", "buy_again"),
        min_test_users=20,
        bootstrap_samples=50,
    )
    metric = ev.SELECTION_METRIC
    buy_again = _value(result.table, "buy_again", "all", "all", metric)
    popularity = _value(result.table, "popularity", "all", "all", metric)
    assert buy_again["value"] == popularity["value"]
    assert buy_again["message"].startswith(ev.NO_REPEAT_PURCHASE_NOTE)
    assert ev.NO_REPEAT_PURCHASE_NOTE not in (popularity["message"] or "")


# ---------------------------------------------------------------------------------------------
# the evaluations' LightFM, fitted once (recommender_evaluation_embeddings)
# ---------------------------------------------------------------------------------------------


def _shop_for_stored_lightfm():
    from amazing_analytics.ml.recommend.bounds import TrainingBounds
    from amazing_analytics.ml.recommend.build import lightfm_params

    products, interactions, cooc = synthetic_shop()
    products = products.append_column(
        d.EVALUATION_REPEAT_COLUMN, products.column("is_repeat_purchase_category")
    )
    params = lightfm_params(components=4, epochs=2, learning_rate=0.05, item_alpha=0, threads=1)
    # a cap that binds (300 training rows): the sampled test users' histories are kept first
    bounds = TrainingBounds(max_training_rows=200, eval_users=40, seed=4)
    return products, interactions, cooc, params, bounds


def _evaluation(products, interactions, cooc, params, bounds, embeddings=None) -> pa.Table:
    from amazing_analytics.ml.recommend.build import build_evaluation

    return build_evaluation(
        interactions,
        products,
        cooc,
        [],
        k=5,
        seed=3,
        params=params,
        min_test_users=20,
        bootstrap_samples=100,
        bounds=bounds,
        lightfm_embeddings=embeddings,
    )


def test_the_evaluation_scores_the_stored_lightfm_as_the_one_it_would_fit(monkeypatch) -> None:
    """recommender_evaluation_embeddings holds the two LightFM fits the evaluation would make
    (the evaluation's, on the same bounded rows, the sampled test users first, and the cold
    start's, without the hidden products): scoring them instead of fitting gives every row the
    evaluation gives when it fits LightFM itself, its timing rows aside. Each fit holds every
    product and only the evaluated test users with history in its data."""
    from amazing_analytics.ml.recommend.bounds import bound_evaluation_interactions
    from amazing_analytics.ml.recommend.build import build_evaluation_embeddings

    products, interactions, cooc, params, bounds = _shop_for_stored_lightfm()
    stored = build_evaluation_embeddings(
        interactions, products, seed=3, params=params, bounds=bounds
    )
    fits = []
    original = md.LightFMRecommender._fit
    monkeypatch.setattr(
        md.LightFMRecommender, "_fit", lambda self, *a: fits.append(1) or original(self, *a)
    )
    fitted = _evaluation(products, interactions, cooc, params, bounds)
    assert len(fits) == 2  # the evaluation's LightFM and the cold start's refit
    scored = _evaluation(products, interactions, cooc, params, bounds, stored)
    assert len(fits) == 2  # both stored: nothing fitted
    timing = pc.equal(fitted["metric"], "fit_and_score_seconds")
    assert scored.filter(pc.invert(timing)).equals(fitted.filter(pc.invert(timing)))
    assert "lightfm" in set(fitted.column("model").to_pylist())
    own = stored.filter(pc.equal(stored["fit"], "evaluation"))
    lightfm_time = scored.filter(pc.and_(timing, pc.equal(scored["model"], "lightfm")))
    assert lightfm_time.column("value")[0].as_py() >= own.column("fit_seconds")[0].as_py()

    def of(fit: str, entity: str) -> list[int]:
        rows = stored.filter(
            pc.and_(pc.equal(stored["fit"], fit), pc.equal(stored["entity"], entity))
        )
        return rows.column("entity_id").to_pylist()

    assert set(stored.column("fit").to_pylist()) == {"evaluation", "cold_start"}
    for fit in ("evaluation", "cold_start"):
        assert of(fit, "item") == products.column("product_id").to_pylist()
    users = set(of("evaluation", "user"))
    bounded = bound_evaluation_interactions(interactions, bounds)
    split = bounded.column("split")
    tested = set(bounded.filter(pc.equal(split, "evaluation_test"))["user_id"].to_pylist())
    trained = set(bounded.filter(pc.equal(split, "evaluation_train"))["user_id"].to_pylist())
    assert users == tested & trained and 0 < len(users) < len(tested)  # the new users: none
    assert len(of("cold_start", "user")) > 0 and set(of("cold_start", "user")) <= users


def test_a_stored_lightfm_of_other_test_users_is_a_clear_error() -> None:
    from amazing_analytics.ml.recommend.bounds import TrainingBounds
    from amazing_analytics.ml.recommend.build import build_evaluation_embeddings

    products, interactions, cooc, params, bounds = _shop_for_stored_lightfm()
    other = build_evaluation_embeddings(
        interactions, products, seed=3, params=params, bounds=TrainingBounds(eval_users=25)
    )
    with pytest.raises(
        ValueError, match="'evaluation' fit was made on other data than this evaluation's"
    ):
        _evaluation(products, interactions, cooc, params, bounds, other)
    with pytest.raises(ValueError, match="lacks column"):
        _evaluation(products, interactions, cooc, params, bounds, other.drop_columns(["bias"]))


def test_too_little_data_for_the_split_leaves_the_stored_lightfm_empty(caplog) -> None:
    from amazing_analytics.ml.recommend.build import (
        EVALUATION_EMBEDDING_SCHEMA,
        build_evaluation_embeddings,
    )

    products, interactions, _, params, bounds = _shop_for_stored_lightfm()
    few = interactions.filter(pc.less(interactions["user_id"], 8))  # 7 test users
    with caplog.at_level("WARNING"):
        stored = build_evaluation_embeddings(few, products, seed=3, params=params)
    assert stored.num_rows == 0 and stored.schema.equals(EVALUATION_EMBEDDING_SCHEMA)
    assert any("too little data for a temporal split" in m for m in caplog.messages)
