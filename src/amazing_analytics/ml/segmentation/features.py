"""The segmentation's feature matrix: which columns of ``customer_features``, how each is filled,
transformed and scaled, and how the feature groups are weighted so that none dominates.

Four groups of features describe a visitor:

=============  ===============================================================================
group          features
=============  ===============================================================================
behaviour      sessions, views, carts, orders, revenue, basket, abandonment, conversion,
               active days, recency (what the visitor does: RFM and the funnel)
category       share of the categorised views in each family of seed category_families
price          price_index (viewed prices against each category's typical price) and the
               median viewed price
brand          brand loyalty (share of the branded views on the favourite brand) and the share
               of the branded views on the in-house brand (var focus_brand)
=============  ===============================================================================

Each column is filled (a null means "none" for counts, amounts and rates: 0; "unknown" for
recency, prices, shares and brand figures: the population mean, so its scaled value is exactly
0), heavy-tailed counts and amounts become ``log1p(x)``, then every column is standardised
(sklearn's ``StandardScaler``: population mean and std) and multiplied by its group weight
``sqrt(GROUP_WEIGHTS[group] / top eigenvalue of the group's covariance)``. The leading
direction of every group then has the same variance, whatever the number of its columns and
however much they move together: the ten correlated behaviour columns (mostly one activity
direction) do not outvote the category shares or the two brand columns.

NaN in a float column counts as null. Counts and amounts (the ``log1p`` features) must not be
negative and no value may be infinite: both raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.preprocessing import StandardScaler

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.guards import InsufficientDataError

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
    "price": ("price_index", "median_viewed_price"),
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
#: Heavy-tailed counts and amounts (and the price ratio): scaled as ``log1p(x)``.
LOG1P_FEATURES: frozenset[str] = frozenset(
    {
        "session_count",
        "view_count",
        "cart_count",
        "order_count",
        "revenue",
        "average_basket",
        "days_active",
        "median_viewed_price",
        "price_index",
    }
)
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
    scaled: np.ndarray  # float64 (n, f), weighted
    means: np.ndarray  # float64 (f,), log space for log1p features
    stds: np.ndarray  # float64 (f,), 0 for a constant column
    weights: np.ndarray  # float64 (f,), the group weight of each column


def _check_columns(table: pa.Table, feature_names: Sequence[str]) -> None:
    missing = [name for name in ("user_id", *feature_names) if name not in table.column_names]
    if missing:
        raise InsufficientDataError(
            "the customer features table is missing the column(s) "
            + ", ".join(missing)
            + " needed for segmentation"
        )
    no_rule = [n for n in feature_names if n not in ZERO_FILL_FEATURES | MEAN_FILL_FEATURES]
    if no_rule:
        raise ValueError(f"no null-fill rule for feature(s): {', '.join(no_rule)}")


def _user_ids(table: pa.Table) -> np.ndarray:
    column = table.column("user_id")
    if column.null_count:
        raise ValueError(f"user_id has {column.null_count} null value(s)")
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def read_raw(table: pa.Table, feature_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(user_ids, raw): zero fills applied; mean-fill features keep NaN where unknown."""
    _check_columns(table, feature_names)
    user_ids = _user_ids(table)
    raw = np.empty((table.num_rows, len(feature_names)), dtype=np.float64)
    for j, name in enumerate(feature_names):
        values = numeric_column(table, name)
        if np.isinf(values).any():
            raise ValueError(f"{name} has infinite value(s)")
        negative = values < 0
        if name in LOG1P_FEATURES and negative.any():
            example = int(user_ids[np.flatnonzero(negative)[0]])
            raise ValueError(
                f"{name} must not be negative: {int(negative.sum())} row(s), e.g. user_id {example}"
            )
        if name in ZERO_FILL_FEATURES:
            values[np.isnan(values)] = 0.0
        raw[:, j] = values
    return user_ids, raw


def to_model_space(raw: np.ndarray, log1p: Sequence[bool]) -> np.ndarray:
    """Apply ``log1p`` to the flagged columns (NaN stays NaN)."""
    out = raw.copy()
    for j, flag in enumerate(log1p):
        if flag:
            np.log1p(out[:, j], out=out[:, j])
    return out


def fit_scaler(logged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """StandardScaler's population mean and std (ddof=0) per column over the known values.

    A column without a known value gets mean 0, a constant column std 0 (its scaled value is 0).
    """
    known_any = ~np.all(np.isnan(logged), axis=0)
    means = np.zeros(logged.shape[1])
    stds = np.zeros(logged.shape[1])
    if known_any.any():
        scaler = StandardScaler().fit(logged[:, known_any])  # NaN: left out of the fit
        means[known_any] = scaler.mean_
        stds[known_any] = np.sqrt(scaler.var_)
    return means, stds


def scale(
    logged: np.ndarray, means: np.ndarray, stds: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Weighted z-score; a zero-std column and the unknown (NaN) values become exactly 0."""
    varying = stds > 0
    scaler = StandardScaler()
    scaler.mean_ = means
    scaler.var_ = np.square(stds)
    scaler.scale_ = np.where(varying, stds, 1.0)
    scaler.n_features_in_ = logged.shape[1]
    scaled = scaler.transform(logged) if logged.shape[0] else np.zeros_like(logged)
    scaled[:, ~varying] = 0.0
    scaled[np.isnan(scaled)] = 0.0
    scaled *= weights
    scaled += 0.0  # no negative zeros: equal profiles have equal bytes
    return scaled


def prepare(
    features: ArrowData, feature_names: Sequence[str] = SEGMENT_FEATURES
) -> PreparedFeatures:
    """Read, order by user_id, check uniqueness, transform and scale the features."""
    features = as_table(features)
    if features.num_rows == 0:
        raise InsufficientDataError("the customer features table has no rows")
    user_ids, raw = read_raw(features, feature_names)
    order = np.argsort(user_ids, kind="stable")
    user_ids = user_ids[order]
    raw = raw[order]
    repeated = user_ids[1:] == user_ids[:-1]
    if repeated.any():
        raise ValueError(
            f"user_id must be unique: {int(repeated.sum())} repeated value(s), "
            f"e.g. {int(user_ids[1:][repeated][0])}"
        )
    logged = to_model_space(raw, [name in LOG1P_FEATURES for name in feature_names])
    means, stds = fit_scaler(logged)
    standardised = scale(logged, means, stds, np.ones(len(feature_names)))
    weights = group_weights(standardised, feature_names)
    scaled = standardised * weights + 0.0  # no negative zeros
    return PreparedFeatures(user_ids, raw, scaled, means, stds, weights)


def feature_matrix(features: ArrowData) -> tuple[np.ndarray, np.ndarray]:
    """(user_ids, X): the :data:`SEGMENT_FEATURES` of each customer, scaled for clustering.

    Rows are ordered by ``user_id`` ascending (so the result does not depend on the row order
    of the input). Nulls are filled as in the module docstring, :data:`LOG1P_FEATURES` become
    ``log1p(x)``, then each column is standardised with the population mean and std (ddof=0)
    of this table and multiplied by its group weight (:func:`group_weights`); a constant
    column stays 0 and an unknown value is exactly 0. Decimal columns are cast to float64;
    other columns of the table are ignored. A RecordBatchReader (what ``dbt.ref(...).arrow()``
    gives with duckdb 2.0) or RecordBatch is accepted as well.

    Raises:
        InsufficientDataError: no rows, or a required column is missing.
        ValueError: null or repeated user_id, negative counts/amounts, infinite values.
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
