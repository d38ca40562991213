"""Ranking metrics at k for recommendation lists against the products each user engaged with.

Per user (binary relevance, ``rel`` = the user's relevant products, ``r`` = 1-based rank):

* precision@k = hits / k
* recall@k = hits / |rel|
* NDCG@k = sum over hits of 1 / log2(r + 1), divided by the same sum for a perfect list
  (the first min(|rel|, k) ranks all hits)
* AP@k = sum over hits of precision@r, divided by min(|rel|, k); MAP@k is its mean
* hit rate@k = 1 if at least one hit

Over a set of lists: catalogue coverage = distinct recommended products / catalogue size;
novelty = mean self-information -log2(p) of the recommended products, p = (users who
interacted with the product in training + 1) / (training users + 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

PER_USER_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")


@dataclass(frozen=True)
class UserMetrics:
    """Per-user metric arrays (one value per evaluated user)."""

    precision: np.ndarray
    recall: np.ndarray
    ndcg: np.ndarray
    map: np.ndarray
    hit_rate: np.ndarray

    def get(self, name: str) -> np.ndarray:
        return getattr(self, name)


def hits_matrix(recommended: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """(n, k) bool: is the product at each rank relevant to the user (-1 = empty slot)."""
    relevant = sp.csr_matrix(relevant)
    n, k = recommended.shape
    if n == 0:
        return np.zeros((0, k), dtype=bool)
    rows = np.repeat(np.arange(n), k)
    cols = recommended.ravel()
    valid = cols >= 0
    out = np.zeros(n * k, dtype=bool)
    if valid.any():
        out[valid] = np.asarray(relevant[rows[valid], cols[valid]]).ravel() != 0
    return out.reshape(n, k)


def user_metrics(recommended: np.ndarray, relevant: sp.csr_matrix, k: int) -> UserMetrics:
    """Metrics@k of each row's list against the same row of ``relevant`` (users x products).

    Rows with no relevant product get NaN (they are not evaluated).
    """
    recommended = np.asarray(recommended)[:, :k]
    hits = hits_matrix(recommended, relevant)
    n_relevant = np.diff(sp.csr_matrix(relevant).indptr).astype(np.float64)
    n_hits = hits.sum(axis=1).astype(np.float64)
    ranks = np.arange(1, recommended.shape[1] + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    dcg = (hits * discount).sum(axis=1)
    ideal_cut = np.minimum(n_relevant, k).astype(np.int64)
    cumulative = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))])
    idcg = cumulative[ideal_cut]
    precision_at = np.cumsum(hits, axis=1) / ranks
    ap_sum = (precision_at * hits).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        evaluated = n_relevant > 0
        nan = np.full(n_relevant.shape, np.nan)
        return UserMetrics(
            precision=np.where(evaluated, n_hits / k, nan),
            recall=np.where(evaluated, n_hits / n_relevant, nan),
            ndcg=np.where(evaluated, dcg / idcg, nan),
            map=np.where(evaluated, ap_sum / np.maximum(ideal_cut, 1), nan),
            hit_rate=np.where(evaluated, (n_hits > 0).astype(np.float64), nan),
        )


def catalogue_coverage(recommended: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list."""
    if n_items <= 0:
        return float("nan")
    shown = np.unique(recommended[recommended >= 0])
    return float(shown.size) / float(n_items)


def item_self_information(train_users_per_item: np.ndarray, n_train_users: int) -> np.ndarray:
    """-log2 of each product's smoothed share of training users (higher = less known)."""
    p = (np.asarray(train_users_per_item, np.float64) + 1.0) / (float(n_train_users) + 1.0)
    return -np.log2(p)


def novelty(recommended: np.ndarray, self_information: np.ndarray) -> float:
    """Mean self-information of the recommended products (empty slots ignored)."""
    shown = recommended[recommended >= 0]
    if shown.size == 0:
        return float("nan")
    return float(self_information[shown].mean())
