"""The rows of session_recommender_evaluation: its schema, one metric's row, and the one row
that says why there is no evaluation."""

from __future__ import annotations

import json

import pyarrow as pa

from amazing_analytics.ml.recommend.selection import NOT_ENOUGH_EVIDENCE, Interval
from amazing_analytics.ml.recommend.session import model_params

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


def evaluation_record(
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
