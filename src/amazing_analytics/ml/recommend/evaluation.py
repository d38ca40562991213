"""The temporal evaluation: every model trained on ``evaluation_train``, tested on the products
each user carted or bought in ``evaluation_test``, overall and per slice, in long form.

Slices (``slice_type`` / ``slice``):

* ``all`` - every test user;
* ``user_type`` - ``returning`` (had training interactions) or ``new`` (none: every model
  falls back to popularity for them, which is the cold-start user path);
* ``segment`` - the user's current customer segment (customer_segments; a reporting label,
  not a model input: it is computed from all data);
* ``price_band`` - the user's price band (customer_features);
* ``category_family`` - per family (first level of category_code) of the products carted or
  bought in the test window: the users with such a product, only those products relevant;
* ``cold_start_products`` - can a model surface products nobody interacted with? Two slices:
  ``products without training interactions`` (products new in the test window: only those
  count as relevant, for the users who engaged with them) and ``simulated new products``: a
  seeded :data:`COLD_START_SHARE` of the products with training interactions is hidden from
  training (every model is refitted without them), each model ranks only the hidden products
  for each user who engaged with one in the test window, and only they count as relevant (the
  question a shop has when new products arrive: which shoppers to show them to). Products
  without interactions can only be told apart through content features (LightFM's hybrid
  part); the baselines rank them all alike.

Every per-user metric has a 95 % bootstrap interval (``ci_low``, ``ci_high``): users resampled
with replacement, seeded, the same draws for every model of a slice (a paired comparison).

The model that serves ``recommendations`` is chosen on evidence
(:func:`~amazing_analytics.ml.recommend.selection.select_by_evidence` on NDCG@k over ``all``):
the models are walked simplest first (:data:`~amazing_analytics.ml.recommend.models.MODEL_NAMES`
order) and a model replaces the serving one only when its interval's low end is above the
serving model's high end. With fewer than ``min_test_users`` test users the rows say
``not_enough_evidence`` and popularity serves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.recommend import metrics as m
from amazing_analytics.ml.recommend.data import (
    Catalogue,
    TrainingData,
    build_training_data,
    relevant_matrix,
)
from amazing_analytics.ml.recommend.models import (
    MODEL_NAMES,
    LightFMParams,
    Recommendations,
    make_model,
)
from amazing_analytics.ml.recommend.selection import (
    NOT_ENOUGH_EVIDENCE,
    Interval,
    bootstrap_interval,
    resample_indices,
    select_by_evidence,
)
from amazing_analytics.ml.recommend.topk import top_k_naive

#: Fewer test users or training interactions than this: no evaluation, popularity serves.
MIN_TEST_USERS = 20
MIN_TRAIN_INTERACTIONS = 200
#: Fewer test users than this (var recommender_min_test_users): not enough evidence to serve
#: anything but popularity.
MIN_TEST_USERS_FOR_SELECTION = 200
BOOTSTRAP_SAMPLES = 1000
SELECTION_METRIC = "ndcg"
#: Share of the products with training interactions hidden for the simulated cold-start slice.
COLD_START_SHARE = 0.1
COLD_START_SIMULATED = "simulated new products"

EVALUATION_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("slice_type", pa.string()),
        ("slice", pa.string()),
        ("metric", pa.string()),
        ("k", pa.int32()),
        ("value", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("user_count", pa.int64()),
        ("is_selected", pa.bool_()),
        ("status", pa.string()),
        ("message", pa.string()),
    ]
)


@dataclass(frozen=True)
class EvaluationResult:
    table: pa.Table
    selected_model: str
    message: str | None


def _labels(user_labels: Sequence[ArrowData], user_ids: np.ndarray, column: str) -> np.ndarray:
    """The first of the label tables that has ``column``, looked up per user (None if absent)."""
    out = np.full(user_ids.size, None, dtype=object)
    tables = [as_table(t) for t in user_labels]
    tables = [t for t in tables if column in t.column_names and "user_id" in t.column_names]
    if not tables:
        return out
    table = tables[0]
    ids = np.asarray(pc.cast(table.column("user_id"), pa.int64()).to_numpy(zero_copy_only=False))
    values = np.asarray(
        pc.cast(table.column(column), pa.string()).to_numpy(zero_copy_only=False), dtype=object
    )
    order = np.argsort(ids, kind="stable")
    ids, values = ids[order], values[order]
    if ids.size == 0:
        return out
    pos = np.searchsorted(ids, user_ids).clip(0, ids.size - 1)
    hit = ids[pos] == user_ids
    out[hit] = values[pos[hit]]
    return out


def not_evaluated(reason: str) -> EvaluationResult:
    """The fallback: one row saying why, popularity serves."""
    row = {
        "model": ["popularity"],
        "slice_type": ["all"],
        "slice": ["all"],
        "metric": ["not_evaluated"],
        "k": [None],
        "value": [None],
        "ci_low": [None],
        "ci_high": [None],
        "user_count": [0],
        "is_selected": [True],
        "status": ["fallback"],
        "message": [reason],
    }
    return EvaluationResult(pa.table(row, schema=EVALUATION_SCHEMA), "popularity", reason)


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
) -> EvaluationResult:
    """Train every model on evaluation_train, test on evaluation_test, long-form metrics.

    ``user_labels``: tables with user_id and the slice columns segment_name / price_band (the
    first table having a column is used); a single table is accepted too. ``models`` are
    compared in :data:`MODEL_NAMES` order (simplest first).
    """
    unknown = [name for name in models if name not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"unknown recommender(s) {unknown}; expected {', '.join(MODEL_NAMES)}")
    models = tuple(sorted(models, key=MODEL_NAMES.index))
    if isinstance(user_labels, pa.Table | pa.RecordBatchReader | pa.RecordBatch):
        user_labels = [user_labels]
    user_labels = [as_table(t) for t in user_labels]
    table = as_table(interactions)
    test = table.filter(pc.equal(table.column("split"), "evaluation_test"))
    test_users = np.unique(
        np.asarray(pc.cast(test.column("user_id"), pa.int64()).to_numpy(zero_copy_only=False))
    )
    train = build_training_data(
        table, catalogue, cooccurrence, "evaluation_train", extra_user_ids=test_users
    )
    n_train = int(train.weights.nnz)
    if test_users.size < MIN_TEST_USERS or n_train < MIN_TRAIN_INTERACTIONS:
        return not_evaluated(
            f"too little data for a temporal split: {test_users.size} users carted or bought in "
            f"the test window (need {MIN_TEST_USERS}) and {n_train} training interactions "
            f"(need {MIN_TRAIN_INTERACTIONS}); recommendations fall back to global popularity"
        )
    rows = train.user_index(test_users)
    relevant = relevant_matrix(table, catalogue, train.user_ids, "evaluation_test")[rows]
    exclude = train.exclusions()
    slices = _slices(train, rows, relevant, user_labels, test_users)
    slices += category_family_slices(relevant, catalogue)
    info = m.item_self_information(train.users_per_item(), int((train.history_counts() > 0).sum()))
    records: list[dict] = []
    intervals: dict[str, Interval] = {}
    draws = [
        resample_indices(
            int((mask & _evaluated(rel if rel is not None else relevant)).sum()),
            bootstrap_samples,
            seed + position,
        )
        for position, (_, _, mask, rel) in enumerate(slices)
    ]
    for name in models:
        started = time.perf_counter()
        model = make_model(name, params).fit(train, seed)
        recs = model.recommend(rows, k, exclude)
        seconds = time.perf_counter() - started
        for (slice_type, slice_name, mask, rel), draw in zip(slices, draws, strict=True):
            metrics = m.user_metrics(
                recs.items[mask], rel[mask] if rel is not None else relevant[mask], k
            )
            count = int(mask.sum())
            for metric in m.PER_USER_METRICS:
                values = metrics.get(metric)
                value = float(np.nanmean(values)) if count else None
                interval = _interval(values, draw)
                records.append(
                    _row(name, slice_type, slice_name, metric, k, value, count, interval)
                )
                if slice_type == "all" and metric == SELECTION_METRIC:
                    intervals[name] = interval
            records.append(
                _row(
                    name,
                    slice_type,
                    slice_name,
                    "catalogue_coverage",
                    k,
                    m.catalogue_coverage(recs.items[mask], catalogue.size) if count else None,
                    count,
                )
            )
            records.append(
                _row(
                    name,
                    slice_type,
                    slice_name,
                    "novelty",
                    k,
                    m.novelty(recs.items[mask], info) if count else None,
                    count,
                )
            )
        records.append(
            _row(name, "all", "all", "fit_and_score_seconds", k, seconds, int(rows.size))
        )
    records.extend(
        _simulated_cold_start(
            train, rows, relevant, exclude, info, k, seed, params, models, bootstrap_samples
        )
    )
    if test_users.size >= min_test_users:
        best, notes = select_by_evidence(models, intervals)
        message = f"selection on {SELECTION_METRIC}@{k}: " + "; ".join(notes)
        status = "ok"
    else:
        best = "popularity"
        message = (
            f"not enough evidence: {test_users.size} test users (need {min_test_users}, var "
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


NO_REPEAT_PURCHASE_NOTE = (
    "no repeat-purchase category in the catalogue (var recommender_repeat_purchase_min_share): "
    "buy_again has no own-history products to offer and ranks as popularity"
)


def _evaluated(relevant: sp.csr_matrix) -> np.ndarray:
    """Users with at least one relevant product (the others have no metric)."""
    return np.diff(sp.csr_matrix(relevant).indptr) > 0


def _interval(values: np.ndarray, draws: np.ndarray) -> Interval:
    """The bootstrap interval of the mean of the users' values (NaN = not evaluated)."""
    values = np.asarray(values, np.float64)
    values = values[~np.isnan(values)]
    if values.size != draws.shape[1]:
        raise ValueError(f"{values.size} evaluated users but draws for {draws.shape[1]}")
    return bootstrap_interval(values, np.ones(values.size), draws)


def _keep_entries(
    matrix: sp.csr_matrix, keep_columns: np.ndarray, square: bool = False
) -> sp.csr_matrix:
    """``matrix`` without the entries in dropped columns (and rows, when ``square``)."""
    coo = sp.coo_matrix(matrix)
    ok = keep_columns[coo.col] & (keep_columns[coo.row] if square else True)
    return sp.csr_matrix(
        (coo.data[ok], (coo.row[ok], coo.col[ok])), shape=matrix.shape, dtype=matrix.dtype
    )


def hide_products(data: TrainingData, hidden: np.ndarray) -> TrainingData:
    """``data`` as if the ``hidden`` products (bool mask) had never been interacted with."""
    keep = ~hidden
    return replace(
        data,
        weights=_keep_entries(data.weights, keep),
        strongest=_keep_entries(data.strongest, keep),
        bought=_keep_entries(data.bought, keep),
        cooccurrence=_keep_entries(data.cooccurrence, keep, square=True),
        bought_together=_keep_entries(data.bought_together, keep, square=True),
        recency=None if data.recency is None else _keep_entries(data.recency, keep),
    )


def _simulated_cold_start(
    train: TrainingData,
    rows: np.ndarray,
    relevant: sp.csr_matrix,
    exclude: sp.csr_matrix,
    info: np.ndarray,
    k: int,
    seed: int,
    params: LightFMParams | None,
    models: tuple[str, ...],
    bootstrap_samples: int = BOOTSTRAP_SAMPLES,
) -> list[dict]:
    """Refit every model without a seeded share of products; score only those products."""
    known = np.flatnonzero(train.users_per_item() > 0)
    n_hidden = int(round(COLD_START_SHARE * known.size))
    if n_hidden == 0:
        return []
    hidden = np.zeros(train.catalogue.size, bool)
    hidden[np.random.default_rng(seed).choice(known, n_hidden, replace=False)] = True
    cold_relevant = sp.csr_matrix(relevant.multiply(hidden[None, :].astype(np.float32)))
    cold_relevant.eliminate_zeros()
    users = np.diff(cold_relevant.indptr) > 0
    reduced = hide_products(train, hidden)
    candidates = np.flatnonzero(hidden)
    draws = resample_indices(int(users.sum()), bootstrap_samples, seed)
    out = []
    for name in models:
        model = make_model(name, params).fit(reduced, seed)
        lists = []
        for start in range(0, int(users.sum()), 2_000):
            chunk = rows[users][start : start + 2_000]
            local, _ = top_k_naive(model.scores_for(chunk, candidates), k)
            lists.append(np.where(local >= 0, candidates[local.clip(0)], -1))
        items = np.vstack(lists) if lists else np.zeros((0, k), np.int64)
        recs = Recommendations(
            items, np.zeros(items.shape, np.float32), np.zeros(items.shape, np.int8)
        )
        metrics = m.user_metrics(recs.items, cold_relevant[users], k)
        count = int(users.sum())
        for metric in m.PER_USER_METRICS:
            value = float(np.nanmean(metrics.get(metric))) if count else None
            interval = _interval(metrics.get(metric), draws)
            out.append(
                _row(
                    name,
                    "cold_start_products",
                    COLD_START_SIMULATED,
                    metric,
                    k,
                    value,
                    count,
                    interval,
                )
            )
        out.append(
            _row(
                name,
                "cold_start_products",
                COLD_START_SIMULATED,
                "catalogue_coverage",
                k,
                m.catalogue_coverage(recs.items, train.catalogue.size) if count else None,
                count,
            )
        )
        out.append(
            _row(
                name,
                "cold_start_products",
                COLD_START_SIMULATED,
                "novelty",
                k,
                m.novelty(recs.items, info) if count else None,
                count,
            )
        )
    return out


def _row(
    model: str,
    slice_type: str,
    slice_name: str,
    metric: str,
    k: int,
    value,
    count: int,
    interval: Interval | None = None,
) -> dict:
    def clean(x):
        return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)

    return {
        "model": model,
        "slice_type": slice_type,
        "slice": slice_name,
        "metric": metric,
        "k": k,
        "value": clean(value),
        "ci_low": clean(interval.low) if interval is not None else None,
        "ci_high": clean(interval.high) if interval is not None else None,
        "user_count": count,
        "is_selected": False,
        "status": "ok",
        "message": None,
    }


def category_family_slices(
    relevant: sp.csr_matrix, catalogue: Catalogue
) -> list[tuple[str, str, np.ndarray, sp.csr_matrix]]:
    """One ``category_family`` slice per family (first level of category_code) of the test
    products: the users who carted or bought a product of the family in the test window, with
    only those products counting as relevant (is the family's demand recommended?)."""
    families = np.asarray(catalogue.category_level_1, dtype=object)
    out: list[tuple[str, str, np.ndarray, sp.csr_matrix]] = []
    coo = sp.coo_matrix(relevant)
    present = sorted({str(f) for f in families[coo.col[coo.data > 0]]})
    for family in present:
        in_family = (families == family).astype(np.float32)
        family_relevant = sp.csr_matrix(relevant.multiply(in_family[None, :]))
        family_relevant.eliminate_zeros()
        has = np.diff(family_relevant.indptr) > 0
        out.append(("category_family", family, has, family_relevant))
    return out


def _slices(
    train: TrainingData,
    rows: np.ndarray,
    relevant: sp.csr_matrix,
    user_labels: Sequence[ArrowData],
    test_users: np.ndarray,
) -> list[tuple[str, str, np.ndarray, sp.csr_matrix | None]]:
    n = rows.size
    out: list[tuple[str, str, np.ndarray, sp.csr_matrix | None]] = [
        ("all", "all", np.ones(n, bool), None)
    ]
    returning = train.history_counts()[rows] > 0
    out.append(("user_type", "returning", returning, None))
    out.append(("user_type", "new", ~returning, None))
    for column, slice_type in (("segment_name", "segment"), ("price_band", "price_band")):
        labels = _labels(user_labels, test_users, column)
        for value in sorted({v for v in labels if v is not None}):
            out.append((slice_type, value, labels == value, None))
    cold = train.users_per_item() == 0
    cold_relevant = sp.csr_matrix(relevant.multiply(cold[None, :].astype(np.float32)))
    cold_relevant.eliminate_zeros()
    has_cold = np.diff(cold_relevant.indptr) > 0
    out.append(
        ("cold_start_products", "products without training interactions", has_cold, cold_relevant)
    )
    return out
