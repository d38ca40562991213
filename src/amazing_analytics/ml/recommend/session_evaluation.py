"""The next-item-in-session evaluation of the session models (session_recommender_evaluation).

Protocol (the published REES46 benchmarks, Transformers4Rec): the test sessions are those
starting in the test window (``int_session_evaluation_sequences``: consecutive repeats
collapsed, at least 2 items); the neighbours and the popularity come from the days before it
(``int_session_item_neighbours_train``, ``interactions`` split evaluation_train). For every
session and every position t >= 2, each model is asked, through
:func:`~amazing_analytics.ml.recommend.session.recommend_for_session` and the popularity fill the
API applies (:func:`~amazing_analytics.ml.recommend.session.fill_with_popular`), for k products
given items 1..t-1; item t is the truth. Per prediction, with r the truth's 1-based rank in
the list (no hit: r = infinity):

* HR@k (``hit_rate``) = 1 if r <= k
* NDCG@k (``ndcg``) = 1 / log2(r + 1) (one relevant item: the ideal DCG is 1)
* MRR@k (``mrr``) = 1 / r

averaged over the predictions of a slice: ``all``, ``session_length`` (2, 3-4, 5-9, 10+
items), ``user_type`` (``returning``: the shopper has events before the window; ``new``) and
``category_family`` (the family, first level of category_code, of the item to predict: only
those predictions count, in the sessions that have one).
Intervals: a seeded percentile bootstrap resampling whole sessions (the same draws for every
model: a paired comparison). Selection: :func:`~amazing_analytics.ml.recommend.selection.
select_by_evidence` on HR@k over ``all``, models in
:data:`~amazing_analytics.ml.recommend.session.SESSION_MODELS` order (simplest first). Fewer
test sessions than ``min_sessions``: status ``not_enough_evidence`` and popularity serves.

To keep the cost bounded, a seeded sample of at most ``sample_sessions`` test sessions is
evaluated (the message says how many of how many).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.recommend.data import build_catalogue, build_training_data
from amazing_analytics.ml.recommend.models import LightFMParams, LightFMRecommender
from amazing_analytics.ml.recommend.selection import (
    NOT_ENOUGH_EVIDENCE,
    Interval,
    bootstrap_interval,
    resample_indices,
    select_by_evidence,
)
from amazing_analytics.ml.recommend.session import (
    SESSION_MODELS,
    NeighbourIndex,
    SessionItem,
    embedding_neighbour_table,
    fill_with_popular,
    model_params,
    recommend_for_session,
)

SEQUENCE_COLUMNS = (
    "session_id",
    "user_id",
    "position",
    "product_id",
    "event_type",
    "session_length",
    "is_returning_user",
)
SESSION_METRICS = ("hit_rate", "ndcg", "mrr")
SELECTION_METRIC = "hit_rate"
#: Models that need the LightFM embedding neighbours.
EMBEDDING_MODELS = ("embedding", "hybrid")
#: LightFM needs at least this many training interactions (as the batch evaluation).
MIN_EMBEDDING_INTERACTIONS = 200
#: Session length slices: (label, shortest, longest).
LENGTH_BUCKETS = (("2", 2, 2), ("3-4", 3, 4), ("5-9", 5, 9), ("10+", 10, 10**9))

SESSION_EVALUATION_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("slice_type", pa.string()),
        ("slice", pa.string()),
        ("metric", pa.string()),
        ("k", pa.int32()),
        ("value", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("session_count", pa.int64()),
        ("prediction_count", pa.int64()),
        ("is_selected", pa.bool_()),
        ("status", pa.string()),
        ("message", pa.string()),
        ("params", pa.string()),
    ]
)


@dataclass(frozen=True)
class SessionEvaluationSettings:
    k: int = 20
    sample_sessions: int = 5000
    min_sessions: int = 200
    bootstrap_samples: int = 1000
    seed: int = 42
    neighbours_top_n: int = 50
    history_length: int = 10

    def __post_init__(self) -> None:
        for name in ("k", "sample_sessions", "min_sessions", "neighbours_top_n"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.bootstrap_samples < 0:
            raise ValueError("bootstrap_samples must be >= 0")


@dataclass(frozen=True)
class TestSessions:
    """The (sampled) test sessions as flat arrays, sorted by session then position."""

    session_ids: np.ndarray  # per session
    user_ids: np.ndarray  # per session (-1 = unknown)
    is_returning: np.ndarray  # per session
    starts: np.ndarray  # offsets into products/event_types, length sessions + 1
    products: np.ndarray
    event_types: np.ndarray
    total_sessions: int  # before sampling

    @property
    def size(self) -> int:
        return int(self.session_ids.size)

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)


def load_test_sessions(sequences: ArrowData, sample_sessions: int, seed: int) -> TestSessions:
    """The sequences table as arrays; a seeded sample of at most ``sample_sessions`` sessions."""
    table = as_table(sequences)
    require_columns(table, SEQUENCE_COLUMNS, "int_session_evaluation_sequences")
    table = table.sort_by([("session_id", "ascending"), ("position", "ascending")])
    sessions = np.asarray(
        pc.cast(table.column("session_id"), pa.string()).to_numpy(zero_copy_only=False), object
    )
    products = np.asarray(
        pc.cast(table.column("product_id"), pa.int64()).to_numpy(zero_copy_only=False), np.int64
    )
    types = np.asarray(
        pc.cast(table.column("event_type"), pa.string()).to_numpy(zero_copy_only=False), object
    )
    users = np.nan_to_num(numeric_column(table, "user_id"), nan=-1).astype(np.int64)
    returning = np.asarray(
        pc.fill_null(table.column("is_returning_user"), False).to_numpy(zero_copy_only=False), bool
    )
    first = np.flatnonzero(np.r_[True, sessions[1:] != sessions[:-1]]) if sessions.size else []
    first = np.asarray(first, np.int64)
    bounds = np.r_[first, sessions.size].astype(np.int64)
    total = int(first.size)
    chosen = np.arange(total)
    if total > sample_sessions:
        chosen = np.sort(np.random.default_rng(seed).choice(total, sample_sessions, replace=False))
    pieces = [np.arange(bounds[i], bounds[i + 1]) for i in chosen]
    rows = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
    lengths = bounds[chosen + 1] - bounds[chosen]
    return TestSessions(
        session_ids=sessions[first[chosen]] if total else np.zeros(0, object),
        user_ids=users[first[chosen]] if total else np.zeros(0, np.int64),
        is_returning=returning[first[chosen]] if total else np.zeros(0, bool),
        starts=np.r_[0, np.cumsum(lengths)].astype(np.int64),
        products=products[rows],
        event_types=types[rows],
        total_sessions=total,
    )


def popularity_ranking(interactions: ArrowData) -> tuple[np.ndarray, np.ndarray]:
    """Products by summed decayed weight (most popular first, ties by product id) of the
    evaluation_train split: the popularity recommender's score on the training days."""
    table = as_table(interactions)
    table = table.filter(pc.equal(table.column("split"), "evaluation_train"))
    if table.num_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    grouped = table.group_by("product_id").aggregate([("weight", "sum")])
    ids = np.asarray(pc.cast(grouped.column("product_id"), pa.int64()).to_numpy(), np.int64)
    weights = np.nan_to_num(numeric_column(grouped, "weight_sum"))
    order = np.lexsort((ids, -weights))
    return ids[order], weights[order]


def recently_viewed_not_bought(
    interactions: ArrowData, limit: int, split: str = "evaluation_train"
) -> dict[int, list[int]]:
    """Per user, the products viewed or carted and never bought in ``split``, most recent first
    (last_event_at, then product id), at most ``limit``: the shopper's history for the blend."""
    table = as_table(interactions)
    table = table.filter(pc.equal(table.column("split"), split))
    bought = pc.fill_null(table.column("purchase_count"), 0)
    table = table.filter(pc.equal(bought, 0))
    if table.num_rows == 0:
        return {}
    users = np.asarray(pc.cast(table.column("user_id"), pa.int64()).to_numpy(), np.int64)
    products = np.asarray(pc.cast(table.column("product_id"), pa.int64()).to_numpy(), np.int64)
    last = np.asarray(
        pc.cast(table.column("last_event_at"), pa.timestamp("us"))
        .cast(pa.int64())
        .to_numpy(zero_copy_only=False),
        np.int64,
    )
    order = np.lexsort((products, -last, users))
    users, products = users[order], products[order]
    out: dict[int, list[int]] = {}
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], users.size]
    for start, end in zip(starts, ends, strict=True):
        out[int(users[start])] = products[start : min(end, start + limit)].tolist()
    return out


def embedding_index_rows(
    interactions: ArrowData,
    product_features: ArrowData,
    params: LightFMParams,
    seed: int,
    top_n: int,
) -> pa.Table | None:
    """LightFM fitted on evaluation_train, as embedding neighbour rows (None: too little data)."""
    catalogue = build_catalogue(product_features)
    data = build_training_data(interactions, catalogue, None, "evaluation_train")
    if data.weights.nnz < MIN_EMBEDDING_INTERACTIONS or catalogue.size < 2:
        return None
    model = LightFMRecommender(params).fit(data, seed)
    vectors = np.asarray(model.item_vectors, np.float32)
    offsets = pa.array(np.arange(0, (catalogue.size + 1) * vectors.shape[1], vectors.shape[1]))
    embeddings = pa.table(
        {
            "product_id": pa.array(catalogue.item_ids, pa.int64()),
            "embedding": pa.ListArray.from_arrays(
                pa.array(offsets, pa.int32()), pa.array(vectors.ravel())
            ),
        }
    )
    return embedding_neighbour_table(embeddings, top_n)


def session_ranks(
    sessions: TestSessions,
    index: NeighbourIndex,
    popular: np.ndarray,
    histories: Mapping[int, list[int]],
    k: int,
    model: str,
    params: Mapping[str, float],
) -> tuple[np.ndarray, float]:
    """The truth's 1-based rank (0 = not in the k) for every prediction, sessions in order,
    and the mean milliseconds per list (scoring and fill)."""
    ranks = np.zeros(int(sessions.products.size - sessions.size), np.int32)
    out = 0
    started = time.perf_counter()
    popular_list = popular[: 2 * k + 1].tolist()
    for s in range(sessions.size):
        lo, hi = sessions.starts[s], sessions.starts[s + 1]
        items = [
            SessionItem(int(p), str(t))
            for p, t in zip(sessions.products[lo:hi], sessions.event_types[lo:hi], strict=True)
        ]
        history = histories.get(int(sessions.user_ids[s]), ()) if sessions.is_returning[s] else ()
        for t in range(1, len(items)):
            recs = recommend_for_session(
                items[:t], index, k, history=history, model=model, params=params
            )
            recs = fill_with_popular(recs, popular_list, k, exclude=(items[t - 1].product_id,))
            truth = items[t].product_id
            for rank, rec in enumerate(recs, start=1):
                if rec.product_id == truth:
                    ranks[out] = rank
                    break
            out += 1
    seconds = time.perf_counter() - started
    return ranks, 1000.0 * seconds / max(out, 1)


def _per_session(
    ranks: np.ndarray, sessions: TestSessions, keep: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per session, the summed metric over its predictions (only those in ``keep``, a
    per-prediction mask, when given)."""
    hit = (ranks > 0).astype(np.float64)
    safe = np.where(ranks > 0, ranks, 1).astype(np.float64)
    values = {
        "hit_rate": hit,
        "ndcg": np.where(ranks > 0, 1.0 / np.log2(safe + 1.0), 0.0),
        "mrr": np.where(ranks > 0, 1.0 / safe, 0.0),
    }
    if keep is not None:
        values = {name: np.where(keep, v, 0.0) for name, v in values.items()}
    return {name: _session_sums(v, sessions) for name, v in values.items()}


def _session_sums(per_prediction: np.ndarray, sessions: TestSessions) -> np.ndarray:
    """Per session, the sum of a per-prediction array (predictions in session order)."""
    predictions = sessions.lengths() - 1
    bounds = np.r_[0, np.cumsum(predictions)][:-1]
    if per_prediction.size == 0:
        return np.zeros(sessions.size)
    return np.add.reduceat(np.asarray(per_prediction, np.float64), bounds)


def prediction_families(
    sessions: TestSessions, product_features: ArrowData | None
) -> np.ndarray | None:
    """The category family (first level of category_code, 'unknown' without one) of the item
    each prediction must find, predictions in session order; None without product features."""
    if product_features is None:
        return None
    features = as_table(product_features)
    if not {"product_id", "category_level_1"} <= set(features.column_names):
        return None
    family_of = dict(
        zip(
            pc.cast(features.column("product_id"), pa.int64()).to_pylist(),
            pc.fill_null(
                pc.cast(features.column("category_level_1"), pa.string()), "unknown"
            ).to_pylist(),
            strict=True,
        )
    )
    is_target = np.ones(sessions.products.size, bool)
    is_target[sessions.starts[:-1]] = False
    return np.array(
        [family_of.get(int(p), "unknown") for p in sessions.products[is_target]], dtype=object
    )


def _slices(
    sessions: TestSessions, families: np.ndarray | None = None
) -> list[tuple[str, str, np.ndarray, np.ndarray | None]]:
    """(slice type, slice, session mask, per-prediction mask or None = all its predictions)."""
    out: list[tuple[str, str, np.ndarray, np.ndarray | None]] = [
        ("all", "all", np.ones(sessions.size, bool), None)
    ]
    lengths = sessions.lengths()
    for label, shortest, longest in LENGTH_BUCKETS:
        out.append(("session_length", label, (lengths >= shortest) & (lengths <= longest), None))
    out.append(("user_type", "returning", sessions.is_returning.copy(), None))
    out.append(("user_type", "new", ~sessions.is_returning, None))
    if families is not None:
        for family in sorted(set(families.tolist())):
            keep = families == family
            out.append(("category_family", family, _session_sums(keep, sessions) > 0, keep))
    return out


def not_evaluated(message: str, k: int) -> pa.Table:
    """One row saying why there is no evaluation; popularity serves."""
    return pa.Table.from_pylist(
        [
            {
                "model": "popularity",
                "slice_type": "all",
                "slice": "all",
                "metric": "not_evaluated",
                "k": k,
                "value": None,
                "ci_low": None,
                "ci_high": None,
                "session_count": 0,
                "prediction_count": 0,
                "is_selected": True,
                "status": NOT_ENOUGH_EVIDENCE,
                "message": message,
                "params": json.dumps({}),
            }
        ],
        schema=SESSION_EVALUATION_SCHEMA,
    )


def evaluate_sessions(
    sequences: ArrowData,
    neighbours: ArrowData,
    interactions: ArrowData,
    product_features: ArrowData | None,
    *,
    settings: SessionEvaluationSettings,
    lightfm: LightFMParams | None = None,
    models: tuple[str, ...] = SESSION_MODELS,
) -> pa.Table:
    """Every session model on the next-item protocol, long form, the selected one marked.

    ``product_features`` and ``lightfm`` are needed for the ``embedding`` and ``hybrid`` models
    only (without them, or with too few interactions, their rows say they were not evaluated).
    """
    k = settings.k
    sessions = load_test_sessions(sequences, settings.sample_sessions, settings.seed)
    neighbours = as_table(neighbours)
    if sessions.total_sessions == 0:
        return not_evaluated(
            "no test session of at least 2 items in the test window (recommender_eval_days); "
            "the session recommender serves popularity",
            k,
        )
    popular, _ = popularity_ranking(interactions)
    histories = recently_viewed_not_bought(interactions, settings.history_length)
    index_parts = [
        neighbours.select(["product_id", "neighbour_product_id", "neighbour_rank", "score"])
    ]
    embedding_message = None
    if any(name in EMBEDDING_MODELS for name in models):
        rows = None
        if product_features is not None:
            rows = embedding_index_rows(
                interactions,
                product_features,
                lightfm or LightFMParams(),
                settings.seed,
                settings.neighbours_top_n,
            )
        if rows is None:
            embedding_message = "not evaluated: too few training interactions for LightFM"
        else:
            index_parts = [
                index_parts[0]
                .append_column("source", pa.array(["session"] * neighbours.num_rows, pa.string()))
                .cast(rows.schema),
                rows,
            ]
    index = NeighbourIndex.from_arrow(pa.concat_tables(index_parts))
    enough = sessions.total_sessions >= settings.min_sessions
    slices = _slices(sessions, prediction_families(sessions, product_features))
    draws = [
        resample_indices(int(mask.sum()), settings.bootstrap_samples, settings.seed + position)
        for position, (_, _, mask, _) in enumerate(slices)
    ]
    predictions = sessions.lengths() - 1
    records: list[dict] = []
    intervals: dict[str, Interval] = {}
    evaluated = [m for m in models if not (m in EMBEDDING_MODELS and embedding_message)]
    for name in models:
        params = model_params(name)
        if name not in evaluated:
            records.append(
                _record(name, "all", "all", SELECTION_METRIC, k, Interval(None, None, None), 0, 0)
                | {"status": NOT_ENOUGH_EVIDENCE, "message": embedding_message}
            )
            continue
        ranks, milliseconds = session_ranks(sessions, index, popular, histories, k, name, params)
        for (slice_type, slice_name, mask, keep), draw in zip(slices, draws, strict=True):
            per_session = _per_session(ranks, sessions, keep)
            counted = predictions if keep is None else _session_sums(keep, sessions)
            for metric in SESSION_METRICS:
                interval = bootstrap_interval(per_session[metric][mask], counted[mask], draw)
                records.append(
                    _record(
                        name,
                        slice_type,
                        slice_name,
                        metric,
                        k,
                        interval,
                        int(mask.sum()),
                        int(counted[mask].sum()),
                    )
                )
                if slice_type == "all" and metric == SELECTION_METRIC:
                    intervals[name] = interval
        records.append(
            _record(
                name,
                "all",
                "all",
                "milliseconds_per_list",
                k,
                Interval(milliseconds, None, None),
                sessions.size,
                int(predictions.sum()),
            )
        )
        for record in records:
            if record["model"] == name:
                record["params"] = json.dumps(params, sort_keys=True)
    sample_note = (
        f"{sessions.size} of {sessions.total_sessions} test sessions evaluated (seeded sample)"
    )
    if enough:
        selected, notes = select_by_evidence(models, intervals)
        message = f"{sample_note}; selection on {SELECTION_METRIC}@{k}: " + "; ".join(notes)
        status = "ok"
    else:
        selected = "popularity"
        message = (
            f"not enough evidence: {sessions.total_sessions} test sessions (need "
            f"{settings.min_sessions}, var session_eval_min_sessions); popularity serves"
        )
        status = NOT_ENOUGH_EVIDENCE
    for record in records:
        record["is_selected"] = record["model"] == selected
        if record["status"] == "ok":
            record["status"] = status
        if record["slice_type"] == "all" and record["message"] is None:
            record["message"] = message
    return pa.Table.from_pylist(records, schema=SESSION_EVALUATION_SCHEMA)


def _record(
    model: str,
    slice_type: str,
    slice_name: str,
    metric: str,
    k: int,
    interval: Interval,
    sessions: int,
    predictions: int,
) -> dict:
    return {
        "model": model,
        "slice_type": slice_type,
        "slice": slice_name,
        "metric": metric,
        "k": k,
        "value": interval.value,
        "ci_low": interval.low,
        "ci_high": interval.high,
        "session_count": sessions,
        "prediction_count": predictions,
        "is_selected": False,
        "status": "ok",
        "message": None,
        "params": json.dumps(model_params(model), sort_keys=True),
    }
