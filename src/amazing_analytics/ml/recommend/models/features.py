"""LightFM's features: a product is its id (when it had interactions), category_id, family,
brand and price band; a user is their id, preferred category_id and preferred price band."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from amazing_analytics.ml.recommend.data import TrainingData


def _one_hot_features(
    groups: list[np.ndarray], identity: np.ndarray | None, prefix: list[str]
) -> tuple[sp.csr_matrix, list[str]]:
    """Rows = entities; columns = [identity (where ``identity``) | one per value of each group].

    Every row is normalised to sum 1 (LightFM adds the embeddings of a row's features).
    """
    n = groups[0].size if groups else (identity.size if identity is not None else 0)
    blocks, names = [], []
    if identity is not None:
        ids = np.flatnonzero(identity)
        blocks.append(sp.csr_matrix((np.ones(ids.size, np.float32), (ids, ids)), shape=(n, n)))
        names.extend(f"id:{i}" for i in range(n))
    for values, label in zip(groups, prefix, strict=True):
        present = np.array([v is not None for v in values])
        uniques, inverse = np.unique(np.where(present, values, "").astype(str), return_inverse=True)
        rows = np.flatnonzero(present)
        blocks.append(
            sp.csr_matrix(
                (np.ones(rows.size, np.float32), (rows, inverse[rows])), shape=(n, uniques.size)
            )
        )
        names.extend(f"{label}:{u}" for u in uniques)
    matrix = sp.hstack(blocks).tocsr()
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    matrix = (
        sp.diags(np.where(sums > 0, 1.0 / np.maximum(sums, 1e-12), 0.0).astype(np.float32)) @ matrix
    )
    return matrix.tocsr().astype(np.float32), names


def item_feature_matrix(
    data: TrainingData, identity: bool = True
) -> tuple[sp.csr_matrix, list[str]]:
    """Item features: id (products with interactions only), category_id, family (first level of
    category_code), brand and price band within the category. Every feature costs training time
    (LightFM sums the feature embeddings of both sides for every sampled pair)."""
    cat = data.catalogue
    has_users = data.users_per_item() > 0
    brand = np.where(cat.brand == "unknown", None, cat.brand).astype(object)
    band = np.array(
        [f"{c}:{b}" for c, b in zip(cat.category_id, cat.price_band, strict=True)], dtype=object
    )
    family = np.where(cat.category_level_1 == "unknown", None, cat.category_level_1).astype(object)
    return _one_hot_features(
        [cat.category_id.astype(str).astype(object), family, brand, band],
        has_users if identity else None,
        ["category", "family", "brand", "price"],
    )


def user_profile(data: TrainingData) -> dict[str, np.ndarray]:
    """Each user's preferred category_id and price band from their history (None if none)."""
    cat = data.catalogue
    out: dict[str, np.ndarray] = {}
    for key, values in (
        ("category", cat.category_id.astype(str).astype(object)),
        ("price_band", cat.price_band),
    ):
        uniques, inverse = np.unique(values.astype(str), return_inverse=True)
        onehot = sp.csr_matrix(
            (np.ones(values.size, np.float32), (np.arange(values.size), inverse)),
            shape=(values.size, uniques.size),
        )
        totals = (data.weights @ onehot).toarray()
        has = totals.sum(axis=1) > 0
        best = np.argmax(totals, axis=1)
        out[key] = np.where(has, uniques[best].astype(object), None)
    return out


def user_feature_matrix(
    data: TrainingData, identity: bool = True
) -> tuple[sp.csr_matrix, list[str]]:
    """User features: id (users with history, if ``identity``), preferred category_id and
    preferred price band (most decayed weight in their history), rows summing to 1."""
    profile = user_profile(data)
    has_history = data.history_counts() > 0
    return _one_hot_features(
        [profile["category"], profile["price_band"]],
        has_history if identity else None,
        ["category", "price"],
    )
