"""Customer segmentation functions: scaling, k choice, naming, persistence, assignment and the
agreement with known personas."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from amazing_analytics.ml import segmentation as seg
from amazing_analytics.ml.segmentation import (
    CATEGORY_FAMILIES,
    LOG1P_FEATURES,
    ROLES,
    SEGMENT_FEATURES,
    InsufficientDataError,
    SegmentLabel,
    action_copy_from_table,
    assign_segments,
    build_quality,
    choice_of_k,
    choose_k,
    describe_segments,
    family_labels_from_table,
    feature_matrix,
    features,
    fit_segments,
    group_weights,
    model_from_table,
    model_to_table,
    name_segments,
    nearest_centroid,
    persona_agreement,
    read_personas,
    selection_to_table,
    suggested_action,
)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
#: The marketing copy and the family words, from the seeds the dbt models pass in.
ACTION_COPY = action_copy_from_table(pacsv.read_csv(SEEDS / "segment_actions.csv"))
FAMILY_LABELS = family_labels_from_table(pacsv.read_csv(SEEDS / "category_families.csv"))
TASTE_FEATURES = [n for n in SEGMENT_FEATURES if n in features.MEAN_FILL_FEATURES]

# --------------------------------------------------------------------------------------------
# Fixtures: known-answer customer tables
# --------------------------------------------------------------------------------------------

TINY = {
    "user_id": [30, 10, 20],
    "session_count": [4, 1, 2],
    "view_count": [40, 3, 10],
    "cart_count": [5, 0, 1],
    "order_count": [3, 0, 0],
    "revenue": [300.0, 0.0, 0.0],
    "average_basket": [100.0, None, None],
    "cart_abandonment_rate": [0.25, None, 1.0],
    "conversion_rate": [0.75, 0.0, 0.0],
    "days_active": [3, 1, 2],
    "tenure_days": [60, 0, 10],
    "recency_days": [2, 50, None],
    "median_viewed_price": [80.0, 20.0, None],
    "price_index": [1.6, 0.5, None],
    "brand_loyalty": [0.5, 1.0, None],
    "in_house_brand_share": [0.0, 0.5, None],
    "event_count": [50, 3, 11],
    "is_buyer": [True, False, False],
    **{f"family_share_{f}": [0.0, 0.0, None] for f in CATEGORY_FAMILIES},
}
TINY["family_share_computers"] = [0.75, 0.0, None]
TINY["family_share_fashion"] = [0.25, 1.0, None]


def tiny_table(**overrides: pa.Array) -> pa.Table:
    table = pa.table(TINY)
    for name, values in overrides.items():
        table = table.set_column(table.schema.get_field_index(name), name, values)
    return table


_BY_HAND = {"log1p": math.log1p, "log": math.log, "sqrt": math.sqrt, "identity": float}


def expected_column(values: list[float | None], transform: bool | str, fill: str) -> list[float]:
    """transform (True: log1p) + z-score by hand (population std); ``fill`` 'zero' or 'mean'
    (-> 0 scaled)."""
    f = _BY_HAND["log1p" if transform is True else transform or "identity"]
    if fill == "zero":
        values = [0.0 if v is None else v for v in values]
    known = [f(v) for v in values if v is not None]
    mean = statistics.fmean(known)
    std = statistics.pstdev(known)
    return [0.0 if v is None or std == 0 else (f(v) - mean) / std for v in values]


#: Behaviour of the test personas: sessions, views, carts, orders, basket, abandonment,
#: conversion, days, recency, median viewed price.
BEHAVIOUR = {
    "loyal": (12, 120, 15, 8, 150.0, 0.1, 0.7, 9, 5, 120.0),
    "window": (6, 90, 0, 0, 0.0, 0.0, 0.0, 5, 20, 150.0),
    "casual": (1, 4, 0, 0, 0.0, 0.0, 0.0, 1, 60, 80.0),
    "lapsed": (2, 15, 2, 1, 90.0, 0.5, 0.5, 2, 140, 90.0),
}
#: Taste of the test personas: favourite family (60 % of views), price index, brand loyalty,
#: in-house-brand share.
TASTE = {
    "loyal": ("computers", 1.8, 0.6, 0.02),
    "window": ("fashion", 1.0, 0.3, 0.10),
    "casual": ("home", 1.0, 0.3, 0.10),
    "lapsed": ("tech_accessories", 0.6, 0.3, 0.40),
}


def customers(groups: dict[str, int], seed: int = 0, user_offset: int = 1000) -> pa.Table:
    """A customer_features table of well-separated personas (loyal, window, casual, lapsed)."""
    rng = np.random.default_rng(seed)
    columns: dict[str, list] = {name: [] for name in TINY}
    user = user_offset
    for persona, count in groups.items():
        sessions, views, carts, orders, basket, abandon, conv, days, recency, price = BEHAVIOUR[
            persona
        ]
        family, price_index, loyalty, in_house = TASTE[persona]
        for _ in range(count):
            jitter = rng.uniform(0.85, 1.15, 6)
            s = max(1, round(sessions * jitter[0]))
            o = min(s, round(orders * jitter[1]))
            columns["user_id"].append(user)
            columns["session_count"].append(s)
            columns["view_count"].append(max(s, round(views * jitter[2])))
            columns["cart_count"].append(round(carts * jitter[3]))
            columns["order_count"].append(o)
            b = round(basket * jitter[4], 2) if o else None
            columns["revenue"].append(round(o * b, 2) if o else 0.0)
            columns["average_basket"].append(b)
            columns["cart_abandonment_rate"].append(abandon if carts else None)
            columns["conversion_rate"].append(o / s if o else conv)
            columns["days_active"].append(min(s, max(1, round(days * jitter[5]))))
            columns["tenure_days"].append(recency + 30)
            columns["recency_days"].append(max(0, round(recency * jitter[1])))
            columns["median_viewed_price"].append(round(price * jitter[2], 2))
            columns["price_index"].append(round(price_index * jitter[3] ** 0.3, 3))
            columns["brand_loyalty"].append(round(min(1.0, loyalty * jitter[4]), 3))
            columns["in_house_brand_share"].append(round(in_house * jitter[5], 3))
            columns["event_count"].append(
                max(s, round(views * jitter[2])) + round(carts * jitter[3])
            )
            columns["is_buyer"].append(o > 0)
            rest = 0.4 / (len(CATEGORY_FAMILIES) - 1)
            for other in CATEGORY_FAMILIES:
                columns[f"family_share_{other}"].append(0.6 if other == family else rest)
            user += 7
    return pa.table(columns)


@pytest.fixture(scope="module")
def shop() -> pa.Table:
    return customers({"loyal": 60, "window": 150, "casual": 300, "lapsed": 90})


@pytest.fixture(scope="module")
def shop_model(shop: pa.Table) -> seg.SegmentModel:
    return fit(shop, 4, seed=7)


def fit(table: pa.Table, k: int, seed: int) -> seg.SegmentModel:
    return fit_segments(table, k, seed, action_copy=ACTION_COPY, family_labels=FAMILY_LABELS)


# --------------------------------------------------------------------------------------------
# feature_matrix
# --------------------------------------------------------------------------------------------


def test_feature_matrix_exact_values_by_hand() -> None:
    user_ids, X = feature_matrix(tiny_table())
    assert user_ids.tolist() == [10, 20, 30]  # ordered by user_id
    assert X.shape == (3, len(SEGMENT_FEATURES))
    by_user = {30: 0, 10: 1, 20: 2}  # row of each user in TINY
    order = [by_user[u] for u in user_ids.tolist()]
    weights = features.prepare(tiny_table()).weights
    views = TINY["view_count"]
    for j, name in enumerate(SEGMENT_FEATURES):
        fill = "mean" if name in features.MEAN_FILL_FEATURES else "zero"
        expected = expected_column(TINY[name], features.TRANSFORMS[name], fill)
        # the taste features are shrunk by the evidence: views / (views + 5)
        taste = features.FEATURE_GROUP_OF[name] in ("category", "price", "brand")
        shrink = [v / (v + 5.0) if taste else 1.0 for v in views]
        np.testing.assert_allclose(
            X[:, j],
            [expected[i] * shrink[i] * weights[j] for i in order],
            rtol=1e-12,
            atol=1e-12,
            err_msg=name,
        )
    # spot checks of the documented rules
    j = SEGMENT_FEATURES.index
    assert X[:, j("recency_days")][1] == 0.0  # unknown recency (user 20) -> exactly 0
    assert X[:, j("price_index")][1] == 0.0
    assert "median_viewed_price" not in SEGMENT_FEATURES  # category, not price level
    assert features.TRANSFORMS["price_index"] == "log"
    assert features.TRANSFORMS["family_share_home"] == "sqrt"
    assert features.TRANSFORMS["revenue"] == "log1p" and "revenue" in LOG1P_FEATURES
    # only the visitors with >= 5 views are fitted on (user 10 has 3)
    np.testing.assert_array_equal(features.prepare(tiny_table()).fit_rows, [False, True, True])
    w = weights[j("recency_days")]
    np.testing.assert_allclose(np.abs(X[[0, 2], j("recency_days")]), [w, w])  # 2 known values
    np.testing.assert_allclose(X.mean(axis=0)[j("session_count")], 0.0, atol=1e-15)
    np.testing.assert_allclose(X.std(axis=0)[j("session_count")], w, rtol=1e-12)
    assert X[:, j("family_share_kids")][1] == 0.0  # unknown share (user 20) -> exactly 0


def test_feature_groups_weigh_the_same_whatever_their_size() -> None:
    shop = customers({"loyal": 20, "window": 20, "casual": 20, "lapsed": 20})
    prepared = features.prepare(shop)
    X = prepared.scaled
    for group, names in features.FEATURE_GROUPS.items():
        columns = [SEGMENT_FEATURES.index(n) for n in names]
        # every column of a group has the same weight ...
        assert len(set(prepared.weights[columns].tolist())) == 1, group
        # ... and the group's leading direction has variance 1 (GROUP_WEIGHTS), however many
        # columns it has and however much they move together
        covariance = np.atleast_2d(np.cov(X[:, columns], rowvar=False, ddof=0))
        assert np.linalg.eigvalsh(covariance)[-1] == pytest.approx(1.0, rel=1e-9), group
    # the ten behaviour columns move together: they weigh less per column than the brand pair
    weight = dict(zip(SEGMENT_FEATURES, prepared.weights, strict=True))
    assert weight["session_count"] < weight["brand_loyalty"]
    # the weights are those of group_weights on the standardised matrix
    standardised = np.divide(X, prepared.weights, out=np.zeros_like(X), where=prepared.weights > 0)
    np.testing.assert_allclose(group_weights(standardised, SEGMENT_FEATURES), prepared.weights)
    # a group without variance gets weight 0 (its scaled columns are all 0)
    flat = shop.set_column(
        shop.schema.get_field_index("brand_loyalty"), "brand_loyalty", pa.array([0.5] * 80)
    ).set_column(
        shop.schema.get_field_index("in_house_brand_share"),
        "in_house_brand_share",
        pa.array([0.1] * 80),
    )
    assert features.prepare(flat).weights[SEGMENT_FEATURES.index("brand_loyalty")] == 0.0


def test_feature_matrix_nulls_and_constant_columns() -> None:
    # never-carted users: abandonment null -> 0; non-buyers: basket null -> 0 (log1p(0) = 0)
    table = tiny_table(
        cart_abandonment_rate=pa.array([None, None, None], pa.float64()),
        conversion_rate=pa.array([0.5, 0.5, 0.5]),
        average_basket=pa.array([float("nan"), None, 100.0]),  # NaN counts as null
    )
    user_ids, X = feature_matrix(table)
    j = SEGMENT_FEATURES.index
    assert np.all(X[:, j("cart_abandonment_rate")] == 0.0)  # all 0 after fill: constant
    assert np.all(X[:, j("conversion_rate")] == 0.0)  # constant column stays 0
    basket = X[:, j("average_basket")]
    assert user_ids.tolist() == [10, 20, 30]
    assert basket[0] == basket[2] and basket[1] > 0  # user 10 null, user 30 NaN: both -> 0
    weight = features.prepare(table).weights[j("average_basket")]
    expected = expected_column([None, 100.0, None], True, "zero")
    np.testing.assert_allclose(basket, [value * weight for value in expected])
    assert not np.any((X == 0.0) & np.signbit(X))  # no negative zeros


def test_feature_matrix_accepts_decimals_and_ignores_other_columns() -> None:
    decimals = pa.array([Decimal("300.00"), Decimal("0.00"), Decimal("0.00")], pa.decimal128(12, 2))
    baskets = pa.array([Decimal("100.00"), None, None], pa.decimal128(12, 2))
    table = tiny_table(revenue=decimals, average_basket=baskets).append_column(
        "preferred_category_family", pa.array(["electronics", None, "apparel"])
    )
    ids_dec, X_dec = feature_matrix(table)
    ids_float, X_float = feature_matrix(tiny_table())
    assert ids_dec.tolist() == ids_float.tolist()
    np.testing.assert_array_equal(X_dec, X_float)


def test_feature_matrix_is_deterministic_and_row_order_free() -> None:
    table = tiny_table()
    _, X1 = feature_matrix(table)
    _, X2 = feature_matrix(table.take([2, 0, 1]))
    np.testing.assert_array_equal(X1, X2)


def test_feature_matrix_reads_record_batch_readers() -> None:
    table = tiny_table()
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    np.testing.assert_array_equal(feature_matrix(reader)[1], feature_matrix(table)[1])


def test_feature_matrix_errors_are_readable() -> None:
    with pytest.raises(InsufficientDataError, match="lacks column.*revenue.*recency_days"):
        feature_matrix(tiny_table().drop_columns(["revenue", "recency_days"]))
    with pytest.raises(InsufficientDataError, match="no rows"):
        feature_matrix(tiny_table().slice(0, 0))
    with pytest.raises(ValueError, match="revenue must not be negative.*user_id 30"):
        feature_matrix(tiny_table(revenue=pa.array([-5.0, 0.0, 0.0])))
    with pytest.raises(ValueError, match="user_id must be unique"):
        feature_matrix(tiny_table(user_id=pa.array([1, 1, 2])))
    with pytest.raises(ValueError, match="infinite"):
        feature_matrix(tiny_table(conversion_rate=pa.array([float("inf"), 0.0, 0.0])))


# --------------------------------------------------------------------------------------------
# choose_k
# --------------------------------------------------------------------------------------------


def blobs(centers: int, per_blob: int, dims: int = 5, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means = rng.uniform(-12, 12, size=(centers, dims))
    points = [rng.normal(m, 0.6, size=(per_blob, dims)) for m in means]
    return rng.permutation(np.vstack(points))


def test_silhouette_matches_sklearn() -> None:
    X = blobs(3, 120, seed=5) + np.random.default_rng(1).normal(0, 4, size=(360, 5))
    X[7] = X[8]  # duplicate points are fine
    labelings = [KMeans(k, n_init=2, random_state=0).fit(X).labels_ for k in (2, 3, 6)]
    ours = choice_of_k.mean_silhouettes(X, labelings)
    np.testing.assert_allclose(ours, [silhouette_score(X, lab) for lab in labelings], atol=1e-10)


def test_choose_k_finds_four_blobs_deterministically() -> None:
    X = blobs(4, 150)
    selection = choose_k(X, 2, 7, seed=11)
    assert selection.chosen_k == 4
    assert [row.k for row in selection.rows] == [2, 3, 4, 5, 6, 7]
    assert selection.stability_ari == pytest.approx(1.0)
    assert selection.sample_size == 600 and selection.seed == 11
    best = max(selection.rows, key=lambda row: row.silhouette)
    assert best.k == 4 and best.silhouette > 0.7
    assert min(selection.rows, key=lambda row: row.davies_bouldin).k == 4
    assert selection == choose_k(X, 2, 7, seed=11)  # same seed, same everything

    sampled = choose_k(X, 2, 7, seed=11, sample_size=300)  # seeded sample
    assert sampled.chosen_k == 4 and sampled.sample_size == 300
    assert sampled == choose_k(X, 2, 7, seed=11, sample_size=300)


def test_choose_k_ties_go_to_the_smaller_k(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(choice_of_k, "mean_silhouettes", lambda X, labelings: [0.5, 0.7, 0.7, 0.2])
    assert choose_k(blobs(4, 20), 2, 5, seed=0).chosen_k == 3


def test_selection_to_table() -> None:
    selection = choose_k(blobs(4, 50), 3, 5, seed=2)
    table = selection_to_table(selection)
    assert table.column_names == [
        "k",
        "silhouette",
        "davies_bouldin",
        "inertia",
        "is_chosen",
        "stability_ari",
        "sample_size",
        "seed",
    ]
    assert table.schema.field("k").type == pa.int64()
    rows = table.to_pylist()
    assert selection.chosen_k == 4
    assert [r["k"] for r in rows] == [3, 4, 5]
    assert [r["is_chosen"] for r in rows] == [False, True, False]
    assert [r["stability_ari"] is None for r in rows] == [True, False, True]
    assert rows[1]["stability_ari"] == selection.stability_ari
    assert {r["sample_size"] for r in rows} == {200} and {r["seed"] for r in rows} == {2}


def test_choose_k_refuses_too_little_data() -> None:
    X = blobs(2, 7)  # 14 rows
    with pytest.raises(InsufficientDataError, match="at least 20 customers.*only 14"):
        choose_k(X, 2, 4, seed=0)
    repeated = np.repeat(np.eye(3), 20, axis=0)  # 60 rows, 3 distinct profiles
    with pytest.raises(InsufficientDataError, match="only 3 distinct customer profiles.*k=5"):
        choose_k(repeated, 2, 5, seed=0)
    choose_k(repeated, 2, 2, seed=0)  # k up to 2 needs 3 distinct profiles: fine
    with pytest.raises(ValueError, match="k_min must be at least 2"):
        choose_k(blobs(4, 50), 1, 4, seed=0)
    with pytest.raises(ValueError, match="must not exceed k_max"):
        choose_k(blobs(4, 50), 5, 4, seed=0)
    assert not issubclass(ValueError, InsufficientDataError)


# --------------------------------------------------------------------------------------------
# Naming
# --------------------------------------------------------------------------------------------

FLAT_SHARES = {f"family_share_{f}": 0.1 for f in CATEGORY_FAMILIES}
POPULATION = {
    "session_count": 3.0,
    "view_count": 20.0,
    "cart_count": 1.0,
    "order_count": 0.3,  # 3 orders per buyer
    "revenue": 30.0,  # 300 per buyer
    "average_basket": 10.0,  # 100 per buyer
    "cart_abandonment_rate": 0.15,
    "conversion_rate": 0.05,
    "days_active": 2.0,
    "recency_days": 40.0,
    "median_viewed_price": 100.0,
    "price_index": 1.0,
    "brand_loyalty": 0.3,
    "in_house_brand_share": 0.1,
    **FLAT_SHARES,
    "buyer_share": 0.1,
}
BROWSER = {name: value for name, value in POPULATION.items() if name != "buyer_share"} | {
    "session_count": 2.0,
    "view_count": 10.0,
    "cart_count": 0.0,
    "order_count": 0.0,
    "revenue": 0.0,
    "average_basket": 0.0,
    "cart_abandonment_rate": 0.0,
    "conversion_rate": 0.0,
}
BUYER = {**BROWSER, "order_count": 1.2, "revenue": 120.0, "average_basket": 100.0}
HOME = {**FLAT_SHARES, "family_share_home": 0.46, "family_share_kids": 0.06}
TECH = {**FLAT_SHARES, "family_share_computers": 0.5, "family_share_mobile": 0.02}


def centroids(*profiles: dict[str, float]) -> dict[str, np.ndarray]:
    return {name: np.array([p[name] for p in profiles]) for name in BROWSER}


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({**BUYER, "order_count": 6, "revenue": 900, "session_count": 12}, "High-value buyers"),
        ({**BUYER, "order_count": 2, "revenue": 250, "recency_days": 100}, "Lapsed buyers"),
        ({**BUYER, "order_count": 5, "revenue": 400}, "Loyal buyers"),
        (BUYER, "Buyers"),
        ({**BUYER, "price_index": 1.5, **TECH}, "Premium computer buyers"),
        ({**BUYER, "price_index": 0.7, **HOME}, "Budget home & kitchen buyers"),
        ({**BROWSER, "order_count": 0.2, "revenue": 20.0, **HOME}, "Home & kitchen shoppers"),
        ({**BROWSER, "order_count": 0.09, "revenue": 9.0}, "Browsers"),
        ({**BROWSER, "cart_count": 2, "cart_abandonment_rate": 0.9}, "Cart abandoners"),
        ({**BROWSER, "view_count": 80, "session_count": 6}, "Window shoppers"),
        (
            {**BROWSER, "view_count": 80, "price_index": 0.8, **HOME},
            "Budget home & kitchen window shoppers",
        ),
        ({**BROWSER, "view_count": 5, "recency_days": 120}, "Lapsed browsers"),
        ({**BROWSER, "recency_days": 5, "days_active": 1}, "New browsers"),
        (BROWSER, "Browsers"),
        # a family share below 0.3, or below 1.5 x the population's, is not a favourite
        ({**BROWSER, "family_share_home": 0.29}, "Browsers"),
        ({**BROWSER, "price_index": 1.19, "family_share_home": 0.3}, "Home & kitchen browsers"),
    ],
)
def test_naming_rules(profile: dict[str, float], expected: str) -> None:
    assert name_segments(centroids(profile), POPULATION, family_labels=FAMILY_LABELS) == [expected]


def test_a_segment_with_most_of_the_revenue_is_high_value_even_when_lapsed() -> None:
    # two clusters of ordinary buyers: the bigger one holds 90 % of the revenue
    profiles = centroids(BUYER, {**BUYER, "recency_days": 100})
    assert name_segments(profiles, POPULATION) == ["Buyers", "Lapsed buyers"]
    labels = describe_segments(profiles, POPULATION, sizes=[9, 1])
    assert [label.role for label in labels] == ["high_value_buyers", "lapsed_buyers"]
    labels = describe_segments(profiles, POPULATION, sizes=[1, 9])
    assert [label.name for label in labels] == ["Buyers", "High-value buyers"]
    for label in labels:
        assert "occasional" not in label.name.lower()
    # a cluster with few buyers but most of the revenue is not called browsers
    few = centroids({**BROWSER, "order_count": 0.05, "revenue": 50.0}, BROWSER)
    assert name_segments(few, POPULATION, sizes=[5, 5]) == ["Shoppers", "Browsers"]


def test_every_role_has_an_action_from_the_seed() -> None:
    assert set(ROLES) == {value for part, value in ACTION_COPY if part == "role"}
    for role in ROLES:
        assert len(suggested_action(SegmentLabel(role, None, None, role), ACTION_COPY)) > 20
    lapsed = SegmentLabel("lapsed_buyers", None, None, "Lapsed buyers")
    assert "win-back" in suggested_action(lapsed, ACTION_COPY).lower()
    premium_tech = SegmentLabel("buyers", "premium", "computers", "Premium computer buyers")
    action = suggested_action(premium_tech, ACTION_COPY, FAMILY_LABELS)
    assert action.startswith(ACTION_COPY[("role", "buyers")])
    assert ACTION_COPY[("price", "premium")] in action
    assert action.endswith("Lead with computer products.")
    table = pacsv.read_csv(SEEDS / "segment_actions.csv")
    with pytest.raises(ValueError, match="no action for role:lapsed_browsers"):
        action_copy_from_table(
            table.filter(pa.compute.not_equal(table["profile_value"], "lapsed_browsers"))
        )


def test_alike_clusters_get_unique_descriptive_names() -> None:
    two = name_segments(
        centroids({**BROWSER, "view_count": 80}, {**BROWSER, "view_count": 60}), POPULATION
    )
    assert two == ["Window shoppers (more views)", "Window shoppers (fewer views)"]

    three = name_segments(
        centroids(*({**BROWSER, "view_count": v} for v in (50, 90, 70))), POPULATION
    )
    assert three == [
        "Window shoppers (fewest views)",
        "Window shoppers (most views)",
        "Window shoppers (mid views)",
    ]

    # two middles differ only in recency: the qualifier recurses on the next feature
    four = name_segments(
        centroids(
            {**BROWSER, "view_count": 90},
            {**BROWSER, "view_count": 70, "recency_days": 10},
            {**BROWSER, "view_count": 70, "recency_days": 30},
            {**BROWSER, "view_count": 50},
        ),
        POPULATION,
    )
    assert len(set(four)) == 4
    assert four[1] == "Window shoppers (mid views, more recent)"
    assert four[2] == "Window shoppers (mid views, less recent)"
    assert all(not any(ch.isdigit() for ch in name) for name in four)


def test_names_tell_apart_by_the_biggest_difference_relative_to_the_population() -> None:
    # revenue differs by 30 (population 30), views by 10 (population 20): spend wins
    names = name_segments(
        centroids({**BUYER, "revenue": 150, "view_count": 20}, {**BUYER, "view_count": 30}),
        POPULATION,
    )
    assert names == ["Buyers (higher spend)", "Buyers (lower spend)"]
    # two fashion browsers apart in their share of fashion: the family words say it
    names = name_segments(
        centroids(
            {**BROWSER, "family_share_fashion": 0.5},
            {**BROWSER, "family_share_fashion": 0.9},
        ),
        POPULATION,
        family_labels=FAMILY_LABELS,
    )
    assert names == ["Fashion browsers (less fashion)", "Fashion browsers (more fashion)"]


def test_identical_centroids_still_get_unique_names() -> None:
    names = name_segments(centroids(BROWSER, BROWSER, {**BROWSER, "view_count": 80}), POPULATION)
    assert len(set(names)) == 3


def test_name_segments_is_deterministic_and_checks_its_inputs() -> None:
    profiles = centroids(BUYER, BROWSER, {**BROWSER, "view_count": 80})
    assert name_segments(profiles, POPULATION) == name_segments(profiles, POPULATION)
    with pytest.raises(ValueError, match="revenue"):
        name_segments({k: v for k, v in profiles.items() if k != "revenue"}, POPULATION)
    with pytest.raises(ValueError, match="buyer_share"):
        name_segments(profiles, {k: v for k, v in POPULATION.items() if k != "buyer_share"})


# --------------------------------------------------------------------------------------------
# fit, persist, assign
# --------------------------------------------------------------------------------------------


def test_fit_segments_finds_and_names_the_personas(shop: pa.Table, shop_model) -> None:
    model = shop_model
    assert model.k == 4 and model.seed == 7 and model.feature_names == SEGMENT_FEATURES
    revenue = model.centroids_raw_by_feature()["revenue"]
    assert np.all(np.diff(revenue) <= 0)  # canonical order: revenue descending
    by_name = dict(zip(model.names, model.sizes.tolist(), strict=True))
    assert by_name == {
        "High-value premium computer buyers": 60,
        "Lapsed budget tech accessory buyers": 90,
        "Fashion window shoppers": 150,
        "Home & kitchen browsers": 300,
    }
    labels = describe_segments(
        model.centroids_raw_by_feature(), seg.population_profile(shop), model.sizes, FAMILY_LABELS
    )
    assert model.actions == tuple(suggested_action(x, ACTION_COPY, FAMILY_LABELS) for x in labels)
    assert "win-back" in model.actions[1].lower() and "price drops" in model.actions[1].lower()
    assert model.centroids.shape == model.centroids_raw.shape == (4, len(SEGMENT_FEATURES))
    with pytest.raises(ValueError):
        model.centroids[0, 0] = 1.0  # read-only


def test_fit_is_deterministic_and_ids_are_canonical(shop: pa.Table, shop_model) -> None:
    permuted = shop.take(np.random.default_rng(9).permutation(shop.num_rows))
    again = fit(permuted, 4, seed=7)
    assert again.names == shop_model.names
    np.testing.assert_array_equal(again.centroids, shop_model.centroids)
    np.testing.assert_array_equal(again.centroids_raw, shop_model.centroids_raw)
    first = assign_segments(shop, shop_model)
    second = assign_segments(permuted, again)
    assert dict(
        zip(first["user_id"].to_pylist(), first["segment_id"].to_pylist(), strict=True)
    ) == (dict(zip(second["user_id"].to_pylist(), second["segment_id"].to_pylist(), strict=True)))


def test_assign_segments_output(shop: pa.Table, shop_model) -> None:
    assigned = assign_segments(shop, shop_model)
    assert assigned.schema == pa.schema(
        [
            ("user_id", pa.int64()),
            ("segment_id", pa.int64()),
            ("segment_name", pa.string()),
            ("distance_to_centroid", pa.float64()),
        ]
    )
    assert assigned["user_id"].to_pylist() == shop["user_id"].to_pylist()  # input row order
    counts = np.bincount(assigned["segment_id"].to_numpy(), minlength=4)
    np.testing.assert_array_equal(counts, shop_model.sizes)
    ids = assigned["segment_id"].to_numpy()
    assert assigned["segment_name"].to_pylist() == [shop_model.names[i] for i in ids]
    # distances are the Euclidean distances to the centroid, in feature_matrix space
    user_ids, X = feature_matrix(shop)
    position = {u: i for i, u in enumerate(user_ids.tolist())}
    rows = X[[position[u] for u in assigned["user_id"].to_pylist()]]
    expected = np.linalg.norm(rows - shop_model.centroids[ids], axis=1)
    np.testing.assert_allclose(assigned["distance_to_centroid"].to_numpy(), expected, rtol=1e-12)


def test_nearest_centroid_matches_the_naive_computation() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1001, 11))
    centroids = rng.normal(size=(6, 11))
    squared = ((X[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    labels, distances = nearest_centroid(X, centroids)
    np.testing.assert_array_equal(labels, squared.argmin(axis=1))
    np.testing.assert_allclose(distances, np.sqrt(squared.min(axis=1)), rtol=1e-9)
    assert labels.dtype == np.int64 and nearest_centroid(X[:0], centroids)[0].shape == (0,)


def test_model_table_round_trip_gives_identical_assignments(shop: pa.Table, shop_model) -> None:
    table = model_to_table(shop_model)
    assert table.num_rows == 4
    for column in ("segment_id", "segment_name", "suggested_action", "segment_size", "k", "seed"):
        assert column in table.column_names
    for feature in SEGMENT_FEATURES:
        for prefix in (
            "centroid_",
            "scaled_",
            "scaler_mean_",
            "scaler_std_",
            "scaler_weight_",
            "scaler_pseudo_views_",
            "scaler_transform_",
        ):
            assert prefix + feature in table.column_names
    assert table["segment_name"].to_pylist() == list(shop_model.names)

    restored = model_from_table(table.take([2, 0, 3, 1]))  # row order does not matter
    assert restored.names == shop_model.names and restored.actions == shop_model.actions
    assert restored.transforms == shop_model.transforms and restored.k == 4
    assert restored.seed == 7
    np.testing.assert_array_equal(restored.pseudo_views, shop_model.pseudo_views)
    np.testing.assert_array_equal(restored.centroids, shop_model.centroids)
    np.testing.assert_array_equal(restored.means, shop_model.means)
    np.testing.assert_array_equal(restored.stds, shop_model.stds)
    np.testing.assert_array_equal(restored.weights, shop_model.weights)
    np.testing.assert_array_equal(restored.sizes, shop_model.sizes)
    assert assign_segments(shop, restored).equals(assign_segments(shop, shop_model))


def test_model_from_table_rejects_broken_tables(shop_model) -> None:
    table = model_to_table(shop_model)
    with pytest.raises(ValueError, match="scaler_std_revenue"):
        model_from_table(table.drop_columns(["scaler_std_revenue"]))
    with pytest.raises(ValueError, match="0..k-1"):
        model_from_table(table.slice(1))
    with pytest.raises(ValueError, match="differs between segments"):
        broken = table.set_column(
            table.schema.get_field_index("scaler_mean_revenue"),
            "scaler_mean_revenue",
            pa.array([1.0, 2.0, 3.0, 4.0]),
        )
        model_from_table(broken)


def test_assign_new_customers_with_nulls_and_decimals(shop_model) -> None:
    table = tiny_table(
        revenue=pa.array(
            [Decimal("300.00"), Decimal("0.00"), Decimal("0.00")], pa.decimal128(12, 2)
        )
    )
    assigned = assign_segments(table, shop_model)
    assert assigned["user_id"].to_pylist() == [30, 10, 20]
    assert all(0 <= i < 4 for i in assigned["segment_id"].to_pylist())
    assert np.isfinite(assigned["distance_to_centroid"].to_numpy()).all()
    # the buyer with 3 orders and recent activity lands with the buyers, not the browsers
    assert assigned["segment_name"][0].as_py() in set(shop_model.names[:2])


def test_fit_segments_refuses_bad_k_and_too_few_profiles() -> None:
    table = customers({"casual": 5}, seed=1)
    with pytest.raises(ValueError, match="k must be at least 2"):
        fit(table, 1, seed=0)
    with pytest.raises(InsufficientDataError, match="distinct customer profiles"):
        fit(table, 6, seed=0)


# --------------------------------------------------------------------------------------------
# Agreement with the true personas of a generated shop
# --------------------------------------------------------------------------------------------


def write_personas(folder: Path, table: pa.Table, persona_of: dict[int, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    users = table["user_id"].to_pylist()
    pacsv.write_csv(
        pa.table({"user_id": users, "persona": [persona_of[u] for u in users]}),
        folder / "user_personas.csv",
    )
    return folder


def test_quality_reports_the_persona_agreement_only_with_a_ground_truth(tmp_path: Path) -> None:
    groups = {"loyal": 60, "window": 150, "casual": 300, "lapsed": 90}
    table = customers(groups)
    persona_of: dict[int, str] = {}
    users = iter(table["user_id"].to_pylist())
    for persona, count in groups.items():
        for _ in range(count):
            persona_of[next(users)] = persona
    without = build_quality(table, 4, 6, seed=7, sample_size=400)
    assert without["persona_ari"].null_count == 3
    assert without["persona_visitor_count"].null_count == 3

    truth = write_personas(tmp_path / "ground_truth", table, persona_of)
    quality = build_quality(table, 4, 6, seed=7, sample_size=400, ground_truth_path=str(truth))
    rows = {row["k"]: row for row in quality.to_pylist()}
    # most casual visitors have fewer than 5 events: they do not count
    events = dict(zip(table["user_id"].to_pylist(), table["event_count"].to_pylist(), strict=True))
    assert min(events[u] for u in persona_of if persona_of[u] == "casual") < 5
    visitors = rows[4]["persona_visitor_count"]
    assert 0 < visitors < 400 and {r["persona_visitor_count"] for r in rows.values()} == {visitors}
    # four personas, four clusters: found exactly
    assert rows[4]["persona_ari"] == pytest.approx(1.0)
    assert all(r["persona_ari"] is not None for r in rows.values())
    # the ground truth never changes the choice of k or any score
    assert quality.select(without.column_names[:8]).equals(without.select(without.column_names[:8]))


def test_persona_agreement_by_hand() -> None:
    table = customers({"loyal": 10, "window": 10}, seed=3)
    _, X = feature_matrix(table)
    selection = choose_k(X, 2, 3, seed=1)
    ids = sorted(table["user_id"].to_pylist())
    personas = pa.table({"user_id": ids[:15], "persona": ["a"] * 10 + ["b"] * 5})
    scores, visitors = persona_agreement(table, selection, personas)
    assert visitors == 15  # five visitors have no persona
    assert scores[0] == pytest.approx(1.0)  # k=2 splits loyal from window shoppers
    lonely = pa.table({"user_id": ids[:1], "persona": ["a"]})
    assert persona_agreement(table, selection, lonely) == ([None, None], 1)


def test_ground_truth_path_errors_are_readable(tmp_path: Path) -> None:
    assert read_personas("") is None and read_personas(None) is None and read_personas("  ") is None
    with pytest.raises(ValueError, match="segmentation_ground_truth_path.*does not exist"):
        read_personas(str(tmp_path / "nowhere"))
    (tmp_path / "user_personas.csv").write_text("user_id,type\n1,a\n")
    with pytest.raises(ValueError, match="lacks column.*persona"):
        read_personas(str(tmp_path))


# --------------------------------------------------------------------------------------------
# Evidence: the taste of visitors with few views is shrunk, and they are not fitted on
# --------------------------------------------------------------------------------------------


def test_taste_is_shrunk_by_the_evidence_and_checked_for_its_domain() -> None:
    factors = features.evidence_factors(np.array([0.0, 5.0, 45.0]), np.array([0.0, 5.0]))
    np.testing.assert_allclose(factors, [[1.0, 0.0], [1.0, 0.5], [1.0, 0.9]])
    with pytest.raises(ValueError, match="price_index must be positive.*user_id 10"):
        feature_matrix(tiny_table(price_index=pa.array([1.6, 0.0, None])))
    with pytest.raises(ValueError, match="family_share_home must not be negative"):
        feature_matrix(tiny_table(family_share_home=pa.array([0.0, -0.1, None])))


def test_choose_k_fits_only_the_flagged_rows_and_labels_every_sampled_row() -> None:
    X = blobs(3, 100, seed=4)
    flags = np.ones(len(X), dtype=bool)
    flags[::4] = False  # a quarter of the rows are not fitted on
    selection = choose_k(X, 2, 4, seed=5, fit_rows=flags)
    assert selection.sample_size == int(flags.sum()) == 225 and selection.chosen_k == 3
    # the unfitted rows get the label of their nearest centre: the blobs are found whole
    truth = KMeans(3, n_init=4, random_state=0).fit_predict(X)
    chosen = selection.sample_labels[[r.k for r in selection.rows].index(3)]
    assert len(chosen) == len(X)
    assert adjusted_rand_score(truth, chosen) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one flag per row"):
        choose_k(X, 2, 4, seed=5, fit_rows=flags[:10])
    with pytest.raises(InsufficientDataError, match="at least 20 customers"):
        choose_k(X, 2, 4, seed=5, fit_rows=np.arange(len(X)) < 10)


def test_visitors_with_few_views_do_not_move_the_centres(shop: pa.Table, shop_model) -> None:
    glances = customers({"casual": 40}, seed=5, user_offset=900_000)
    glances = glances.set_column(
        glances.schema.get_field_index("view_count"),
        glances.schema.field("view_count"),
        pa.array([2] * 40, glances.schema.field("view_count").type),
    )
    model = fit(pa.concat_tables([shop, glances], promote_options="default"), 4, seed=7)
    np.testing.assert_allclose(model.centroids, shop_model.centroids, atol=0.25)
    assert set(model.names) == set(shop_model.names)
    broken = model_to_table(model)
    column = "scaler_transform_revenue"
    broken = broken.set_column(
        broken.schema.get_field_index(column), column, pa.array(["cube"] * 4)
    )
    with pytest.raises(ValueError, match="unknown feature transform.*cube"):
        model_from_table(broken)
