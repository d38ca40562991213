"""Session-based recommendation: the next product for a live session, from item neighbours.

One function, :func:`recommend_for_session`, scores every session model. The evaluation
(``session_recommender_evaluation``) and the live API both call it, with the model name and
params the evaluation selected, so what is served is what was evaluated.

The neighbours come from ``session_item_neighbours`` (co-visitation within past sessions,
weighted by event type and recency, top N per product, computed in SQL; see
``macros/session_item_neighbours.sql``), loaded into a :class:`NeighbourIndex`. An index can
also hold LightFM embedding neighbours (rows with ``source = 'embedding'``, built by
:func:`embedding_neighbour_table` from ``item_embeddings``) for the ``embedding`` model.

Models (:data:`SESSION_MODELS`, simplest first: the selection's complexity order):

* ``popularity`` - returns nothing: the caller fills the list with popular products (the API
  from ``popular_products``, the evaluation from the training days' popularity).
* ``covisitation`` - the last product's co-visitation neighbours (item-to-item).
* ``sknn`` - session-kNN in its item form: every product of the session votes for its
  neighbours with the same weight. Session-kNN (Ludewig & Jannach 2018) scores a product by the
  summed similarity of the past sessions that contain it; with the dot product of binary
  session vectors as the similarity and all past sessions as neighbours, that sum is exactly
  the sum over the session's products of their co-visitation counts, which is what the
  neighbour table holds (truncated to the top N per product).
* ``vsknn`` - V-SkNN: the same, with the votes decayed linearly by position (the last product
  weighs 1, the first 1/length) and weighted by event type (a cart or purchase says more than
  a view).
* ``embedding`` - LightFM item-embedding similarity, V-SkNN-weighted over the session.
* ``vsknn_history`` - V-SkNN blended with the known shopper's history: the products they
  recently viewed and did not buy, and those products' neighbours, at ``history_weight``.
* ``hybrid`` - ``vsknn_history`` plus the embedding neighbours of the session's products at
  ``embedding_weight``: co-visitation leads where past sessions know the products, LightFM's
  content-aware embeddings speak for products that past sessions have not seen together.

Each product's neighbour scores are divided by its best neighbour's score before products are
combined, so a heavily visited product does not drown the others of the session. The current
(last) product is never returned (consecutive repeats are collapsed, so it cannot be next),
nor any product in ``exclude``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.guards import require_columns

#: Session models, simplest first (the order the selection walks).
SESSION_MODELS = (
    "popularity",
    "covisitation",
    "sknn",
    "vsknn",
    "embedding",
    "vsknn_history",
    "hybrid",
)
#: What the demo build selects; callers pass the selected model from the evaluation.
DEFAULT_MODEL = "sknn"
EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")
NEIGHBOUR_COLUMNS = ("product_id", "neighbour_product_id", "neighbour_rank", "score")
NEIGHBOUR_SOURCES = ("session", "embedding")
#: Default params of each model; ``params`` passed to recommend_for_session override them.
DEFAULT_PARAMS: dict[str, dict[str, float]] = {
    "popularity": {},
    "covisitation": {},
    "sknn": {},
    "vsknn": {"weight_view": 1.0, "weight_cart": 3.0, "weight_purchase": 5.0},
    "embedding": {"weight_view": 1.0, "weight_cart": 3.0, "weight_purchase": 5.0},
    "vsknn_history": {
        "weight_view": 1.0,
        "weight_cart": 3.0,
        "weight_purchase": 5.0,
        "history_weight": 0.3,
        "history_neighbour_weight": 0.3,
        "history_length": 10.0,
    },
    "hybrid": {
        "weight_view": 1.0,
        "weight_cart": 3.0,
        "weight_purchase": 5.0,
        "embedding_weight": 0.2,
        "history_weight": 0.3,
        "history_neighbour_weight": 0.3,
        "history_length": 10.0,
    },
}
#: What a session product's vote is worth, by event type, for models without event weights.
_UNWEIGHTED = {"weight_view": 1.0, "weight_cart": 1.0, "weight_purchase": 1.0}


@dataclass(frozen=True)
class SessionItem:
    product_id: int
    event_type: str  # view | cart | remove_from_cart | purchase


@dataclass(frozen=True)
class ScoredItem:
    product_id: int
    score: float
    source_product_id: int | None  # the session/history product that brought it, for the reason
    source: str  # 'session' | 'history' | 'embedding' | 'popularity'


class SessionInputError(ValueError):
    """A session, a model name or its params are not usable (the message says why)."""


class _Lists:
    """Ranked neighbour lists of one source, as CSR arrays (row = product, in id order)."""

    def __init__(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            self.ids = np.zeros(0, np.int64)
            self.indptr = np.zeros(1, np.int64)
            self.neighbour_ids = np.zeros(0, np.int64)
            self.scores = np.zeros(0, np.float64)
            self.normalised = np.zeros(0, np.float64)
            self.row_of: dict[int, int] = {}
            return
        table = table.sort_by([("product_id", "ascending"), ("neighbour_rank", "ascending")])
        products = _int_column(table, "product_id")
        self.neighbour_ids = _int_column(table, "neighbour_product_id")
        self.scores = np.asarray(
            pc.cast(pc.fill_null(table.column("score"), 0.0), pa.float64()).to_numpy(
                zero_copy_only=False
            ),
            dtype=np.float64,
        )
        starts = np.flatnonzero(np.r_[True, products[1:] != products[:-1]])
        self.ids = products[starts]
        self.indptr = np.r_[starts, products.size].astype(np.int64)
        self.row_of = dict(zip(self.ids.tolist(), range(self.ids.size), strict=True))
        best = np.maximum.reduceat(self.scores, starts) if starts.size else np.zeros(0)
        best_per_row = np.repeat(best, np.diff(self.indptr))
        self.normalised = np.where(
            best_per_row > 0, self.scores / np.where(best_per_row > 0, best_per_row, 1.0), 0.0
        )

    def row(self, product_id: int) -> int:
        return self.row_of.get(product_id, -1)

    def get(self, product_id: int, normalised: bool) -> tuple[np.ndarray, np.ndarray]:
        row = self.row(product_id)
        if row < 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        lo, hi = self.indptr[row], self.indptr[row + 1]
        values = self.normalised if normalised else self.scores
        return self.neighbour_ids[lo:hi], values[lo:hi]


def _int_column(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    if column.null_count:
        raise SessionInputError(f"neighbour table column {name!r} has {column.null_count} nulls")
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


class NeighbourIndex:
    """In-memory lookup built from the session_item_neighbours table.

    The table needs product_id, neighbour_product_id, neighbour_rank and score; an optional
    ``source`` column ('session' | 'embedding') lets one index hold both kinds of neighbours
    (rows without it are session co-visitation neighbours).
    """

    def __init__(self, lists: Mapping[str, _Lists]) -> None:
        self._lists = dict(lists)

    @classmethod
    def from_arrow(cls, table: ArrowData) -> NeighbourIndex:
        table = as_table(table)
        require_columns(table, NEIGHBOUR_COLUMNS, "neighbour table", error=SessionInputError)
        if "source" in table.column_names:
            sources = pc.fill_null(pc.cast(table.column("source"), pa.string()), "session")
            unknown = set(sources.to_pylist()) - set(NEIGHBOUR_SOURCES)
            if unknown:
                raise SessionInputError(
                    f"neighbour table has unknown source(s) {sorted(unknown)}; "
                    f"expected {', '.join(NEIGHBOUR_SOURCES)}"
                )
            lists = {s: _Lists(table.filter(pc.equal(sources, s))) for s in NEIGHBOUR_SOURCES}
        else:
            lists = {"session": _Lists(table), "embedding": _Lists(table.slice(0, 0))}
        return cls(lists)

    def neighbours(self, product_id: int, source: str = "session") -> tuple[np.ndarray, np.ndarray]:
        """The product's neighbour ids and scores, best first (empty arrays if unknown)."""
        return self._source(source).get(int(product_id), normalised=False)

    def knows(self, product_id: int, source: str = "session") -> bool:
        """Has the product any neighbour of this source?"""
        return self._source(source).row(int(product_id)) >= 0

    def product_count(self, source: str = "session") -> int:
        return int(self._source(source).ids.size)

    def _source(self, source: str) -> _Lists:
        if source not in self._lists:
            raise SessionInputError(
                f"unknown neighbour source {source!r}; expected {', '.join(NEIGHBOUR_SOURCES)}"
            )
        return self._lists[source]

    def _normalised(self, product_id: int, source: str) -> tuple[np.ndarray, np.ndarray]:
        return self._source(source).get(int(product_id), normalised=True)


def model_params(model: str, params: Mapping[str, float] | None = None) -> dict[str, float]:
    """The model's defaults overridden by ``params``; unknown models or keys are an error."""
    if model not in DEFAULT_PARAMS:
        raise SessionInputError(
            f"unknown session model {model!r}; expected one of {', '.join(SESSION_MODELS)}"
        )
    merged = dict(DEFAULT_PARAMS[model])
    for key, value in (params or {}).items():
        if key not in merged:
            allowed = ", ".join(merged) or "none"
            raise SessionInputError(f"model {model!r} has no param {key!r} (params: {allowed})")
        try:
            merged[key] = float(value)
        except (TypeError, ValueError):
            raise SessionInputError(f"param {key!r} must be a number, got {value!r}") from None
        if not np.isfinite(merged[key]) or merged[key] < 0:
            raise SessionInputError(f"param {key!r} must be a finite number >= 0, got {value!r}")
    return merged


def _session_weights(
    session: Sequence[SessionItem], params: Mapping[str, float], decay: bool
) -> dict[int, float]:
    """Each session product's vote (summed over its events; remove_from_cart votes nothing).

    Summing a product's votes before looking up its neighbours gives the same scores as
    letting every event vote on its own (the combination is linear), with fewer lookups."""
    n = len(session)
    out: dict[int, float] = {}
    for position, item in enumerate(session):
        if item.event_type not in EVENT_TYPES:
            raise SessionInputError(
                f"unknown event_type {item.event_type!r}; expected one of {', '.join(EVENT_TYPES)}"
            )
        if item.event_type == "remove_from_cart":
            continue
        weight = params.get(f"weight_{item.event_type}", 1.0)
        if decay:
            weight *= (position + 1) / n
        if weight > 0:
            product_id = int(item.product_id)
            out[product_id] = out.get(product_id, 0.0) + weight
    return out


#: Source labels of the votes, by code.
_LABELS = ("session", "history", "embedding")
_SESSION, _HISTORY, _EMBEDDING = 0, 1, 2


class _Votes:
    """Weighted neighbour lists collected for one request, combined once."""

    def __init__(self) -> None:
        self.ids: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []
        self.origins: list[int] = []
        self.labels: list[int] = []

    def add(self, ids: np.ndarray, scores: np.ndarray, origin: int, label: int) -> None:
        if ids.size:
            self.ids.append(ids)
            self.scores.append(scores)
            self.origins.append(origin)
            self.labels.append(label)

    def combine(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Candidates with their summed score; the biggest single vote names the source."""
        if not self.ids:
            empty = np.zeros(0, np.int64)
            return empty, np.zeros(0), empty, np.zeros(0, np.int8)
        sizes = [a.size for a in self.ids]
        candidates = np.concatenate(self.ids)
        scores = np.concatenate(self.scores)
        origin = np.repeat(np.asarray(self.origins, np.int64), sizes)
        label = np.repeat(np.asarray(self.labels, np.int8), sizes)
        if len(sizes) == 1:
            return candidates, scores, origin, label
        order = np.lexsort((-scores, candidates))
        candidates, scores = candidates[order], scores[order]
        starts = np.flatnonzero(np.r_[True, candidates[1:] != candidates[:-1]])
        first = order[starts]
        return candidates[starts], np.add.reduceat(scores, starts), origin[first], label[first]


def recommend_for_session(
    session: Sequence[SessionItem],
    neighbours: NeighbourIndex,
    k: int,
    *,
    history: Sequence[int] = (),
    exclude: Collection[int] = (),
    model: str = DEFAULT_MODEL,
    params: Mapping[str, float] | None = None,
) -> list[ScoredItem]:
    """Up to k products for a live session (time order, oldest first), best first.

    ``history``: the known shopper's recently viewed-not-bought products, newest first (only
    ``vsknn_history`` and ``hybrid`` use it). ``exclude``: never returned. Popularity fill is the caller's:
    fewer than k items (none for ``popularity``, an unknown last product) are returned as is.
    Ties are broken by product id, so the same input always gives the same list.
    """
    if k < 0:
        raise SessionInputError(f"k must be >= 0, got {k}")
    settings = model_params(model, params)
    if model == "popularity" or k == 0:
        return []
    votes = _Votes()
    if model == "covisitation":
        for item in reversed(session):
            if item.event_type not in EVENT_TYPES:
                raise SessionInputError(f"unknown event_type {item.event_type!r}")
            if item.event_type != "remove_from_cart":
                ids, scores = neighbours._normalised(item.product_id, "session")
                votes.add(ids, scores, int(item.product_id), _SESSION)
                break
    else:
        source, label = ("embedding", _EMBEDDING) if model == "embedding" else ("session", _SESSION)
        weighted = _session_weights(
            session,
            settings if model != "sknn" else _UNWEIGHTED,
            decay=model != "sknn",
        )
        for product_id, weight in weighted.items():
            ids, scores = neighbours._normalised(product_id, source)
            votes.add(ids, scores * weight, product_id, label)
            if model == "hybrid":
                ids, scores = neighbours._normalised(product_id, "embedding")
                votes.add(
                    ids, scores * (weight * settings["embedding_weight"]), product_id, _EMBEDDING
                )
        if model in ("vsknn_history", "hybrid") and history:
            top = max(weighted.values()) if weighted else 1.0
            length = int(settings["history_length"])
            for position, product_id in enumerate(list(history)[:length]):
                product_id = int(product_id)
                recency = 1.0 / (position + 1)
                weight = top * settings["history_weight"] * recency
                votes.add(
                    np.array([product_id], np.int64), np.array([weight]), product_id, _HISTORY
                )
                ids, scores = neighbours._normalised(product_id, "session")
                nweight = top * settings["history_neighbour_weight"] * recency
                votes.add(ids, scores * nweight, product_id, _HISTORY)
    candidates, scores, origin, label = votes.combine()
    banned = {int(p) for p in exclude}
    if session:
        banned.add(int(session[-1].product_id))
    if banned and candidates.size:
        keep = ~np.isin(candidates, np.fromiter(banned, np.int64, len(banned)))
        candidates, scores, origin, label = (
            candidates[keep],
            scores[keep],
            origin[keep],
            label[keep],
        )
    order = np.lexsort((candidates, -scores))[:k]
    return [
        ScoredItem(
            product_id=int(candidates[i]),
            score=float(scores[i]),
            source_product_id=int(origin[i]),
            source=_LABELS[label[i]],
        )
        for i in order.tolist()
    ]


def embedding_neighbour_table(
    item_embeddings: ArrowData, top_n: int, products: Collection[int] | None = None
) -> pa.Table:
    """Top ``top_n`` products per product by cosine of their embeddings, as neighbour rows
    with ``source = 'embedding'`` (append them to session_item_neighbours for the index).

    ``item_embeddings``: product_id and embedding (a list of floats), as in item_embeddings.
    ``products``: rows only for these products (their neighbours are still found among all
    products): the evaluation needs the products of its test sessions, not the catalogue
    squared (100k products: 10^10 scores). Computed in blocks of 1,024 products, so memory
    stays at 1,024 x products floats.
    """
    table = as_table(item_embeddings)
    for column in ("product_id", "embedding"):
        if column not in table.column_names:
            raise SessionInputError(f"item embeddings lack column {column!r}")
    schema = pa.schema(
        [
            ("product_id", pa.int64()),
            ("neighbour_product_id", pa.int64()),
            ("neighbour_rank", pa.int32()),
            ("score", pa.float64()),
            ("source", pa.string()),
        ]
    )
    table = table.filter(pc.is_valid(table.column("embedding")))
    if table.num_rows < 2 or top_n < 1:
        return schema.empty_table()
    ids = _int_column(table, "product_id")
    vectors = np.asarray(table.column("embedding").to_pylist(), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    n = min(top_n, ids.size - 1)
    asked = (
        np.arange(ids.size)
        if products is None
        else np.flatnonzero(np.isin(ids, np.fromiter(products, np.int64)))
    )
    if asked.size == 0:
        return schema.empty_table()
    parts_ids, parts_nb, parts_score = [], [], []
    for start in range(0, asked.size, 1024):
        positions = asked[start : start + 1024]
        block = unit[positions] @ unit.T
        rows = np.arange(block.shape[0])
        block[rows, positions] = -np.inf
        top = np.argpartition(-block, n - 1, axis=1)[:, :n]
        top_scores = np.take_along_axis(block, top, axis=1)
        # best first, ties by product id
        order = np.lexsort((ids[top], -top_scores), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        parts_ids.append(np.repeat(ids[positions], n))
        parts_nb.append(ids[top].ravel())
        parts_score.append(np.take_along_axis(block, top, axis=1).ravel().astype(np.float64))
    count = sum(p.size for p in parts_ids)
    return pa.table(
        {
            "product_id": np.concatenate(parts_ids),
            "neighbour_product_id": np.concatenate(parts_nb),
            "neighbour_rank": np.tile(np.arange(1, n + 1, dtype=np.int32), count // n),
            "score": np.concatenate(parts_score),
            "source": np.full(count, "embedding", dtype=object),
        },
        schema=schema,
    )


def serving_index(
    session_neighbours: ArrowData, item_embeddings: ArrowData | None = None, top_n: int = 50
) -> NeighbourIndex:
    """The index the API serves with: session_item_neighbours, plus the top ``top_n`` embedding
    neighbours of item_embeddings (for the ``embedding`` and ``hybrid`` models), the same
    computation the evaluation scores with."""
    table = as_table(session_neighbours).select(list(NEIGHBOUR_COLUMNS))
    parts = [
        pa.table(
            {
                "product_id": pc.cast(table.column("product_id"), pa.int64()),
                "neighbour_product_id": pc.cast(table.column("neighbour_product_id"), pa.int64()),
                "neighbour_rank": pc.cast(table.column("neighbour_rank"), pa.int32()),
                "score": pc.cast(table.column("score"), pa.float64()),
                "source": pa.array(["session"] * table.num_rows, pa.string()),
            }
        )
    ]
    if item_embeddings is not None:
        parts.append(embedding_neighbour_table(item_embeddings, top_n))
    return NeighbourIndex.from_arrow(pa.concat_tables(parts))


def selected_session_model(evaluation: ArrowData) -> tuple[str, dict[str, float]]:
    """The model and params session_recommender_evaluation selected (is_selected rows; the
    ``params`` column holds the params as JSON). Popularity when none is selected."""
    table = as_table(evaluation)
    if table.num_rows == 0 or "is_selected" not in table.column_names:
        return "popularity", {}
    chosen = table.filter(pc.fill_null(table.column("is_selected"), False))
    names = sorted(set(chosen.column("model").to_pylist()))
    if len(names) != 1:
        return "popularity", {}
    params: dict[str, float] = {}
    if "params" in chosen.column_names:
        raw = next((p for p in chosen.column("params").to_pylist() if p), None)
        if raw:
            params = {str(key): float(value) for key, value in json.loads(raw).items()}
    return names[0], model_params(names[0], params)


def fill_with_popular(
    items: Sequence[ScoredItem],
    popular_ids: Sequence[int],
    k: int,
    *,
    exclude: Collection[int] = (),
    popular_scores: Sequence[float] | None = None,
) -> list[ScoredItem]:
    """``items`` completed to k with the popular products (most popular first) that are not
    already in the list nor in ``exclude`` (source 'popularity')."""
    out = list(items[:k])
    taken = {i.product_id for i in out} | {int(p) for p in exclude}
    for position, product_id in enumerate(popular_ids):
        if len(out) >= k:
            break
        product_id = int(product_id)
        if product_id in taken:
            continue
        score = float(popular_scores[position]) if popular_scores is not None else 0.0
        out.append(ScoredItem(product_id, score, None, "popularity"))
        taken.add(product_id)
    return out
