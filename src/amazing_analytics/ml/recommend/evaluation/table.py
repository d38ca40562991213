"""The rows of recommender_evaluation: the schema, one metric's row, one model's scores on one
slice and their rows, the bootstrap intervals of means over users, and the fallback row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from amazing_analytics.ml.recommend import metrics as m
from amazing_analytics.ml.recommend.data import TrainingData
from amazing_analytics.ml.recommend.models import LightFMParams
from amazing_analytics.ml.recommend.selection import Interval, Resamples, bootstrap_intervals

SELECTION_METRIC = "ndcg"

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


@dataclass(frozen=True)
class EvaluationSetup:
    """What every model is evaluated on: the training data, the test users' rows in it, their
    relevant products in the test window, the products excluded from their lists, the
    products' self-information (for novelty), the list length, the seed and LightFM's
    parameters."""

    train: TrainingData
    rows: np.ndarray
    relevant: sp.csr_matrix
    exclude: sp.csr_matrix
    info: np.ndarray
    k: int
    seed: int
    params: LightFMParams | None


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


@dataclass(frozen=True)
class SliceScores:
    """One model's scores on one slice, before their intervals: per metric the mean over the
    evaluated users (``values``) and each evaluated user's value (``evaluated``: users with no
    relevant product dropped, in the slice's order), the slice's user count, and its lists'
    catalogue coverage and novelty."""

    slice_type: str
    slice_name: str
    values: dict[str, float | None]
    evaluated: dict[str, np.ndarray]
    count: int
    coverage: float | None
    novelty: float | None


def slice_scores(
    slice_type: str,
    slice_name: str,
    items: np.ndarray,
    relevant: sp.csr_matrix,
    setup: EvaluationSetup,
) -> SliceScores:
    """One model's scores on one slice (``items``: the lists of the slice's users,
    ``relevant``: their relevant products)."""
    metrics = m.user_metrics(items, relevant, setup.k)
    count = int(items.shape[0])
    values: dict[str, float | None] = {}
    evaluated: dict[str, np.ndarray] = {}
    for metric in m.PER_USER_METRICS:
        per_user = np.asarray(metrics.get(metric), np.float64)
        values[metric] = float(np.nanmean(per_user)) if count else None
        evaluated[metric] = per_user[~np.isnan(per_user)]
    return SliceScores(
        slice_type,
        slice_name,
        values,
        evaluated,
        count,
        m.catalogue_coverage(items, setup.train.catalogue.size) if count else None,
        m.novelty(items, setup.info) if count else None,
    )


def mean_intervals(scores: list[SliceScores], draws: Resamples) -> list[dict[str, Interval]]:
    """The bootstrap interval of every per-user metric of each of ``scores`` (several models'
    scores on the same slice) on the same ``draws`` of the slice's evaluated users: one matrix
    product for them all."""
    columns = [score.evaluated[metric] for score in scores for metric in m.PER_USER_METRICS]
    if not columns:
        return []
    units = columns[0].size
    if any(column.size != units for column in columns) or units != draws.shape[1]:
        sizes = sorted({column.size for column in columns})
        raise ValueError(f"{sizes} evaluated users but draws for {draws.shape[1]}")
    intervals = iter(bootstrap_intervals(np.column_stack(columns), np.ones(units), draws))
    return [{metric: next(intervals) for metric in m.PER_USER_METRICS} for _ in scores]


def score_rows(
    model: str, scores: SliceScores, intervals: Mapping[str, Interval], k: int
) -> list[dict]:
    """One model's rows on one slice: each per-user metric with its interval, the catalogue
    coverage and the novelty."""
    rows = [
        metric_row(
            model,
            scores.slice_type,
            scores.slice_name,
            metric,
            k,
            scores.values[metric],
            scores.count,
            intervals[metric],
        )
        for metric in m.PER_USER_METRICS
    ]
    for metric, value in (("catalogue_coverage", scores.coverage), ("novelty", scores.novelty)):
        rows.append(
            metric_row(model, scores.slice_type, scores.slice_name, metric, k, value, scores.count)
        )
    return rows


def slice_rows(
    model: str,
    slice_type: str,
    slice_name: str,
    items: np.ndarray,
    relevant: sp.csr_matrix,
    draws: Resamples,
    setup: EvaluationSetup,
) -> tuple[list[dict], dict[str, Interval]]:
    """One model's rows on one slice with their intervals on ``draws`` (a slice of its own, as
    the simulated cold start's); and the metrics' intervals."""
    scores = slice_scores(slice_type, slice_name, items, relevant, setup)
    intervals = mean_intervals([scores], draws)[0]
    return score_rows(model, scores, intervals, setup.k), intervals


def metric_row(
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
