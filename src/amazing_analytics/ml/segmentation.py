"""Customer segmentation: KMeans on the ``customer_features`` mart, with marketing names.

Arrow in, Arrow out; numpy inside. The dbt Python models are thin wrappers around these
functions:

1. :func:`feature_matrix` turns the mart into a scaled matrix (documented null fills,
   ``log1p`` on heavy-tailed counts and amounts, z-score with the population mean/std).
2. :func:`choose_k` scores k = k_min..k_max on a seeded sample (silhouette, Davies-Bouldin,
   inertia) and checks the stability of the chosen k (adjusted Rand index of two seeds).
3. :func:`fit_segments` fits KMeans for a given k, orders the clusters canonically (revenue
   of the centroid, descending), names them (:func:`name_segments`) and attaches a marketing
   action (:func:`suggested_action`).
4. :func:`model_to_table` / :func:`model_from_table` persist the model as one Arrow row per
   segment (centroids in both spaces and the scaler), so :func:`assign_segments` needs nothing
   else to score new customers.

Determinism: rows are ordered by ``user_id`` before anything is fitted, and every random step
is seeded, so the same customers (in any row order) and the same seed give the same segments,
ids and names.

Null fills (a null means "none" for counts/amounts/rates; "unknown" for the two profile values):

=========================  ==========================================================
feature                    null becomes
=========================  ==========================================================
session/view/cart/order    0 (no such events)
revenue                    0 (no purchase)
average_basket             0 (non-buyers have no basket)
cart_abandonment_rate      0 (never carted, so nothing abandoned)
conversion_rate            0 (no converted session)
days_active                0
recency_days               the population mean: scaled value exactly 0 (neutral)
median_viewed_price        the population mean: scaled value exactly 0 (neutral)
=========================  ==========================================================

NaN in a float column counts as null. Counts and amounts (the ``log1p`` features) must not be
negative and no value may be infinite: both raise ``ValueError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score
from threadpoolctl import threadpool_limits

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column

__all__ = [
    "SEGMENT_FEATURES",
    "LOG1P_FEATURES",
    "SEGMENT_NAMES",
    "InsufficientDataError",
    "ArrowData",
    "KScore",
    "KSelection",
    "SegmentModel",
    "feature_matrix",
    "population_profile",
    "choose_k",
    "selection_to_table",
    "fit_segments",
    "name_segments",
    "suggested_action",
    "model_to_table",
    "model_from_table",
    "assign_segments",
]

#: Columns of ``customer_features`` used for clustering, in matrix column order.
SEGMENT_FEATURES: tuple[str, ...] = (
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
    "median_viewed_price",
)
#: Heavy-tailed counts and amounts: scaled as ``log1p(x)`` before the z-score.
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
MEAN_FILL_FEATURES: frozenset[str] = frozenset({"recency_days", "median_viewed_price"})

#: KMeans restarts when scoring each k on the sample, and for the final fit.
N_INIT_SELECT = 4
N_INIT_FIT = 3
#: Below this many rows KMeans runs on one thread: OpenMP/BLAS thread start-up and spinning cost
#: more than they save on small data, and far more when another process holds a core.
_PARALLEL_MIN_ROWS = 200_000
#: Rows per block when computing silhouettes (block x sample distance matrix in memory).
_SILHOUETTE_BLOCK = 256
#: Upper bound of elements of one users x k x features block in :func:`assign_segments`.
_ASSIGN_BLOCK_ELEMENTS = 1 << 22
#: Silhouettes closer than this count as a tie (the smaller k wins).
_SILHOUETTE_TIE = 1e-9


class InsufficientDataError(ValueError):
    """The data cannot support the requested clustering (too few rows, profiles or columns)."""


# --------------------------------------------------------------------------------------------
# Feature matrix
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """Rows ordered by user_id: raw (filled) values, the scaled matrix and the scaler."""

    user_ids: np.ndarray  # int64 (n,)
    raw: np.ndarray  # float64 (n, f), mean-fill features keep NaN where unknown
    scaled: np.ndarray  # float64 (n, f)
    means: np.ndarray  # float64 (f,), log space for log1p features
    stds: np.ndarray  # float64 (f,), 0 for a constant column


def _read_raw(
    table: pa.Table, feature_names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user_ids, raw, unknown): zero fills applied; ``unknown`` marks mean-fill nulls."""
    wanted = ["user_id", *feature_names]
    missing = [name for name in wanted if name not in table.column_names]
    if missing:
        raise InsufficientDataError(
            "the customer features table is missing the column(s) "
            + ", ".join(missing)
            + " needed for segmentation"
        )
    unknown_rules = [n for n in feature_names if n not in ZERO_FILL_FEATURES | MEAN_FILL_FEATURES]
    if unknown_rules:
        raise ValueError(f"no null-fill rule for feature(s): {', '.join(unknown_rules)}")
    user_column = table.column("user_id")
    if user_column.null_count:
        raise ValueError(f"user_id has {user_column.null_count} null value(s)")
    user_ids = np.asarray(
        pc.cast(user_column, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    n = table.num_rows
    raw = np.empty((n, len(feature_names)), dtype=np.float64)
    unknown = np.zeros((n, len(feature_names)), dtype=bool)
    for j, name in enumerate(feature_names):
        values = numeric_column(table, name)
        nulls = np.isnan(values)
        if np.isinf(values).any():
            raise ValueError(f"{name} has infinite value(s)")
        if name in LOG1P_FEATURES:
            negative = values < 0
            if negative.any():
                example = int(user_ids[np.flatnonzero(negative)[0]])
                raise ValueError(
                    f"{name} must not be negative: {int(negative.sum())} row(s), "
                    f"e.g. user_id {example}"
                )
        if name in ZERO_FILL_FEATURES:
            values[nulls] = 0.0
        else:
            unknown[:, j] = nulls
        raw[:, j] = values
    return user_ids, raw, unknown


def _to_model_space(raw: np.ndarray, log1p: Sequence[bool]) -> np.ndarray:
    """Apply ``log1p`` to the flagged columns (NaN stays NaN)."""
    out = raw.copy()
    for j, flag in enumerate(log1p):
        if flag:
            np.log1p(out[:, j], out=out[:, j])
    return out


def _fit_scaler(logged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Population mean and std (ddof=0) per column over the known values; constant -> std 0."""
    f = logged.shape[1]
    means = np.zeros(f)
    stds = np.zeros(f)
    for j in range(f):
        column = logged[:, j]
        known = column[~np.isnan(column)]
        if known.size == 0:
            continue
        if np.all(known == known[0]):
            means[j] = known[0]
            continue
        means[j] = known.mean()
        stds[j] = known.std()
    return means, stds


def _scale(logged: np.ndarray, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """z-score; a zero-std column and the unknown (NaN) values become exactly 0."""
    scaled = np.zeros_like(logged)
    varying = stds > 0
    scaled[:, varying] = (logged[:, varying] - means[varying]) / stds[varying]
    scaled[np.isnan(scaled)] = 0.0
    scaled += 0.0  # no negative zeros: equal profiles have equal bytes
    return scaled


def _prepare(features: pa.Table, feature_names: Sequence[str] = SEGMENT_FEATURES) -> _Prepared:
    features = as_table(features)
    if features.num_rows == 0:
        raise InsufficientDataError("the customer features table has no rows")
    user_ids, raw, _ = _read_raw(features, feature_names)
    order = np.argsort(user_ids, kind="stable")
    user_ids = user_ids[order]
    raw = raw[order]
    repeated = user_ids[1:] == user_ids[:-1]
    if repeated.any():
        raise ValueError(
            f"user_id must be unique: {int(repeated.sum())} repeated value(s), "
            f"e.g. {int(user_ids[1:][repeated][0])}"
        )
    logged = _to_model_space(raw, [name in LOG1P_FEATURES for name in feature_names])
    means, stds = _fit_scaler(logged)
    return _Prepared(user_ids, raw, _scale(logged, means, stds), means, stds)


def feature_matrix(features: ArrowData) -> tuple[np.ndarray, np.ndarray]:
    """(user_ids, X): the :data:`SEGMENT_FEATURES` of each customer, scaled for clustering.

    Rows are ordered by ``user_id`` ascending (so the result does not depend on the row order
    of the input). Nulls are filled as in the module docstring, :data:`LOG1P_FEATURES` become
    ``log1p(x)``, then each column is standardised with the population mean and std (ddof=0)
    of this table; a constant column stays 0 and an unknown value is exactly 0. Decimal columns
    are cast to float64; other columns of the table are ignored. A RecordBatchReader (what
    ``dbt.ref(...).arrow()`` gives with duckdb 2.0) or RecordBatch is accepted as well.

    Raises:
        InsufficientDataError: no rows, or a required column is missing.
        ValueError: null or repeated user_id, negative counts/amounts, infinite values.
    """
    prepared = _prepare(features)
    return prepared.user_ids, prepared.scaled


def population_profile(features: ArrowData) -> dict[str, float]:
    """The population reference used by :func:`name_segments`.

    The mean of each :data:`SEGMENT_FEATURES` column over all customers (after the zero fills;
    unknown values left out) and ``buyer_share``: the fraction of customers with an order.
    """
    _, raw, _ = _read_raw(as_table(features), SEGMENT_FEATURES)
    return _population(raw, SEGMENT_FEATURES)


def _population(raw: np.ndarray, feature_names: Sequence[str]) -> dict[str, float]:
    population: dict[str, float] = {}
    for j, name in enumerate(feature_names):
        known = raw[:, j][~np.isnan(raw[:, j])]
        population[name] = float(known.mean()) if known.size else 0.0
    orders = raw[:, list(feature_names).index("order_count")]
    population["buyer_share"] = float(np.mean(orders > 0)) if orders.size else 0.0
    return population


# --------------------------------------------------------------------------------------------
# Choosing k
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KScore:
    """Scores of one candidate k (KMeans fitted on the sample)."""

    k: int
    silhouette: float
    davies_bouldin: float
    inertia: float


@dataclass(frozen=True)
class KSelection:
    """Result of :func:`choose_k`.

    Attributes:
        rows: One :class:`KScore` per k, ascending k.
        chosen_k: The k with the best silhouette (ties: the smaller k).
        stability_ari: Adjusted Rand index between the fits with ``seed`` and ``seed + 1`` at
            the chosen k, on the sample (1.0 = the same partition).
        sample_size: Rows actually scored (``min(sample_size, rows)``).
        seed: The seed of the sample and of the KMeans fits.
    """

    rows: tuple[KScore, ...]
    chosen_k: int
    stability_ari: float
    sample_size: int
    seed: int


def _distinct_rows_at_least(X: np.ndarray, needed: int, block: int = 65_536) -> int:
    """The number of distinct rows of X, counted only up to ``needed`` (cheap early exit)."""
    seen: set[bytes] = set()
    width = np.dtype((np.void, X.dtype.itemsize * X.shape[1])) if X.ndim == 2 else None
    for start in range(0, X.shape[0], block):
        rows = np.ascontiguousarray(X[start : start + block] + 0.0)  # -0.0 == 0.0
        seen.update(key.tobytes() for key in np.unique(rows.view(width).ravel()))
        if len(seen) >= needed:
            break
    return len(seen)


def _silhouettes(X: np.ndarray, labelings: Sequence[np.ndarray]) -> list[float]:
    """Mean silhouette of each labeling of X (the definition of sklearn's silhouette_score).

    The pairwise distances are computed once, block by block, and shared by all labelings;
    per-cluster distance sums come from one matrix product with the stacked one-hot labels.
    """
    n = X.shape[0]
    sizes = [int(labels.max()) + 1 for labels in labelings]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    onehot = np.zeros((n, int(offsets[-1])))
    rows = np.arange(n)
    for labels, offset in zip(labelings, offsets[:-1], strict=True):
        onehot[rows, offset + labels] = 1.0
    # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b as one matrix product of augmented rows
    squared = np.einsum("ij,ij->i", X, X)[:, None]
    ones = np.ones((n, 1))
    left = np.hstack([X, squared, ones])
    right = np.ascontiguousarray(np.hstack([-2.0 * X, ones, squared]).T)
    sums = np.empty((n, onehot.shape[1]))
    for start in range(0, n, _SILHOUETTE_BLOCK):
        stop = min(start + _SILHOUETTE_BLOCK, n)
        distances = left[start:stop] @ right
        np.maximum(distances, 0.0, out=distances)
        distances[np.arange(stop - start), np.arange(start, stop)] = 0.0
        np.sqrt(distances, out=distances)
        sums[start:stop] = distances @ onehot
    scores = []
    for labels, size, offset in zip(labelings, sizes, offsets[:-1], strict=True):
        cluster_sums = sums[:, offset : offset + size]
        counts = np.bincount(labels, minlength=size).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            intra = cluster_sums[rows, labels] / (counts[labels] - 1.0)
            inter_all = cluster_sums / counts
            inter_all[rows, labels] = np.inf
            inter = inter_all.min(axis=1)
            samples = (inter - intra) / np.maximum(intra, inter)
        scores.append(float(np.mean(np.nan_to_num(samples))))
    return scores


def _kmeans(X: np.ndarray, k: int, seed: int, n_init: int) -> KMeans:
    threads = 1 if X.shape[0] < _PARALLEL_MIN_ROWS else None
    with threadpool_limits(limits=threads):
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed, algorithm="lloyd").fit(X)


def choose_k(
    X: np.ndarray, k_min: int, k_max: int, seed: int, sample_size: int = 20000
) -> KSelection:
    """Score k = k_min..k_max on a seeded sample of X and pick the best silhouette.

    A sample of ``min(sample_size, rows)`` rows (drawn with ``seed``, kept in X's row order) is
    clustered with KMeans (``random_state=seed``) for each k; its silhouette, Davies-Bouldin
    index and inertia (within-cluster sum of squares of the sample) are recorded. The chosen k
    has the highest silhouette (differences below 1e-9 are ties, won by the smaller k). The
    stability of the choice is the adjusted Rand index between that fit and a second fit with
    ``seed + 1`` on the same sample.

    Raises:
        ValueError: k_min < 2, k_min > k_max, sample_size < k_max + 1, X not a finite matrix.
        InsufficientDataError: fewer than ``k_min * 10`` rows, or fewer than ``k_max + 1``
            distinct rows (in X or in the sample).
    """
    if k_min < 2:
        raise ValueError(f"k_min must be at least 2, got {k_min}")
    if k_min > k_max:
        raise ValueError(f"k_min ({k_min}) must not exceed k_max ({k_max})")
    if sample_size < k_max + 1:
        raise ValueError(f"sample_size ({sample_size}) must be at least k_max + 1 ({k_max + 1})")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] == 0:
        raise ValueError(f"X must be a 2-d matrix with at least one column, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X has NaN or infinite values")
    n = X.shape[0]
    if n < k_min * 10:
        raise InsufficientDataError(
            f"choosing k needs at least {k_min * 10} customers (10 per cluster for "
            f"k_min={k_min}), but there are only {n}"
        )
    needed = k_max + 1
    distinct = _distinct_rows_at_least(X, needed)
    if distinct < needed:
        raise InsufficientDataError(
            f"only {distinct} distinct customer profiles; trying up to k={k_max} clusters needs "
            f"at least {needed} distinct profiles"
        )
    m = min(sample_size, n)
    if m < n:
        rng = np.random.default_rng(seed)
        sample = X[np.sort(rng.choice(n, size=m, replace=False))]
        distinct = _distinct_rows_at_least(sample, needed)
        if distinct < needed:
            raise InsufficientDataError(
                f"the sample of {m} customers has only {distinct} distinct profiles; trying up "
                f"to k={k_max} clusters needs at least {needed}: increase sample_size"
            )
    else:
        sample = X
    fits = [_kmeans(sample, k, seed, N_INIT_SELECT) for k in range(k_min, k_max + 1)]
    silhouettes = _silhouettes(sample, [fit.labels_ for fit in fits])
    rows = tuple(
        KScore(
            k=k,
            silhouette=silhouette,
            davies_bouldin=float(davies_bouldin_score(sample, fit.labels_)),
            inertia=float(fit.inertia_),
        )
        for k, fit, silhouette in zip(range(k_min, k_max + 1), fits, silhouettes, strict=True)
    )
    best = max(silhouettes)
    chosen_index = next(i for i, s in enumerate(silhouettes) if s >= best - _SILHOUETTE_TIE)
    chosen_k = rows[chosen_index].k
    other = _kmeans(sample, chosen_k, seed + 1, N_INIT_SELECT)
    stability = float(adjusted_rand_score(fits[chosen_index].labels_, other.labels_))
    return KSelection(rows, chosen_k, stability, m, seed)


def selection_to_table(selection: KSelection) -> pa.Table:
    """One row per k: k, silhouette, davies_bouldin, inertia, is_chosen, stability_ari (on the
    chosen row only, else null), sample_size, seed."""
    rows = selection.rows
    chosen = [row.k == selection.chosen_k for row in rows]
    return pa.table(
        {
            "k": pa.array([row.k for row in rows], pa.int64()),
            "silhouette": pa.array([row.silhouette for row in rows], pa.float64()),
            "davies_bouldin": pa.array([row.davies_bouldin for row in rows], pa.float64()),
            "inertia": pa.array([row.inertia for row in rows], pa.float64()),
            "is_chosen": pa.array(chosen, pa.bool_()),
            "stability_ari": pa.array(
                [selection.stability_ari if c else None for c in chosen], pa.float64()
            ),
            "sample_size": pa.array([selection.sample_size] * len(rows), pa.int64()),
            "seed": pa.array([selection.seed] * len(rows), pa.int64()),
        }
    )


# --------------------------------------------------------------------------------------------
# Naming
# --------------------------------------------------------------------------------------------

#: A cluster is a buyer cluster when its members average at least this many orders.
BUYER_MIN_ORDERS = 0.5
#: Lapsed: mean recency_days at least this multiple of the population's.
LAPSED_RECENCY_RATIO = 1.5
#: High value: revenue at least this multiple of the revenue per buyer ...
HIGH_VALUE_REVENUE_RATIO = 2.0
#: ... and frequent: orders at least this multiple of the orders per buyer (and >= 2).
FREQUENT_ORDERS_RATIO = 1.5
FREQUENT_MIN_ORDERS = 2.0
#: Big ticket: average basket at least this multiple of the basket per buyer.
BIG_TICKET_BASKET_RATIO = 2.0
#: Bargain: basket (vs per buyer) or median viewed price (vs population) at most this multiple.
BARGAIN_PRICE_RATIO = 0.5
#: Cart abandoners: mean cart_abandonment_rate at least this (never-carted members count 0).
CART_ABANDONMENT_MIN = 0.5
#: Window shoppers: views at least this multiple of the population's.
WINDOW_VIEWS_RATIO = 1.5
#: New browsers: recency at most this multiple of the population's and days_active at most
#: the population's.
NEW_RECENCY_RATIO = 0.5

_ACTIONS: dict[str, str] = {
    "High-value loyal": (
        "Loyalty perk: early access, free-shipping tier and a referral invitation; "
        "no discounts needed."
    ),
    "Big-ticket buyers": (
        "Cross-sell accessories, extended warranty and care products for their premium "
        "purchases; show premium new arrivals."
    ),
    "Bargain hunters": (
        "Price-drop alerts, bundles and volume discounts in the categories they browse."
    ),
    "Repeat buyers": (
        "Points multiplier or subscription offer to lift them into the loyal tier; "
        "cross-sell complements."
    ),
    "Occasional buyers": (
        "Cross-sell complements of their last purchase with a time-limited second-order incentive."
    ),
    "Lapsed buyers": (
        "Win-back offer: a personal discount on categories they bought before; stop after "
        "two unanswered contacts."
    ),
    "Cart abandoners": (
        "Cart reminder (email/push within 24 h) with free shipping or a small discount on the "
        "carted items."
    ),
    "Window shoppers": (
        "Personalised recommendations of the products they viewed most, plus a first-order "
        "incentive."
    ),
    "Lapsed browsers": (
        "Low-cost re-engagement only (newsletter, broad retargeting); no individual discounts."
    ),
    "New browsers": (
        "Welcome series: bestsellers in the categories they viewed and a first-order code."
    ),
    "Casual browsers": (
        "Keep in broad, low-cost campaigns (newsletter, seasonal sales); no individual spend."
    ),
}
#: Every base name :func:`name_segments` can give (a qualifier may be appended).
SEGMENT_NAMES: tuple[str, ...] = tuple(_ACTIONS)

_RULE_FEATURES = (
    "session_count",
    "view_count",
    "order_count",
    "revenue",
    "average_basket",
    "cart_abandonment_rate",
    "days_active",
    "recency_days",
    "median_viewed_price",
)

#: Words for disambiguating qualifiers: (larger-of-two, smaller-of-two, largest, smallest, mid).
_QUALIFIER_WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "session_count": ("more sessions", "fewer sessions", "most sessions", "fewest sessions",
                      "mid sessions"),
    "view_count": ("more views", "fewer views", "most views", "fewest views", "mid views"),
    "cart_count": ("more carts", "fewer carts", "most carts", "fewest carts", "mid carts"),
    "order_count": ("more orders", "fewer orders", "most orders", "fewest orders",
                    "mid orders"),
    "revenue": ("higher spend", "lower spend", "highest spend", "lowest spend", "mid spend"),
    "average_basket": ("bigger baskets", "smaller baskets", "biggest baskets",
                       "smallest baskets", "mid-size baskets"),
    "cart_abandonment_rate": ("more abandonment", "less abandonment", "most abandonment",
                              "least abandonment", "mid abandonment"),
    "conversion_rate": ("higher conversion", "lower conversion", "highest conversion",
                        "lowest conversion", "mid conversion"),
    "days_active": ("more active days", "fewer active days", "most active days",
                    "fewest active days", "mid active days"),
    "recency_days": ("less recent", "more recent", "least recent", "most recent",
                     "mid recency"),
    "median_viewed_price": ("pricier views", "cheaper views", "priciest views",
                            "cheapest views", "mid-price views"),
}  # fmt: skip


def _base_name(c: Mapping[str, float], p: Mapping[str, float]) -> str:
    """The first matching rule (see :func:`name_segments`)."""
    buyer_share = p["buyer_share"]
    per_buyer = 1.0 / buyer_share if buyer_share > 0 else 1.0
    orders_per_buyer = p["order_count"] * per_buyer
    revenue_per_buyer = p["revenue"] * per_buyer
    basket_per_buyer = p["average_basket"] * per_buyer
    lapsed = c["recency_days"] >= LAPSED_RECENCY_RATIO * p["recency_days"] and c["recency_days"] > 0
    if c["order_count"] >= BUYER_MIN_ORDERS:
        if lapsed:
            return "Lapsed buyers"
        frequent = (
            c["order_count"] >= FREQUENT_ORDERS_RATIO * orders_per_buyer
            and c["order_count"] >= FREQUENT_MIN_ORDERS
        )
        if frequent and c["revenue"] >= HIGH_VALUE_REVENUE_RATIO * revenue_per_buyer:
            return "High-value loyal"
        if c["average_basket"] >= BIG_TICKET_BASKET_RATIO * basket_per_buyer:
            return "Big-ticket buyers"
        if (
            c["average_basket"] <= BARGAIN_PRICE_RATIO * basket_per_buyer
            or c["median_viewed_price"] <= BARGAIN_PRICE_RATIO * p["median_viewed_price"]
        ):
            return "Bargain hunters"
        if frequent:
            return "Repeat buyers"
        return "Occasional buyers"
    if c["cart_abandonment_rate"] >= CART_ABANDONMENT_MIN:
        return "Cart abandoners"
    if c["view_count"] > 0 and c["view_count"] >= WINDOW_VIEWS_RATIO * p["view_count"]:
        return "Window shoppers"
    if lapsed:
        return "Lapsed browsers"
    if (
        c["recency_days"] <= NEW_RECENCY_RATIO * p["recency_days"]
        and c["days_active"] <= p["days_active"]
    ):
        return "New browsers"
    return "Casual browsers"


def _rank_words(bands: int, words: tuple[str, str, str, str, str]) -> list[str]:
    """Qualifiers for ``bands`` (2 or 3) value bands, largest first."""
    more, less, most, least, mid = words
    return [more, less] if bands == 2 else [most, mid, least]


def _qualify(
    members: list[int],
    centroids: Mapping[str, np.ndarray],
    population: Mapping[str, float],
    used: frozenset[str],
) -> dict[int, list[str]]:
    """Descriptive qualifiers that tell apart clusters that earned the same base name.

    Picks the feature whose values differ most between the members, in units of the
    population value (``(max - min) / |population|``, or ``/ max(|max|, |min|)`` when that is
    0 or unknown; ties go to the earlier feature), splits the members
    into the largest, smallest and (for 3 or more distinct values) middle band of that feature,
    and recurses with the remaining features inside a band that still holds several members.
    """
    if len(members) == 1:
        return {members[0]: []}
    best_name, best_spread = None, 0.0
    for name, values in centroids.items():
        if name in used:
            continue
        vals = np.asarray(values, dtype=np.float64)[members]
        high, low = float(vals.max()), float(vals.min())
        scale = abs(float(population.get(name, 0.0))) or max(abs(high), abs(low))
        spread = (high - low) / scale if scale > 0 else 0.0
        if spread > best_spread:
            best_name, best_spread = name, spread
    if best_name is None:  # identical profiles: nothing descriptive left to say
        return {m: [f"identical profile {chr(ord('A') + i)}"] for i, m in enumerate(members)}
    values = np.asarray(centroids[best_name], dtype=np.float64)
    distinct = sorted({float(values[m]) for m in members}, reverse=True)
    if len(distinct) == 2:
        bands = [[m for m in members if values[m] == v] for v in distinct]
    else:
        top, bottom = distinct[0], distinct[-1]
        bands = [
            [m for m in members if values[m] == top],
            [m for m in members if bottom < values[m] < top],
            [m for m in members if values[m] == bottom],
        ]
    words = _QUALIFIER_WORDS.get(
        best_name,
        (f"higher {best_name}", f"lower {best_name}", f"highest {best_name}",
         f"lowest {best_name}", f"mid {best_name}"),
    )  # fmt: skip
    result: dict[int, list[str]] = {}
    for band, word in zip(bands, _rank_words(len(bands), words), strict=True):
        for member, rest in _qualify(band, centroids, population, used | {best_name}).items():
            result[member] = [word, *rest]
    return result


def name_segments(
    centroids_raw: Mapping[str, np.ndarray], population: Mapping[str, float]
) -> list[str]:
    """A marketing name per cluster, from its centroid relative to the population.

    Args:
        centroids_raw: Per feature, the cluster means in original units (one value per
            cluster, all arrays of the same length). Needs at least session_count, view_count,
            order_count, revenue, average_basket, cart_abandonment_rate, days_active,
            recency_days and median_viewed_price; every key may serve to tell apart clusters.
        population: The same features' means over all customers, plus ``buyer_share`` (the
            fraction of customers with an order); see :func:`population_profile`. Per-buyer
            references are ``population[f] / buyer_share`` for order_count, revenue and
            average_basket (non-buyers count 0 in these means).

    Rules, first match wins (thresholds are the module constants):

    Buyer clusters (mean order_count >= 0.5):

    1. "Lapsed buyers": recency_days >= 1.5 x the population's.
    2. "High-value loyal": orders >= 1.5 x orders per buyer (and >= 2) and revenue
       >= 2 x revenue per buyer.
    3. "Big-ticket buyers": average_basket >= 2 x basket per buyer.
    4. "Bargain hunters": average_basket <= 0.5 x basket per buyer, or median_viewed_price
       <= 0.5 x the population's.
    5. "Repeat buyers": orders >= 1.5 x orders per buyer (and >= 2).
    6. "Occasional buyers": any other buyer cluster.

    Other clusters:

    7. "Cart abandoners": mean cart_abandonment_rate >= 0.5.
    8. "Window shoppers": view_count >= 1.5 x the population's.
    9. "Lapsed browsers": recency_days >= 1.5 x the population's.
    10. "New browsers": recency_days <= 0.5 x and days_active <= 1 x the population's.
    11. "Casual browsers": any other cluster.

    Clusters that earn the same name get a descriptive qualifier from the feature that tells
    them apart most (difference relative to the population value), e.g. "Window shoppers (more views)" and "Window shoppers (fewer views)";
    with three or more: "most ...", "mid ...", "least ..." (recursing on further features
    inside a band). Names are therefore unique and deterministic.

    Raises:
        ValueError: a required key is missing or the arrays differ in length.
    """
    missing = [f for f in _RULE_FEATURES if f not in centroids_raw]
    missing_population = [f for f in (*_RULE_FEATURES, "buyer_share") if f not in population]
    if missing or missing_population:
        raise ValueError(
            "name_segments needs centroid values for "
            + (", ".join(missing) or "-")
            + " and population values for "
            + (", ".join(missing_population) or "-")
        )
    arrays = {name: np.asarray(values, dtype=np.float64) for name, values in centroids_raw.items()}
    lengths = {a.shape for a in arrays.values()}
    if len(lengths) != 1 or len(next(iter(lengths))) != 1:
        raise ValueError(f"centroid arrays must be 1-d and of equal length, got shapes {lengths}")
    k = next(iter(lengths))[0]
    p = {name: float(value) for name, value in population.items()}
    bases = [_base_name({n: float(a[i]) for n, a in arrays.items()}, p) for i in range(k)]
    names = list(bases)
    for base in dict.fromkeys(bases):
        members = [i for i, b in enumerate(bases) if b == base]
        if len(members) > 1:
            for member, words in _qualify(members, arrays, p, frozenset()).items():
                names[member] = f"{base} ({', '.join(words)})"
    return names


def suggested_action(name: str) -> str:
    """The marketing action for a segment name (a qualifier in parentheses is ignored).

    Raises:
        ValueError: an unknown name.
    """
    base = re.sub(r"\s*\(.*\)\s*$", "", name)
    if base not in _ACTIONS:
        raise ValueError(f"unknown segment name {name!r}; known: {', '.join(SEGMENT_NAMES)}")
    return _ACTIONS[base]


# --------------------------------------------------------------------------------------------
# Fitting, persisting, assigning
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SegmentModel:
    """A fitted segmentation; segment ids are the row indices of the arrays (canonical order:
    centroid revenue descending, then orders, then the other features).

    Attributes:
        k: Number of segments.
        seed: KMeans random_state.
        feature_names: Features, in column order of every array.
        log1p: Per feature, whether it is ``log1p``-transformed before scaling.
        means: Scaler means per feature (log space for log1p features).
        stds: Scaler stds per feature (0: the scaled column is 0).
        centroids: (k, f) cluster centres in scaled space.
        centroids_raw: (k, f) means of the members' values in original units.
        sizes: Members per segment in the fitted data.
        names: Segment names, unique.
        actions: Suggested marketing action per segment.
    """

    k: int
    seed: int
    feature_names: tuple[str, ...]
    log1p: tuple[bool, ...]
    means: np.ndarray
    stds: np.ndarray
    centroids: np.ndarray
    centroids_raw: np.ndarray
    sizes: np.ndarray
    names: tuple[str, ...]
    actions: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("means", "stds", "centroids", "centroids_raw", "sizes"):
            array = np.array(getattr(self, name), copy=True)
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def centroids_raw_by_feature(self) -> dict[str, np.ndarray]:
        """``{feature: centroid values per segment}`` (the input of :func:`name_segments`)."""
        return {name: self.centroids_raw[:, j] for j, name in enumerate(self.feature_names)}


def _nearest(
    X: np.ndarray, centroids: np.ndarray, block_elements: int = _ASSIGN_BLOCK_ELEMENTS
) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest centroid, Euclidean distance) per row, block by block.

    Each block holds at most ``block_elements`` differences (rows x k x features), and the
    arithmetic per row is the naive one, so the result equals the unblocked computation.
    """
    n = X.shape[0]
    k, f = centroids.shape
    rows_per_block = max(1, block_elements // max(1, k * f))
    labels = np.empty(n, dtype=np.int64)
    distances = np.empty(n, dtype=np.float64)
    for start in range(0, n, rows_per_block):
        stop = min(start + rows_per_block, n)
        differences = X[start:stop, None, :] - centroids[None, :, :]
        squared = np.square(differences, out=differences).sum(axis=2)
        best = squared.argmin(axis=1)
        labels[start:stop] = best
        distances[start:stop] = np.sqrt(squared[np.arange(stop - start), best])
    return labels, distances


def _canonical_order(centroids_raw: np.ndarray, centroids: np.ndarray, names: Sequence[str]):
    """Cluster order: revenue desc, orders desc, then every raw and scaled coordinate desc."""
    revenue = names.index("revenue")
    orders = names.index("order_count")

    def key(i: int) -> tuple[float, ...]:
        return (
            -centroids_raw[i, revenue],
            -centroids_raw[i, orders],
            *(-centroids_raw[i]),
            *(-centroids[i]),
        )

    return sorted(range(centroids.shape[0]), key=key)


def fit_segments(features: ArrowData, k: int, seed: int) -> SegmentModel:
    """Fit KMeans with k clusters on :func:`feature_matrix` and name the clusters.

    KMeans (Lloyd, k-means++ init, ``n_init=3``, ``random_state=seed``) runs on all rows in
    user_id order, so the same customers in any row order give the same model. Members are then
    re-assigned to the nearest centre exactly as :func:`assign_segments` does, the clusters are
    ordered canonically (centroid revenue descending, then orders, then the other features),
    and each gets a name (:func:`name_segments` against :func:`population_profile`) and an
    action (:func:`suggested_action`).

    Raises:
        ValueError: k < 2 (or the errors of :func:`feature_matrix`).
        InsufficientDataError: fewer than k distinct customer profiles.
    """
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    prepared = _prepare(features)
    X = prepared.scaled
    distinct = _distinct_rows_at_least(X, k)
    if distinct < k:
        raise InsufficientDataError(
            f"only {distinct} distinct customer profiles, fewer than the {k} segments asked for"
        )
    fitted = _kmeans(X, k, seed, N_INIT_FIT)
    centroids = np.asarray(fitted.cluster_centers_, dtype=np.float64)
    labels, _ = _nearest(X, centroids)
    counts = np.bincount(labels, minlength=k)
    feature_names = SEGMENT_FEATURES
    population = _population(prepared.raw, feature_names)
    centroids_raw = np.empty_like(centroids)
    for j, name in enumerate(feature_names):
        column = prepared.raw[:, j]
        known = ~np.isnan(column)
        total = np.bincount(labels[known], weights=column[known], minlength=k)
        members = np.bincount(labels[known], minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            centroids_raw[:, j] = np.where(members > 0, total / members, population[name])
    order = _canonical_order(centroids_raw, centroids, list(feature_names))
    centroids, centroids_raw, counts = centroids[order], centroids_raw[order], counts[order]
    by_feature = {name: centroids_raw[:, j] for j, name in enumerate(feature_names)}
    names = name_segments(by_feature, population)
    return SegmentModel(
        k=k,
        seed=seed,
        feature_names=feature_names,
        log1p=tuple(name in LOG1P_FEATURES for name in feature_names),
        means=prepared.means,
        stds=prepared.stds,
        centroids=centroids,
        centroids_raw=centroids_raw,
        sizes=counts.astype(np.int64),
        names=tuple(names),
        actions=tuple(suggested_action(name) for name in names),
    )


def model_to_table(model: SegmentModel) -> pa.Table:
    """One row per segment: everything :func:`assign_segments` needs.

    Columns: segment_id, segment_name, suggested_action, segment_size, k, seed, then per
    feature ``centroid_<f>`` (original units), ``scaled_<f>`` (scaled space), and the scaler
    ``scaler_mean_<f>``, ``scaler_std_<f>``, ``scaler_log1p_<f>`` (the same on every row).
    """
    k = model.k
    columns: dict[str, pa.Array] = {
        "segment_id": pa.array(np.arange(k, dtype=np.int64)),
        "segment_name": pa.array(list(model.names), pa.string()),
        "suggested_action": pa.array(list(model.actions), pa.string()),
        "segment_size": pa.array(np.asarray(model.sizes, dtype=np.int64)),
        "k": pa.array(np.full(k, model.k, dtype=np.int64)),
        "seed": pa.array(np.full(k, model.seed, dtype=np.int64)),
    }
    for j, name in enumerate(model.feature_names):
        columns[f"centroid_{name}"] = pa.array(model.centroids_raw[:, j].copy())
    for j, name in enumerate(model.feature_names):
        columns[f"scaled_{name}"] = pa.array(model.centroids[:, j].copy())
    for j, name in enumerate(model.feature_names):
        columns[f"scaler_mean_{name}"] = pa.array(np.full(k, model.means[j]))
        columns[f"scaler_std_{name}"] = pa.array(np.full(k, model.stds[j]))
        columns[f"scaler_log1p_{name}"] = pa.array([model.log1p[j]] * k, pa.bool_())
    return pa.table(columns)


def model_from_table(table: ArrowData) -> SegmentModel:
    """The :class:`SegmentModel` written by :func:`model_to_table` (rows in any order).

    Raises:
        ValueError: missing columns, segment ids that are not 0..k-1, or scaler values that
            differ between rows.
    """
    table = as_table(table)
    prefix = "centroid_"
    feature_names = tuple(c[len(prefix) :] for c in table.column_names if c.startswith(prefix))
    required = ["segment_id", "segment_name", "suggested_action", "segment_size", "k", "seed"]
    for name in feature_names:
        required += [
            f"scaled_{name}",
            f"scaler_mean_{name}",
            f"scaler_std_{name}",
            f"scaler_log1p_{name}",
        ]
    missing = [c for c in required if c not in table.column_names]
    if not feature_names or missing:
        raise ValueError(
            "not a segment model table: missing "
            + (", ".join(missing) if missing else "centroid_<feature> columns")
        )
    table = table.sort_by("segment_id")
    ids = table.column("segment_id").to_numpy(zero_copy_only=False)
    k = table.num_rows
    if k == 0 or not np.array_equal(ids, np.arange(k)):
        raise ValueError(f"segment_id must be 0..k-1 without gaps, got {ids.tolist()}")

    def constant(name: str) -> object:
        values = table.column(name).to_pylist()
        if any(v != values[0] for v in values):
            raise ValueError(f"{name} differs between segments")
        return values[0]

    if constant("k") != k:
        raise ValueError(f"column k says {constant('k')} but the table has {k} segments")

    def matrix(pattern: str) -> np.ndarray:
        return np.column_stack(
            [
                np.asarray(table.column(pattern.format(n)).to_numpy(zero_copy_only=False), float)
                for n in feature_names
            ]
        )

    return SegmentModel(
        k=k,
        seed=int(constant("seed")),
        feature_names=feature_names,
        log1p=tuple(bool(constant(f"scaler_log1p_{n}")) for n in feature_names),
        means=np.array([float(constant(f"scaler_mean_{n}")) for n in feature_names]),
        stds=np.array([float(constant(f"scaler_std_{n}")) for n in feature_names]),
        centroids=matrix("scaled_{}"),
        centroids_raw=matrix("centroid_{}"),
        sizes=np.asarray(table.column("segment_size").to_numpy(zero_copy_only=False), np.int64),
        names=tuple(table.column("segment_name").to_pylist()),
        actions=tuple(table.column("suggested_action").to_pylist()),
    )


def assign_segments(features: ArrowData, model: SegmentModel) -> pa.Table:
    """The nearest segment of every customer, in the row order of ``features``.

    Features are filled and scaled with the model's scaler (unknown values scale to 0), then
    each row goes to the nearest centroid (Euclidean in scaled space; ties: the lower id),
    block by block so no more than about 4M differences are in memory at once.

    Returns:
        user_id (int64), segment_id (int64), segment_name (string),
        distance_to_centroid (float64).
    """
    user_ids, raw, _ = _read_raw(as_table(features), model.feature_names)
    logged = _to_model_space(raw, model.log1p)
    X = _scale(logged, np.asarray(model.means), np.asarray(model.stds))
    labels, distances = _nearest(X, np.asarray(model.centroids))
    return pa.table(
        {
            "user_id": pa.array(user_ids, pa.int64()),
            "segment_id": pa.array(labels, pa.int64()),
            "segment_name": pc.take(pa.array(list(model.names), pa.string()), pa.array(labels)),
            "distance_to_centroid": pa.array(distances, pa.float64()),
        }
    )


# --------------------------------------------------------------------------------------------
# Fallback: too little data for clustering -> RFM segments only (documented in the marts' docs)
# --------------------------------------------------------------------------------------------

SEGMENTATION_METHOD_KMEANS = "kmeans"
SEGMENTATION_METHOD_RFM = "rfm_fallback"
#: Segment of a visitor who has no order when the segmentation falls back to RFM.
NOT_SEGMENTED_VISITOR = "Visitors without an order (not segmented)"

_QUALITY_SCHEMA = pa.schema(
    [
        ("k", pa.int64()),
        ("silhouette", pa.float64()),
        ("davies_bouldin", pa.float64()),
        ("inertia", pa.float64()),
        ("is_chosen", pa.bool_()),
        ("stability_ari", pa.float64()),
        ("sample_size", pa.int64()),
        ("seed", pa.int64()),
        ("status", pa.string()),
        ("message", pa.string()),
    ]
)


def quality_table(selection: KSelection) -> pa.Table:
    """:func:`selection_to_table` with status 'ok' and no message (the segmentation_quality mart)."""
    table = selection_to_table(selection)
    return table.append_column(
        "status", pa.array(["ok"] * table.num_rows, pa.string())
    ).append_column("message", pa.array([None] * table.num_rows, pa.string()))


def fallback_quality_table(reason: str, seed: int) -> pa.Table:
    """The segmentation_quality mart when no k could be chosen: one row, status 'fallback'."""
    row = {name: None for name in _QUALITY_SCHEMA.names}
    row |= {"is_chosen": False, "seed": seed, "status": "fallback", "message": reason}
    return pa.Table.from_pylist([row], schema=_QUALITY_SCHEMA)


def chosen_k(quality: ArrowData) -> int | None:
    """The k chosen in a segmentation_quality table, or None when it recorded a fallback."""
    table = as_table(quality)
    for row in table.to_pylist():
        if row["status"] == "ok" and row["is_chosen"]:
            return int(row["k"])
    return None


def empty_model_table() -> pa.Table:
    """The segment_centroids mart when there is no model: the leading columns, no rows."""
    return pa.schema(
        [
            ("segment_id", pa.int64()),
            ("segment_name", pa.string()),
            ("suggested_action", pa.string()),
            ("segment_size", pa.int64()),
            ("k", pa.int64()),
            ("seed", pa.int64()),
        ]
    ).empty_table()


def rfm_fallback_assignments(features: ArrowData, rfm: ArrowData) -> pa.Table:
    """Every visitor's segment when clustering is not possible: the RFM segment of buyers, and
    NOT_SEGMENTED_VISITOR for visitors without an order. Same columns as assign_segments."""
    users = as_table(features).select(["user_id"])
    segments = as_table(rfm).select(["user_id", "rfm_segment"])
    joined = users.join(segments, "user_id", join_type="left outer").sort_by("user_id")
    names = pc.fill_null(joined["rfm_segment"], NOT_SEGMENTED_VISITOR)
    return pa.table(
        {
            "user_id": joined["user_id"].cast(pa.int64()),
            "segment_id": pa.nulls(joined.num_rows, pa.int64()),
            "segment_name": names.cast(pa.string()),
            "distance_to_centroid": pa.nulls(joined.num_rows, pa.float64()),
        }
    )


# --------------------------------------------------------------------------------------------
# The three steps as the dbt Python models run them (one call each, fallbacks included)
# --------------------------------------------------------------------------------------------


def build_quality(
    features: ArrowData, k_min: int, k_max: int, seed: int, sample_size: int
) -> pa.Table:
    """segmentation_quality: the k search, or one 'fallback' row with the reason."""
    try:
        _, matrix = feature_matrix(features)
        return quality_table(choose_k(matrix, k_min, k_max, seed, sample_size))
    except InsufficientDataError as error:
        return fallback_quality_table(str(error), seed)


def build_centroids(features: ArrowData, quality: ArrowData, seed: int) -> pa.Table:
    """segment_centroids (train step): the model at the chosen k, or no rows after a fallback."""
    k = chosen_k(quality)
    if k is None:
        return empty_model_table()
    return model_to_table(fit_segments(features, k, seed))


def build_customer_segments(features: ArrowData, centroids: ArrowData, rfm: ArrowData) -> pa.Table:
    """customer_segments (apply step): nearest centroid, or the RFM fallback; opt-outs flagged."""
    features = as_table(features)
    centroids = as_table(centroids)
    if centroids.num_rows > 0:
        assigned = assign_segments(features, model_from_table(centroids))
        method = SEGMENTATION_METHOD_KMEANS
    else:
        assigned = rfm_fallback_assignments(features, rfm)
        method = SEGMENTATION_METHOD_RFM
    flags = features.select(["user_id", "is_personalisation_opt_out"])
    assigned = assigned.join(flags, "user_id", join_type="left outer").sort_by("user_id")
    return assigned.append_column(
        "segmentation_method", pa.array([method] * assigned.num_rows, pa.string())
    )
