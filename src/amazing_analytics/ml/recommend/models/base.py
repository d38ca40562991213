"""What every recommender shares: the lists it returns (with where each product came from), the
merge of ranked lists, and the base class (its own list first, then global popularity)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from amazing_analytics.ml.recommend.data import TrainingData
from amazing_analytics.ml.recommend.topk import compact, excluded_mask

#: Source of each recommended product, used to word the reason.
SOURCE_POPULAR, SOURCE_CATEGORY, SOURCE_PERSONAL, SOURCE_RECENT, SOURCE_BUY_AGAIN = 0, 1, 2, 3, 4


@dataclass
class Recommendations:
    """Lists of product indices (n x k, -1 = empty), their scores and where each came from."""

    items: np.ndarray
    scores: np.ndarray
    source: np.ndarray


def popularity_scores(data: TrainingData) -> np.ndarray:
    """Summed decayed weight per product (the recency-weighted popularity)."""
    return np.asarray(data.weights.sum(axis=0)).ravel().astype(np.float64)


def merge_ranked(
    parts: list[tuple[np.ndarray, np.ndarray, int]], k: int, exclude: sp.csr_matrix | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate ranked lists (items, scores, source) in priority order; drop duplicates and
    excluded products (``exclude`` rows aligned with the lists); keep the first k.

    Returns (items, scores, source of each kept product).
    """
    items = np.hstack([p[0] for p in parts]).astype(np.int64)
    scores = np.hstack([p[1] for p in parts]).astype(np.float32)
    source = np.hstack([np.full(p[0].shape, p[2], dtype=np.int8) for p in parts])
    n, m = items.shape
    position = np.broadcast_to(np.arange(m), (n, m))
    # a product's later occurrences: sort by (item, position) and compare neighbours
    order = np.lexsort((position, items), axis=1)
    sorted_items = np.take_along_axis(items, order, axis=1)
    duplicate_sorted = np.zeros(sorted_items.shape, dtype=bool)
    duplicate_sorted[:, 1:] = (sorted_items[:, 1:] == sorted_items[:, :-1]) & (
        sorted_items[:, 1:] >= 0
    )
    duplicate = np.empty_like(duplicate_sorted)
    np.put_along_axis(duplicate, order, duplicate_sorted, axis=1)
    banned = duplicate | excluded_mask(items, exclude)
    out_items, out_scores, out_source = compact(items, scores, banned, k, source)
    return out_items, out_scores, out_source


class Recommender:
    """Fit on one split, then recommend k products to users (row indices of that split)."""

    name = "base"
    #: What the personal list is, for the reasons.
    personal_source = SOURCE_PERSONAL

    def fit(self, data: TrainingData, seed: int) -> Recommender:
        self.data = data
        self.popularity = popularity_scores(data)
        ranked = np.lexsort((np.arange(self.popularity.size), -self.popularity))
        self.ranked = ranked.astype(np.int64)
        self._fit(data, seed)
        return self

    def _fit(self, data: TrainingData, seed: int) -> None:  # noqa: B027 - optional hook
        pass

    def _popular(self, n: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        top = self.ranked[:length]
        span = max(float(self.popularity.max()), 1e-12) if self.popularity.size else 1.0
        return (
            np.broadcast_to(top, (n, top.size)).copy(),
            np.broadcast_to((self.popularity[top] / span).astype(np.float32), (n, top.size)).copy(),
        )

    def _personal(
        self, rows: np.ndarray, k: int, length: int, exclude: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's own ranked list for ``rows`` (exclude rows aligned), or None: k products
        when the model leaves the excluded ones out itself, else ``length`` (k + the most
        exclusions of a user) so that k remain after merge_ranked drops them."""
        return None

    def scores_for(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Dense (rows x items) scores restricted to ``items`` (ranking a few candidates, e.g.
        new products); users without a personal score get the products' popularity."""
        return np.broadcast_to(self.popularity[items], (rows.size, items.size)).astype(np.float64)

    def recommend(
        self,
        rows: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None = None,
        chunk_size: int = 20_000,
    ) -> Recommendations:
        """k products for each user row; the model's own list first, then global popularity."""
        rows = np.asarray(rows, dtype=np.int64)
        out_items, out_scores, out_source = [], [], []
        for start in range(0, rows.size, chunk_size):
            chunk = rows[start : start + chunk_size]
            sub_exclude = None if exclude is None else exclude[chunk]
            excluded = 0 if sub_exclude is None else int(np.diff(sub_exclude.indptr).max(initial=0))
            length = min(k + excluded, self.data.catalogue.size)
            parts = []
            personal = self._personal(chunk, k, length, sub_exclude)
            if personal is not None:
                # the personal list comes first: merge_ranked keeps the parts' order, and the
                # source says which list a product came from
                parts.append((personal[0], personal[1], self.personal_source))
            parts.append((*self._popular(chunk.size, length), SOURCE_POPULAR))
            items, scores, source = merge_ranked(parts, k, sub_exclude)
            out_items.append(items)
            out_scores.append(scores)
            out_source.append(source)
        if not out_items:
            empty = np.zeros((0, k), np.int64)
            return Recommendations(empty, empty.astype(np.float32), empty.astype(np.int8))
        return Recommendations(np.vstack(out_items), np.vstack(out_scores), np.vstack(out_source))
