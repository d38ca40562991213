"""The temporal evaluation of every batch recommender, and the selection of the one that serves
``recommendations``."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.recommend import metrics as m
from amazing_analytics.ml.recommend.data import (
    Catalogue,
    TrainingData,
    build_training_data,
    relevant_matrix,
)
from amazing_analytics.ml.recommend.evaluation.cold_start import (
    prepare_cold_start,
    run_cold_start,
)
from amazing_analytics.ml.recommend.evaluation.slices import (
    Slice,
    category_family_slices,
    user_slices,
)
from amazing_analytics.ml.recommend.evaluation.stored import EVALUATION_FIT, stored_lightfm
from amazing_analytics.ml.recommend.evaluation.table import (
    EVALUATION_SCHEMA,
    SELECTION_METRIC,
    EvaluationResult,
    EvaluationSetup,
    SliceScores,
    mean_intervals,
    metric_row,
    not_evaluated,
    score_rows,
    slice_scores,
)
from amazing_analytics.ml.recommend.models import MODEL_NAMES, LightFMParams, make_model
from amazing_analytics.ml.recommend.selection import (
    NOT_ENOUGH_EVIDENCE,
    Interval,
    Resamples,
    select_by_evidence,
)
from amazing_analytics.ml.recommend.threads import in_order

#: Fewer test users or training interactions than this: no evaluation, popularity serves.
MIN_TEST_USERS = 20
MIN_TRAIN_INTERACTIONS = 200
#: Fewer test users than this (var recommender_min_test_users): not enough evidence to serve
#: anything but popularity.
MIN_TEST_USERS_FOR_SELECTION = 200
BOOTSTRAP_SAMPLES = 1000
#: Models whose fit takes most of the evaluation's time (started first).
SLOW_MODELS = frozenset({"lightfm"})

NO_REPEAT_PURCHASE_NOTE = (
    "no repeat-purchase category in the catalogue (var recommender_repeat_purchase_min_share): "
    "buy_again has no own-history products to offer and ranks as popularity"
)


def evaluation_training_data(
    interactions: ArrowData, catalogue: Catalogue, cooccurrence: ArrowData | None
) -> tuple[pa.Table, np.ndarray, TrainingData, str | None]:
    """What the evaluation trains on: the interactions as a table, the test users (distinct
    user ids of evaluation_test), the evaluation_train split indexed with the test users
    added, and why the split cannot be evaluated (None when it can). Shared with
    :func:`~amazing_analytics.ml.recommend.build.build_evaluation_embeddings`, whose LightFM
    must be fitted on exactly these rows."""
    table = as_table(interactions)
    test = table.filter(pc.equal(table.column("split"), "evaluation_test"))
    test_users = np.unique(
        np.asarray(pc.cast(test.column("user_id"), pa.int64()).to_numpy(zero_copy_only=False))
    )
    train = build_training_data(
        table, catalogue, cooccurrence, "evaluation_train", extra_user_ids=test_users
    )
    n_train = int(train.weights.nnz)
    reason = None
    if test_users.size < MIN_TEST_USERS or n_train < MIN_TRAIN_INTERACTIONS:
        reason = (
            f"too little data for a temporal split: {test_users.size} users carted or bought in "
            f"the test window (need {MIN_TEST_USERS}) and {n_train} training interactions "
            f"(need {MIN_TRAIN_INTERACTIONS}); recommendations fall back to global popularity"
        )
    return table, test_users, train, reason


def evaluate(
    interactions: ArrowData,
    catalogue: Catalogue,
    cooccurrence: ArrowData | None,
    *,
    k: int = 10,
    seed: int = 42,
    params: LightFMParams | None = None,
    user_labels: Sequence[ArrowData] = (),
    models: tuple[str, ...] = MODEL_NAMES,
    min_test_users: int = MIN_TEST_USERS_FOR_SELECTION,
    bootstrap_samples: int = BOOTSTRAP_SAMPLES,
    lightfm_embeddings: ArrowData | None = None,
) -> EvaluationResult:
    """Train every model on evaluation_train, test on evaluation_test, long-form metrics.

    ``user_labels``: tables with user_id and the slice columns segment_name / price_band (the
    first table having a column is used); a single table is accepted too. ``models`` are
    compared in :data:`MODEL_NAMES` order (simplest first). ``lightfm_embeddings``: the LightFM
    already fitted on this evaluation's training data
    (:func:`~amazing_analytics.ml.recommend.build.build_evaluation_embeddings`: its
    ``evaluation`` and ``cold_start`` fits, with their ``fit_seconds``), scored instead of
    fitted again; None: both fitted here.
    """
    unknown = [name for name in models if name not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"unknown recommender(s) {unknown}; expected {', '.join(MODEL_NAMES)}")
    models = tuple(sorted(models, key=MODEL_NAMES.index))
    if isinstance(user_labels, pa.Table | pa.RecordBatchReader | pa.RecordBatch):
        user_labels = [user_labels]
    user_labels = [as_table(t) for t in user_labels]
    table, test_users, train, reason = evaluation_training_data(
        interactions, catalogue, cooccurrence
    )
    if reason is not None:
        return not_evaluated(reason)
    rows = train.user_index(test_users)
    relevant = relevant_matrix(table, catalogue, train.user_ids, "evaluation_test")[rows]
    info = m.item_self_information(train.users_per_item(), int((train.history_counts() > 0).sum()))
    setup = EvaluationSetup(train, rows, relevant, train.exclusions(), info, k, seed, params)
    slices = user_slices(train, rows, relevant, user_labels, test_users)
    slices += category_family_slices(relevant, catalogue)
    cold_start = prepare_cold_start(setup, bootstrap_samples)

    def run(name: str | None) -> tuple[list, float]:
        if name is None:  # the cold start's refits, on their own copy of the training data
            return run_cold_start(cold_start, models, lightfm_embeddings), 0.0
        return _model_scores(name, setup, slices, lightfm_embeddings)

    # Two at a time, the longest first: LightFM's fit and the cold start's refits (a LightFM
    # among them) release Python's lock, so each core fits one while the quick models fill in
    # behind them (with stored fits, LightFM's scoring and the cold start's item-kNN refit come
    # first). Same rows as one after the other.
    queue = [name for name in models if name in SLOW_MODELS]
    queue += [None, *reversed([name for name in models if name not in SLOW_MODELS])]
    done = dict(zip(queue, in_order(run, queue), strict=True))
    scores = {name: done[name][0] for name in models}
    slice_intervals = _slice_intervals(scores, len(slices), bootstrap_samples, seed)
    records: list[dict] = []
    intervals: dict[str, Interval] = {}
    for name in models:
        for model_scores, metric_intervals in zip(scores[name], slice_intervals[name], strict=True):
            records += score_rows(name, model_scores, metric_intervals, k)
            if model_scores.slice_type == "all":
                intervals[name] = metric_intervals[SELECTION_METRIC]
        records.append(
            metric_row(name, "all", "all", "fit_and_score_seconds", k, done[name][1], rows.size)
        )
    records += done[None][0]
    return _with_selection(
        records, models, intervals, catalogue, test_users.size, min_test_users, k
    )


def _slice_intervals(
    scores: dict[str, list[SliceScores]], n_slices: int, bootstrap_samples: int, seed: int
) -> dict[str, list[dict[str, Interval]]]:
    """Per model and slice, each metric's bootstrap interval. One slice at a time: its
    evaluated users resampled once (seed + the slice's position, the same draws for every
    model: a paired comparison) and every model's every metric taken in one matrix product,
    so that only one slice's resamples are held (at 10M events the 27 slices' together were
    745 MB, held through every fit)."""
    out: dict[str, list[dict[str, Interval]]] = {name: [] for name in scores}
    if not scores:
        return out
    for position in range(n_slices):
        of_slice = [scores[name][position] for name in scores]
        units = next(iter(of_slice[0].evaluated.values())).size
        draws = Resamples.draw(units, bootstrap_samples, seed + position)
        for name, metric_intervals in zip(scores, mean_intervals(of_slice, draws), strict=True):
            out[name].append(metric_intervals)
    return out


def _model_scores(
    name: str,
    setup: EvaluationSetup,
    slices: list[Slice],
    lightfm_embeddings: ArrowData | None = None,
) -> tuple[list[SliceScores], float]:
    """One model fitted and scored: its scores on every slice (their intervals are taken once
    every model is done) and the seconds its fit and lists took (a stored LightFM's fit
    seconds are its table's)."""
    started = time.perf_counter()
    fitted_before = 0.0
    if name == "lightfm" and lightfm_embeddings is not None:
        model, fitted_before = stored_lightfm(
            lightfm_embeddings, setup.train, setup.rows, setup.seed, EVALUATION_FIT
        )
    else:
        model = make_model(name, setup.params).fit(setup.train, setup.seed)
    recs = model.recommend(setup.rows, setup.k, setup.exclude)
    seconds = time.perf_counter() - started + fitted_before
    return [
        slice_scores(
            slice_type,
            slice_name,
            recs.items[mask],
            rel[mask] if rel is not None else setup.relevant[mask],
            setup,
        )
        for slice_type, slice_name, mask, rel in slices
    ], seconds


def _with_selection(
    records: list[dict],
    models: tuple[str, ...],
    intervals: dict[str, Interval],
    catalogue: Catalogue,
    test_user_count: int,
    min_test_users: int,
    k: int,
) -> EvaluationResult:
    """The rows with the serving model marked (on evidence, or popularity with too few test
    users) and the selection's message on the selection metric's overall rows."""
    if test_user_count >= min_test_users:
        best, notes = select_by_evidence(models, intervals)
        message = f"selection on {SELECTION_METRIC}@{k}: " + "; ".join(notes)
        status = "ok"
    else:
        best = "popularity"
        message = (
            f"not enough evidence: {test_user_count} test users (need {min_test_users}, var "
            "recommender_min_test_users); popularity serves"
        )
        status = NOT_ENOUGH_EVIDENCE
    no_repeat = "buy_again" in models and not bool(catalogue.is_repeat_purchase.any())
    for record in records:
        record["is_selected"] = record["model"] == best
        record["status"] = status
        if record["slice_type"] == "all" and record["metric"] == SELECTION_METRIC:
            record["message"] = message
            if no_repeat and record["model"] == "buy_again":
                record["message"] = f"{NO_REPEAT_PURCHASE_NOTE}; {message}"
    return EvaluationResult(
        pa.Table.from_pylist(records, schema=EVALUATION_SCHEMA),
        best,
        message if status != "ok" else None,
    )
