"""The evaluation of every session model on the test sessions, and the selection of the one
the API serves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.recommend.bounds import TrainingBounds
from amazing_analytics.ml.recommend.evaluation.stored import stored_item_embeddings
from amazing_analytics.ml.recommend.models import LightFMParams
from amazing_analytics.ml.recommend.selection import (
    NOT_ENOUGH_EVIDENCE,
    Interval,
    Resamples,
    bootstrap_intervals,
    select_by_evidence,
)
from amazing_analytics.ml.recommend.session import (
    SESSION_MODELS,
    NeighbourIndex,
    embedding_neighbour_table,
    model_params,
)
from amazing_analytics.ml.recommend.session.neighbour_index import NEIGHBOUR_COLUMNS
from amazing_analytics.ml.recommend.session_evaluation.scoring import (
    SESSION_METRICS,
    per_session_metrics,
    session_ranks,
)
from amazing_analytics.ml.recommend.session_evaluation.sessions import (
    TestSessions,
    load_test_sessions,
    prediction_families,
    session_slices,
    session_sums,
)
from amazing_analytics.ml.recommend.session_evaluation.table import (
    SESSION_EVALUATION_SCHEMA,
    evaluation_record,
    not_evaluated,
)
from amazing_analytics.ml.recommend.session_evaluation.training import (
    EMBEDDING_MODELS,
    embedding_index_rows,
    popularity_ranking,
    recently_viewed_not_bought,
)
from amazing_analytics.ml.recommend.threads import beside

SELECTION_METRIC = "hit_rate"
#: Why the embedding models have no rows but this one.
NO_EMBEDDINGS = "not evaluated: too few training interactions for LightFM"


@dataclass(frozen=True)
class SessionEvaluationSettings:
    k: int = 20
    sample_sessions: int = 5000
    min_sessions: int = 200
    bootstrap_samples: int = 1000
    seed: int = 42
    neighbours_top_n: int = 50
    history_length: int = 10
    #: the LightFM embedding model's training bounds (recommender_train_window_days and
    #: recommender_max_training_rows, as the batch models'; 0 = none)
    train_window_days: int = 0
    max_training_rows: int = 0

    def __post_init__(self) -> None:
        for name in ("k", "sample_sessions", "min_sessions", "neighbours_top_n"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.bootstrap_samples < 0:
            raise ValueError("bootstrap_samples must be >= 0")


def evaluate_sessions(
    sequences: ArrowData,
    neighbours: ArrowData,
    interactions: ArrowData,
    product_features: ArrowData | None,
    *,
    settings: SessionEvaluationSettings,
    lightfm: LightFMParams | None = None,
    models: tuple[str, ...] = SESSION_MODELS,
    lightfm_embeddings: ArrowData | None = None,
) -> pa.Table:
    """Every session model on the next-item protocol, long form, the selected one marked.

    ``product_features`` and ``lightfm`` are needed for the ``embedding`` and ``hybrid`` models
    only (without them, or with too few interactions, their rows say they were not evaluated).
    ``lightfm_embeddings``: a LightFM already fitted on the same days (the batch evaluation's,
    recommender_evaluation_embeddings, when both evaluations split on the same day), whose
    product vectors the embedding models use instead of a fit of their own; None, or a table
    without products: fitted here on ``interactions``.
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
    # only the test sessions' shoppers are looked up: a dict for every shopper of the training
    # days held millions of Python lists at scale
    histories = recently_viewed_not_bought(
        interactions, settings.history_length, users=sessions.user_ids
    )
    session_index = NeighbourIndex.from_arrow(neighbours.select(list(NEIGHBOUR_COLUMNS)))
    slices = session_slices(sessions, prediction_families(sessions, product_features))
    ranked: dict[str, tuple[np.ndarray, float]] = {}

    def score(name: str, index: NeighbourIndex) -> None:
        ranked[name] = session_ranks(
            sessions, index, popular, histories, k, name, model_params(name)
        )

    # LightFM's fit for the embedding neighbours runs beside the scoring of the models that do
    # not use them (one core fits while the other scores); the embedding models are scored once
    # it is done. Same rows as one after the other.
    embedding_models = [name for name in models if name in EMBEDDING_MODELS]
    with beside(
        _embedding_rows,
        interactions,
        product_features,
        settings,
        lightfm,
        sessions,
        bool(embedding_models),
        lightfm_embeddings,
    ) as embedding_rows:
        for name in models:
            if name not in EMBEDDING_MODELS:
                score(name, session_index)
        rows = embedding_rows.result()
    index = (
        None
        if rows is None
        else session_index.with_source("embedding", NeighbourIndex.from_arrow(rows))
    )
    for name in embedding_models:
        if index is not None:
            score(name, index)
    counted = _slice_counts(sessions, slices)
    slice_intervals = _slice_intervals(ranked, sessions, slices, counted, settings)
    per_model: dict[str, list[dict]] = {}
    intervals: dict[str, Interval] = {}
    for name in models:
        if name in ranked:
            per_model[name], intervals[name] = _model_records(
                name, ranked[name][1], sessions, slices, counted, slice_intervals[name], k
            )
        else:  # an embedding model without embeddings
            per_model[name] = [
                evaluation_record(
                    name, "all", "all", SELECTION_METRIC, k, Interval(None, None, None), 0, 0
                )
                | {"status": NOT_ENOUGH_EVIDENCE, "message": NO_EMBEDDINGS}
            ]
    records = [record for name in models for record in per_model[name]]
    return _with_selection(records, models, intervals, sessions, settings)


def _embedding_rows(
    interactions: ArrowData,
    product_features: ArrowData | None,
    settings: SessionEvaluationSettings,
    lightfm: LightFMParams | None,
    sessions: TestSessions,
    wanted: bool,
    stored: ArrowData | None = None,
) -> pa.Table | None:
    """The LightFM embeddings' nearest products of the test sessions' products (``stored``'s
    product vectors when it has any, else fitted on evaluation_train within the batch models'
    bounds); None when no model uses them or they cannot be had (no product features, too few
    training interactions)."""
    if product_features is None or not wanted:
        return None
    products = np.unique(sessions.products)
    if stored is not None:
        items = stored_item_embeddings(stored)
        if items.num_rows:
            return embedding_neighbour_table(items, settings.neighbours_top_n, products)
    return embedding_index_rows(
        interactions,
        product_features,
        lightfm or LightFMParams(),
        settings.seed,
        settings.neighbours_top_n,
        bounds=TrainingBounds(
            window_days=settings.train_window_days,
            max_training_rows=settings.max_training_rows,
            seed=settings.seed,
        ),
        products=products,
    )


def _counted(sessions: TestSessions, keep: np.ndarray | None) -> np.ndarray:
    """Per session, the predictions a slice counts (only those in ``keep`` when given)."""
    return sessions.lengths() - 1 if keep is None else session_sums(keep, sessions)


def _slice_counts(
    sessions: TestSessions, slices: list[tuple[str, str, np.ndarray, np.ndarray | None]]
) -> list[np.ndarray]:
    """Per slice, the predictions it counts of each of its sessions (the weights of its
    intervals and its rows' prediction counts, the same for every model)."""
    return [_counted(sessions, keep)[mask] for _, _, mask, keep in slices]


def _slice_intervals(
    ranked: dict[str, tuple[np.ndarray, float]],
    sessions: TestSessions,
    slices: list[tuple[str, str, np.ndarray, np.ndarray | None]],
    counted: list[np.ndarray],
    settings: SessionEvaluationSettings,
) -> dict[str, list[dict[str, Interval]]]:
    """Per model and slice, each metric's bootstrap interval. One slice at a time: its
    sessions resampled once (seed + the slice's position, the same draws for every model) and
    every model's every metric taken in one matrix product, so only one slice's resamples are
    held."""
    out: dict[str, list[dict[str, Interval]]] = {name: [] for name in ranked}
    if not ranked:
        return out
    for position, (_, _, mask, keep) in enumerate(slices):
        columns = []
        for ranks, _ in ranked.values():
            per_session = per_session_metrics(ranks, sessions, keep)
            columns += [per_session[metric][mask] for metric in SESSION_METRICS]
        draws = Resamples.draw(
            int(mask.sum()), settings.bootstrap_samples, settings.seed + position
        )
        intervals = iter(bootstrap_intervals(np.column_stack(columns), counted[position], draws))
        for name in ranked:
            out[name].append({metric: next(intervals) for metric in SESSION_METRICS})
    return out


def _model_records(
    name: str,
    milliseconds: float,
    sessions: TestSessions,
    slices: list[tuple[str, str, np.ndarray, np.ndarray | None]],
    counted: list[np.ndarray],
    slice_intervals: list[dict[str, Interval]],
    k: int,
) -> tuple[list[dict], Interval]:
    """One model's rows: every metric of every slice with its bootstrap interval, and the time
    per list; with the interval of the selection metric over all sessions."""
    records: list[dict] = []
    selection_interval = Interval(None, None, None)
    for (slice_type, slice_name, mask, _), slice_counted, metric_intervals in zip(
        slices, counted, slice_intervals, strict=True
    ):
        for metric in SESSION_METRICS:
            interval = metric_intervals[metric]
            records.append(
                evaluation_record(
                    name,
                    slice_type,
                    slice_name,
                    metric,
                    k,
                    interval,
                    int(mask.sum()),
                    int(slice_counted.sum()),
                )
            )
            if slice_type == "all" and metric == SELECTION_METRIC:
                selection_interval = interval
    records.append(
        evaluation_record(
            name,
            "all",
            "all",
            "milliseconds_per_list",
            k,
            Interval(milliseconds, None, None),
            sessions.size,
            int(_counted(sessions, None).sum()),
        )
    )
    return records, selection_interval


def _with_selection(
    records: list[dict],
    models: tuple[str, ...],
    intervals: dict[str, Interval],
    sessions: TestSessions,
    settings: SessionEvaluationSettings,
) -> pa.Table:
    """The rows with the served model marked (on evidence, or popularity with too few test
    sessions), and the message on the overall rows."""
    k = settings.k
    sample_note = (
        f"{sessions.size} of {sessions.total_sessions} test sessions evaluated (seeded sample)"
    )
    if sessions.total_sessions >= settings.min_sessions:
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
