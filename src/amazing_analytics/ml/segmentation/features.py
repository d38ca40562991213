"""The segmentation's feature matrix: which columns of ``customer_features``, how each is filled,
transformed and scaled, and how the feature groups are weighted so that none dominates.

Four groups of features describe a visitor:

=============  ===============================================================================
group          features
=============  ===============================================================================
behaviour      sessions, views, carts, orders, revenue, basket, abandonment, conversion,
               active days, recency (what the visitor does: RFM and the funnel)
category       share of the categorised views in each family of seed category_families
price          price_index (viewed prices against each category's typical price)
brand          brand loyalty (share of the branded views on the favourite brand) and the share
               of the branded views on the in-house brand (var focus_brand)
=============  ===============================================================================

The median viewed price is not a clustering feature: it mostly says which departments a
visitor views (a computer costs more than a cable), which the category group already holds; the
price index says how expensive a visitor's picks are *within* their departments.

Each column is filled (a null means "none" for counts, amounts and rates: 0; "unknown" for
recency, prices, shares and brand figures: the population mean, so its scaled value is exactly
0), then transformed (:data:`TRANSFORMS`): heavy-tailed counts and amounts ``log1p(x)``, the price
index ``log(x)`` (a ratio: half and twice as expensive are equally far from typical), the family
shares ``sqrt(x)`` (the Hellinger embedding of a composition: a share moving from 1 % to 5 % is
as telling as one from 50 % to 70 %). Every column is then standardised (sklearn's
``StandardScaler``: population mean and std of the transformed known values).

The taste groups (category, price, brand) are estimates from a visitor's own views, and a
visitor with three views has a very noisy one. Their z-scores are shrunk towards the population
(0) by the evidence factor ``n / (n + TASTE_PSEUDO_VIEWS)``, ``n`` = the visitor's views: the
population counts as :data:`TASTE_PSEUDO_VIEWS` views of prior (the posterior mean of a visitor's
taste, as in empirical-Bayes shrinkage of rates). Then every column is multiplied by its group
weight ``sqrt(GROUP_WEIGHTS[group] / top eigenvalue of the group's covariance)``. The leading
direction of every group then has the same variance, whatever the number of its columns and
however much they move together: the ten correlated behaviour columns (mostly one activity
direction) do not outvote the category shares or the two brand columns.

The clusters are fitted on the visitors whose own views at least equal the prior
(``view_count >= TASTE_PSEUDO_VIEWS``, :attr:`PreparedFeatures.fit_rows`); everybody is then
assigned to the nearest centre. Visitors with fewer views sit near the population centre in the
taste groups and would otherwise pull every centre towards it.

NaN in a float column counts as null. Counts, amounts and shares must not be negative, the price
index must be positive, and no value may be infinite: each raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.guards import InsufficientDataError, require_columns
from amazing_analytics.ml.segmentation.scaling import (
    evidence_factors,
    fit_scaler,
    scale,
    to_model_space,
)

#: Families of seed category_families, in the column order of the family_share_<family> features.
CATEGORY_FAMILIES: tuple[str, ...] = (
    "mobile",
    "computers",
    "tech_accessories",
    "audio",
    "tv_video",
    "home",
    "kids",
    "fashion",
    "sport_outdoor",
    "diy_auto",
    "other",
)

#: Feature groups, each a tuple of customer_features columns (the matrix column order).
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "behaviour": (
        "session_count",
        "view_count",
        "cart_count",
        "order_count",
        "revenue",
        "average_basket",
        "cart_abandonment_rate",
        "conversion_rate",
        "days_active",
        "recency_days",
    ),
    "category": tuple(f"family_share_{family}" for family in CATEGORY_FAMILIES),
    "price": ("price_index",),
    "brand": ("brand_loyalty", "in_house_brand_share"),
}
#: Variance of each group's leading direction in the scaled matrix: equal, so none dominates.
GROUP_WEIGHTS: dict[str, float] = {"behaviour": 1.0, "category": 1.0, "price": 1.0, "brand": 1.0}

#: Columns of ``customer_features`` used for clustering, in matrix column order.
SEGMENT_FEATURES: tuple[str, ...] = tuple(
    name for group in FEATURE_GROUPS.values() for name in group
)
#: The group of each feature.
FEATURE_GROUP_OF: dict[str, str] = {
    name: group for group, names in FEATURE_GROUPS.items() for name in names
}
#: Heavy-tailed counts and amounts: scaled as ``log1p(x)``.
LOG1P_FEATURES: frozenset[str] = frozenset(
    {
        "session_count",
        "view_count",
        "cart_count",
        "order_count",
        "revenue",
        "average_basket",
        "days_active",
    }
)
#: The transform of each feature before standardising: ``log1p``, ``log`` (the price ratio),
#: ``sqrt`` (the family shares) or ``identity``.
TRANSFORMS: dict[str, str] = {
    name: "log1p"
    if name in LOG1P_FEATURES
    else "log"
    if name == "price_index"
    else "sqrt"
    if name.startswith("family_share_")
    else "identity"
    for name in SEGMENT_FEATURES
}
TRANSFORM_NAMES: frozenset[str] = frozenset({"log1p", "log", "sqrt", "identity"})
#: Groups estimated from a visitor's own views: shrunk towards the population by the evidence.
TASTE_GROUPS: frozenset[str] = frozenset({"category", "price", "brand"})
#: Views of prior the population counts for in a visitor's taste (the pseudo-count of the
#: shrinkage), and the fewest views of a visitor the clusters are fitted on.
TASTE_PSEUDO_VIEWS = 5.0
#: The feature that counts a visitor's evidence (their views).
EVIDENCE_FEATURE = "view_count"
#: Per feature, the pseudo-count of its shrinkage (0: not shrunk).
PSEUDO_VIEWS: dict[str, float] = {
    name: TASTE_PSEUDO_VIEWS if group in TASTE_GROUPS else 0.0
    for group, names in FEATURE_GROUPS.items()
    for name in names
}
#: Null means "none": filled with 0 before scaling.
ZERO_FILL_FEATURES: frozenset[str] = frozenset(
    {
        "session_count",
        "view_count",
        "cart_count",
        "order_count",
        "revenue",
        "average_basket",
        "cart_abandonment_rate",
        "conversion_rate",
        "days_active",
    }
)
#: Null means "unknown": the population mean (scaled value exactly 0).
MEAN_FILL_FEATURES: frozenset[str] = frozenset(SEGMENT_FEATURES) - ZERO_FILL_FEATURES


def group_weights(standardised: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
    """Per feature, ``sqrt(group weight / top eigenvalue of its group's covariance)``.

    After the weighting, the leading principal direction of every group has a variance of
    the group's weight (1 each): no group dominates. Weighting by the number of columns
    instead would still let the ten behaviour columns, which mostly move together (one
    activity direction holds over half of their variance), outvote the category shares,
    which spread over many directions. A group without variance gets weight 0.
    """
    groups = [FEATURE_GROUP_OF.get(name, name) for name in feature_names]
    weights = np.zeros(len(feature_names))
    for group in dict.fromkeys(groups):
        columns = [j for j, g in enumerate(groups) if g == group]
        block = standardised[:, columns]
        if block.shape[0] < 2:
            continue
        covariance = np.atleast_2d(np.cov(block, rowvar=False, ddof=0))
        top = float(np.linalg.eigvalsh(covariance)[-1])
        if top > 1e-12:
            weights[columns] = np.sqrt(GROUP_WEIGHTS.get(group, 1.0) / top)
    return weights


@dataclass(frozen=True)
class PreparedFeatures:
    """Rows ordered by user_id: raw (filled) values, the scaled matrix and the scaler."""

    user_ids: np.ndarray  # int64 (n,)
    raw: np.ndarray  # float64 (n, f), mean-fill features keep NaN where unknown
    scaled: np.ndarray  # float64 (n, f), shrunk and weighted
    means: np.ndarray  # float64 (f,), of the transformed values
    stds: np.ndarray  # float64 (f,), 0 for a constant column
    weights: np.ndarray  # float64 (f,), the group weight of each column
    fit_rows: np.ndarray  # bool (n,), the visitors the clusters are fitted on


def _check_columns(table: pa.Table, feature_names: Sequence[str]) -> None:
    require_columns(
        table,
        ["user_id", *feature_names],
        "the customer features table given to segmentation",
        error=InsufficientDataError,
    )
    no_rule = [n for n in feature_names if n not in ZERO_FILL_FEATURES | MEAN_FILL_FEATURES]
    if no_rule:
        raise ValueError(f"no null-fill rule for feature(s): {', '.join(no_rule)}")


def _user_ids(table: pa.Table) -> np.ndarray:
    column = table.column("user_id")
    if column.null_count:
        raise ValueError(f"user_id has {column.null_count} null value(s)")
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def read_raw(
    table: pa.Table,
    feature_names: Sequence[str],
    transforms: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(user_ids, raw): zero fills applied; mean-fill features keep NaN where unknown.

    ``transforms`` (default: :data:`TRANSFORMS` of each feature) decides the domain check:
    ``log1p`` and ``sqrt`` features must not be negative, ``log`` features must be positive.
    """
    _check_columns(table, feature_names)
    if transforms is None:
        transforms = [TRANSFORMS.get(name, "identity") for name in feature_names]
    user_ids = _user_ids(table)
    raw = np.empty((table.num_rows, len(feature_names)), dtype=np.float64)
    for j, (name, transform) in enumerate(zip(feature_names, transforms, strict=True)):
        values = numeric_column(table, name)
        if np.isinf(values).any():
            raise ValueError(f"{name} has infinite value(s)")
        outside, rule = np.zeros(values.shape, dtype=bool), ""
        if transform in ("log1p", "sqrt"):
            outside, rule = values < 0, "must not be negative"
        elif transform == "log":
            outside, rule = values <= 0, "must be positive"
        if outside.any():
            example = int(user_ids[np.flatnonzero(outside)[0]])
            raise ValueError(f"{name} {rule}: {int(outside.sum())} row(s), e.g. user_id {example}")
        if name in ZERO_FILL_FEATURES:
            values[np.isnan(values)] = 0.0
        raw[:, j] = values
    return user_ids, raw


def evidence_views(raw: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
    """The views of each row (column :data:`EVIDENCE_FEATURE`; zeros when it is absent and no
    feature is shrunk)."""
    names = list(feature_names)
    if EVIDENCE_FEATURE in names:
        return np.nan_to_num(raw[:, names.index(EVIDENCE_FEATURE)], nan=0.0)
    return np.zeros(raw.shape[0])


def prepare(
    features: ArrowData, feature_names: Sequence[str] = SEGMENT_FEATURES
) -> PreparedFeatures:
    """Read, order by user_id, check uniqueness, transform, scale, shrink and weigh."""
    features = as_table(features)
    if features.num_rows == 0:
        raise InsufficientDataError("the customer features table has no rows")
    transforms = [TRANSFORMS.get(name, "identity") for name in feature_names]
    pseudo = np.array([PSEUDO_VIEWS.get(name, 0.0) for name in feature_names])
    if (pseudo > 0).any() and EVIDENCE_FEATURE not in feature_names:
        raise ValueError(f"shrunk taste features need {EVIDENCE_FEATURE} among the features")
    user_ids, raw = read_raw(features, feature_names, transforms)
    order = np.argsort(user_ids, kind="stable")
    user_ids = user_ids[order]
    raw = raw[order]
    repeated = user_ids[1:] == user_ids[:-1]
    if repeated.any():
        raise ValueError(
            f"user_id must be unique: {int(repeated.sum())} repeated value(s), "
            f"e.g. {int(user_ids[1:][repeated][0])}"
        )
    logged = to_model_space(raw, transforms)
    means, stds = fit_scaler(logged)
    views = evidence_views(raw, feature_names)
    factors = evidence_factors(views, pseudo)
    standardised = scale(logged, means, stds, np.ones(len(feature_names)), factors)
    weights = group_weights(standardised, feature_names)
    scaled = standardised * weights + 0.0  # no negative zeros
    fit_rows = views >= TASTE_PSEUDO_VIEWS if (pseudo > 0).any() else np.ones(len(views), bool)
    return PreparedFeatures(user_ids, raw, scaled, means, stds, weights, fit_rows)


def feature_matrix(features: ArrowData) -> tuple[np.ndarray, np.ndarray]:
    """(user_ids, X): the :data:`SEGMENT_FEATURES` of each customer, scaled for clustering.

    Rows are ordered by ``user_id`` ascending (so the result does not depend on the row order
    of the input). Nulls are filled as in the module docstring, each column is transformed
    (:data:`TRANSFORMS`), standardised with the population mean and std (ddof=0) of this table,
    the taste columns are multiplied by the evidence factor ``views / (views +
    TASTE_PSEUDO_VIEWS)`` and every column by its group weight (:func:`group_weights`); a
    constant column stays 0 and an unknown value is exactly 0. Decimal columns are cast to
    float64; other columns of the table are ignored. A RecordBatchReader (what
    ``dbt.ref(...).arrow()`` gives with duckdb 2.0) or RecordBatch is accepted as well.

    Raises:
        InsufficientDataError: no rows, or a required column is missing.
        ValueError: null or repeated user_id, negative counts/amounts/shares, a price index
            that is not positive, infinite values.
    """
    prepared = prepare(features)
    return prepared.user_ids, prepared.scaled


def population_profile(features: ArrowData) -> dict[str, float]:
    """The population reference of the segment names.

    The mean of each :data:`SEGMENT_FEATURES` column over all customers (after the zero fills;
    unknown values left out) and ``buyer_share``: the fraction of customers with an order.
    """
    _, raw = read_raw(as_table(features), SEGMENT_FEATURES)
    return population_means(raw, SEGMENT_FEATURES)


def population_means(raw: np.ndarray, feature_names: Sequence[str]) -> dict[str, float]:
    """Per feature the mean of the known values, plus ``buyer_share``."""
    population: dict[str, float] = {}
    for j, name in enumerate(feature_names):
        known = raw[:, j][~np.isnan(raw[:, j])]
        population[name] = float(known.mean()) if known.size else 0.0
    orders = raw[:, list(feature_names).index("order_count")]
    population["buyer_share"] = float(np.mean(orders > 0)) if orders.size else 0.0
    return population


def distinct_rows_at_least(X: np.ndarray, needed: int, block: int = 65_536) -> int:
    """The number of distinct rows of X, counted only up to ``needed`` (cheap early exit)."""
    seen: set[bytes] = set()
    width = np.dtype((np.void, X.dtype.itemsize * X.shape[1]))
    for start in range(0, X.shape[0], block):
        rows = np.ascontiguousarray(X[start : start + block] + 0.0)  # -0.0 == 0.0
        seen.update(key.tobytes() for key in np.unique(rows.view(width).ravel()))
        if len(seen) >= needed:
            break
    return len(seen)
