"""The rows of recommender_evaluation: the schema, one metric's row, the rows of one model on
one slice, the bootstrap interval of a mean over users, and the fallback row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from amazing_analytics.ml.recommend import metrics as m
from amazing_analytics.ml.recommend.data import TrainingData
from amazing_analytics.ml.recommend.models import LightFMParams
from amazing_analytics.ml.recommend.selection import Interval, Resamples, bootstrap_interval

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


def mean_interval(values: np.ndarray, draws: np.ndarray | Resamples) -> Interval:
    """The bootstrap interval of the mean of the users' values (NaN = not evaluated)."""
    values = np.asarray(values, np.float64)
    values = values[~np.isnan(values)]
    if values.size != draws.shape[1]:
        raise ValueError(f"{values.size} evaluated users but draws for {draws.shape[1]}")
    return bootstrap_interval(values, np.ones(values.size), draws)


def slice_rows(
    model: str,
    slice_type: str,
    slice_name: str,
    items: np.ndarray,
    relevant: sp.csr_matrix,
    draws: np.ndarray | Resamples,
    setup: EvaluationSetup,
) -> tuple[list[dict], dict[str, Interval]]:
    """One model's rows on one slice (``items``: the lists of the slice's users, ``relevant``:
    their relevant products): each per-user metric with its interval, the catalogue coverage
    and the novelty; and the metrics' intervals."""
    k = setup.k
    metrics = m.user_metrics(items, relevant, k)
    count = int(items.shape[0])
    rows: list[dict] = []
    intervals: dict[str, Interval] = {}
    for metric in m.PER_USER_METRICS:
        values = metrics.get(metric)
        value = float(np.nanmean(values)) if count else None
        intervals[metric] = mean_interval(values, draws)
        rows.append(
            metric_row(model, slice_type, slice_name, metric, k, value, count, intervals[metric])
        )
    coverage = m.catalogue_coverage(items, setup.train.catalogue.size) if count else None
    novelty = m.novelty(items, setup.info) if count else None
    rows.append(metric_row(model, slice_type, slice_name, "catalogue_coverage", k, coverage, count))
    rows.append(metric_row(model, slice_type, slice_name, "novelty", k, novelty, count))
    return rows, intervals


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
