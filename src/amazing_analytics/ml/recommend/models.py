"""The recommenders compared by the evaluation, all with the same interface.

* ``popularity`` - recent global popularity: products by their summed decayed weight.
* ``category_popularity`` - popularity within the user's preferred category (the category_id
  with the most decayed weight in their history), filled with global popularity.
* ``item_knn`` - item-based kNN on session co-occurrence: score(u, j) = sum over the user's
  products i of weight(u, i) x sim(i, j), sim the co-occurrence count normalised by the
  square root of both products' totals, the ``KNN_NEIGHBOURS`` best neighbours per product.
* ``recently_viewed`` - "recently viewed, not yet bought": the products the user viewed or
  carted and never bought, the most recent first (the pair's last event).
* ``buy_again`` - "buy again": the products the user bought in a repeat-purchase category
  (int_recommender_product_features), by decayed weight.
* ``lightfm`` - LightFM (WARP) hybrid: a product is the sum of embeddings of its id (when it had
  interactions), category_id, family, brand and price band, so products never interacted with
  still get a representation (cold start); a user is the sum of embeddings of their id,
  preferred category_id and preferred price band.

Every model leaves out the products a user bought (``exclude``) and fills lists it cannot fill
(a user without history, few neighbours) with global popularity, so every list has k products.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from amazing_analytics.ml.recommend.data import TrainingData
from amazing_analytics.ml.recommend.topk import compact, excluded_mask, top_k_dot, top_k_sparse

#: Every model, simplest first: the order the evidence-based selection walks (a model serves
#: instead of a simpler one only when its interval clears the simpler one's).
MODEL_NAMES = (
    "popularity",
    "recently_viewed",
    "buy_again",
    "category_popularity",
    "item_knn",
    "lightfm",
)
#: Neighbours kept per product by item_knn.
KNN_NEIGHBOURS = 50
#: Source of each recommended product, used to word the reason.
SOURCE_POPULAR, SOURCE_CATEGORY, SOURCE_PERSONAL, SOURCE_RECENT, SOURCE_BUY_AGAIN = 0, 1, 2, 3, 4


@dataclass
class Recommendations:
    """Lists of product indices (n x k, -1 = empty), their scores and where each came from."""

    items: np.ndarray
    scores: np.ndarray
    source: np.ndarray


@dataclass(frozen=True)
class LightFMParams:
    """LightFM settings; the dbt models take them from the recommender_* vars."""

    components: int = 16
    epochs: int = 3
    learning_rate: float = 0.05
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    max_sampled: int = 10
    threads: int = 1
    user_identity: bool = True
    item_identity: bool = True
    loss: str = "warp"
    learning_schedule: str = "adagrad"
    use_sample_weight: bool = True


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


class PopularityRecommender(Recommender):
    name = "popularity"


class CategoryPopularityRecommender(Recommender):
    name = "category_popularity"
    personal_source = SOURCE_CATEGORY

    def _fit(self, data: TrainingData, seed: int) -> None:
        category = data.catalogue.category_id
        self.categories, self.item_category = np.unique(category, return_inverse=True)
        n_cat = self.categories.size
        onehot = sp.csr_matrix(
            (np.ones(category.size, np.float32), (np.arange(category.size), self.item_category)),
            shape=(category.size, n_cat),
        )
        user_category = (data.weights @ onehot).toarray() if data.n_users else np.zeros((0, n_cat))
        has_history = user_category.sum(axis=1) > 0
        self.preferred = np.where(has_history, np.argmax(user_category, axis=1), -1)
        # products of each category, most popular first
        order = np.lexsort((np.arange(category.size), -self.popularity, self.item_category))
        self.by_category = order
        self.category_start = np.searchsorted(self.item_category[order], np.arange(n_cat + 1))

    def _personal(self, rows, k, length, exclude):
        n = rows.size
        items = np.full((n, length), -1, dtype=np.int64)
        scores = np.full((n, length), -np.inf, dtype=np.float32)
        span = max(float(self.popularity.max()), 1e-12) if self.popularity.size else 1.0
        preferred = self.preferred[rows]
        for c in np.unique(preferred[preferred >= 0]):
            members = self.by_category[self.category_start[c] : self.category_start[c + 1]][:length]
            mask = preferred == c
            items[mask, : members.size] = members
            scores[mask, : members.size] = self.popularity[members] / span
        return items, scores

    def scores_for(self, rows, items):
        base = super().scores_for(rows, items)
        span = max(float(self.popularity.max()), 1e-12) if self.popularity.size else 1.0
        same = self.item_category[items][None, :] == self.preferred[rows][:, None]
        return np.where(same, 1.0 + base / span, base / span)


class _OwnHistoryRecommender(Recommender):
    """A list from the user's own history (``candidates``: users x products scores), then
    popularity."""

    def _candidates(self, data: TrainingData) -> sp.csr_matrix:
        raise NotImplementedError

    def _fit(self, data: TrainingData, seed: int) -> None:
        self.candidates = sp.csr_matrix(self._candidates(data), dtype=np.float64)
        self.candidates.eliminate_zeros()

    def _personal(self, rows, k, length, exclude):
        return top_k_sparse(self.candidates[rows], k, exclude=exclude)

    def scores_for(self, rows, items):
        personal = self.candidates[rows][:, items].toarray()
        return np.where(personal > 0, personal + 1e9, super().scores_for(rows, items))


class RecentlyViewedRecommender(_OwnHistoryRecommender):
    name = "recently_viewed"
    personal_source = SOURCE_RECENT

    def _candidates(self, data):
        recency = sp.csr_matrix(data.recency_scores(), dtype=np.float64)
        # never bought: drop the bought pairs (whatever their category)
        return recency - recency.multiply(data.bought)


class BuyAgainRecommender(_OwnHistoryRecommender):
    name = "buy_again"
    personal_source = SOURCE_BUY_AGAIN

    def _candidates(self, data):
        repeat = data.catalogue.is_repeat_purchase[None, :].astype(np.float64)
        return sp.csr_matrix(data.weights.multiply(data.bought).multiply(repeat))


class ItemKNNRecommender(Recommender):
    name = "item_knn"

    def _fit(self, data: TrainingData, seed: int) -> None:
        self.similarity = item_similarity(data.cooccurrence, KNN_NEIGHBOURS)

    def _personal(self, rows, k, length, exclude):
        scores = (self.data.weights[rows] @ self.similarity).tocsr()
        items, values = top_k_sparse(scores, k, exclude=exclude)
        return items, values

    def scores_for(self, rows, items):
        personal = (self.data.weights[rows] @ self.similarity[:, items]).toarray()
        has = np.asarray(personal.any(axis=1))
        return np.where(has[:, None], personal + 1e9, super().scores_for(rows, items))


def item_similarity(cooccurrence: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
    """Co-occurrence normalised by sqrt(total_i x total_j), the best ``neighbours`` per row."""
    cooc = sp.csr_matrix(cooccurrence, dtype=np.float32)
    totals = np.asarray(cooc.sum(axis=1)).ravel()
    inv = np.where(totals > 0, 1.0 / np.sqrt(np.maximum(totals, 1e-12)), 0.0).astype(np.float32)
    sim = sp.diags(inv) @ cooc @ sp.diags(inv)
    items, values = top_k_sparse(sim.tocsr(), neighbours)
    keep = items >= 0
    rows = np.repeat(np.arange(items.shape[0]), items.shape[1])[keep.ravel()]
    return sp.csr_matrix((values[keep], (rows, items[keep])), shape=cooc.shape)


@dataclass
class LightFMRecommender(Recommender):
    params: LightFMParams = field(default_factory=LightFMParams)
    name = "lightfm"

    def _fit(self, data: TrainingData, seed: int) -> None:
        from lightfm import LightFM

        self.item_features, self.item_feature_names = item_feature_matrix(
            data, self.params.item_identity
        )
        self.user_features, self.user_feature_names = user_feature_matrix(
            data, self.params.user_identity
        )
        interactions = sp.coo_matrix(data.weights)
        binary = sp.coo_matrix(
            (np.ones(interactions.nnz, np.float32), (interactions.row, interactions.col)),
            shape=interactions.shape,
        )
        p = self.params
        self.model = LightFM(
            no_components=p.components,
            loss=p.loss,
            learning_schedule=p.learning_schedule,
            learning_rate=p.learning_rate,
            item_alpha=p.item_alpha,
            user_alpha=p.user_alpha,
            max_sampled=p.max_sampled,
            random_state=np.random.RandomState(seed),
        )
        # sample weights: the decayed weight relative to its mean (LightFM scales updates by it)
        sample_weight = interactions.data / max(float(interactions.data.mean()), 1e-12)
        sample_weight = sp.coo_matrix(
            (sample_weight.astype(np.float32), (interactions.row, interactions.col)),
            shape=interactions.shape,
        )
        self.model.fit(
            binary,
            user_features=self.user_features,
            item_features=self.item_features,
            sample_weight=sample_weight if p.use_sample_weight else None,
            epochs=p.epochs,
            num_threads=p.threads,
        )
        self.item_bias, self.item_vectors = self.model.get_item_representations(self.item_features)
        self.user_bias, self.user_vectors = self.model.get_user_representations(self.user_features)
        self.has_history = data.history_counts() > 0

    def _personal(self, rows, k, length, exclude):
        items, scores = top_k_dot(
            self.user_vectors[rows],
            self.item_vectors,
            self.item_bias,
            k,
            exclude=exclude,
        )
        # users without any history get no personal list (global popularity instead)
        items[~self.has_history[rows]] = -1
        scores[~self.has_history[rows]] = -np.inf
        return items, scores

    def scores_for(self, rows, items):
        personal = self.user_vectors[rows] @ self.item_vectors[items].T + self.item_bias[items]
        return np.where(
            self.has_history[rows][:, None],
            personal.astype(np.float64),
            super().scores_for(rows, items),
        )


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


def make_model(name: str, params: LightFMParams | None = None) -> Recommender:
    if name == "popularity":
        return PopularityRecommender()
    if name == "recently_viewed":
        return RecentlyViewedRecommender()
    if name == "buy_again":
        return BuyAgainRecommender()
    if name == "category_popularity":
        return CategoryPopularityRecommender()
    if name == "item_knn":
        return ItemKNNRecommender()
    if name == "lightfm":
        return LightFMRecommender(params or LightFMParams())
    raise ValueError(f"unknown recommender {name!r}; expected one of {', '.join(MODEL_NAMES)}")
