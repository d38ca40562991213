"""``feature_drift``: the PSI of each propensity input between its training snapshot and the
latest scoring snapshot, and of the predictions themselves (propensity scores, segment shares)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml import propensity
from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.monitoring.psi import feature_psi, population_stability_index

DRIFT_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("drift_type", pa.string()),
        ("variable", pa.string()),
        ("training_window", pa.string()),
        ("latest_window", pa.string()),
        ("training_rows", pa.int64()),
        ("latest_rows", pa.int64()),
        ("training_mean", pa.float64()),
        ("latest_mean", pa.float64()),
        ("psi", pa.float64()),
        ("psi_threshold", pa.float64()),
        ("is_drifted", pa.bool_()),
        ("status", pa.string()),
        ("message", pa.string()),
    ]
)


def _mean(values: np.ndarray) -> float | None:
    """The mean of the known values, added in sorted order: numpy's sum follows the order of
    the rows, which DuckDB hands over in the order its threads scan them (two 10M builds gave
    three of the means different in their last bits)."""
    known = np.sort(values[~np.isnan(values)])
    return float(known.mean()) if len(known) else None


def _drift_row(
    model: str,
    drift_type: str,
    variable: str,
    windows: tuple[str, str],
    sizes: tuple[int, int],
    means: tuple[float | None, float | None],
    psi: float | None,
    threshold: float,
    min_rows: int,
) -> dict:
    if min(sizes) < min_rows:
        status = "too_small"
        message = f"{min(sizes):,} rows in a window, fewer than the {min_rows:,} needed for a PSI"
        psi = None
    elif psi is None:
        status, message = "not_evaluated", "no distribution to compare"
    else:
        status = "drifted" if psi > threshold else "ok"
        message = (
            f"{variable}: PSI {psi:.3f} above {threshold:g} between {windows[0]} and {windows[1]}"
            if status == "drifted"
            else None
        )
    return {
        "model": model,
        "drift_type": drift_type,
        "variable": variable,
        "training_window": windows[0],
        "latest_window": windows[1],
        "training_rows": sizes[0],
        "latest_rows": sizes[1],
        "training_mean": means[0],
        "latest_mean": means[1],
        "psi": psi,
        "psi_threshold": threshold,
        "is_drifted": status == "drifted",
        "status": status,
        "message": message,
    }


def _window_label(table: pa.Table) -> str:
    dates = sorted({d for d in table.column("as_of_date").to_pylist() if d is not None})
    return f"features as of {dates[0]}" if len(dates) == 1 else "no data"


def _propensity_rows(
    snapshots: pa.Table, window_scores: pa.Table, bins: int, psi_threshold: float, min_rows: int
) -> list[dict]:
    """A row per propensity feature (training vs latest snapshot), and one for the scores."""
    snapshot = pc.field("snapshot")
    training = snapshots.filter(snapshot == "final_train")
    latest = snapshots.filter(snapshot == "score")
    windows = (_window_label(training), _window_label(latest))
    rows = []
    for feature in propensity.PROPENSITY_FEATURES:
        old = numeric_column(training, feature)
        new = numeric_column(latest, feature)
        psi = feature_psi(old, new, bins) if len(old) and len(new) else None
        rows.append(
            _drift_row(
                "purchase_propensity",
                "feature",
                feature,
                windows,
                (len(old), len(new)),
                (_mean(old), _mean(new)),
                psi,
                psi_threshold,
                min_rows,
            )
        )
    window = pc.field("score_window")
    old_scores = numeric_column(window_scores.filter(window == "training"), "purchase_probability")
    new_scores = numeric_column(window_scores.filter(window == "latest"), "purchase_probability")
    rows.append(
        _drift_row(
            "purchase_propensity",
            "prediction",
            "purchase_probability",
            ("served model on its training snapshot", "served model on the latest snapshot"),
            (len(old_scores), len(new_scores)),
            (_mean(old_scores), _mean(new_scores)),
            feature_psi(old_scores, new_scores, bins)
            if len(old_scores) and len(new_scores)
            else None,
            psi_threshold,
            min_rows,
        )
    )
    return rows


def _segment_share_row(
    centroids: pa.Table, assigned: pa.Table, psi_threshold: float, min_rows: int
) -> dict:
    """The segment shares at fitting (the centroids' sizes) against the customers assigned now."""
    fitted = dict(
        zip(
            centroids.column("segment_id").to_pylist(),
            centroids.column("segment_size").to_pylist(),
            strict=True,
        )
    )
    now_counts: dict[int, int] = {}
    for segment_id in assigned.column("segment_id").to_pylist():
        if segment_id in fitted:
            now_counts[segment_id] = now_counts.get(segment_id, 0) + 1
    ids = sorted(fitted)
    fitted_total, now_total = sum(fitted.values()), sum(now_counts.values())
    return _drift_row(
        "customer_segmentation",
        "prediction",
        "segment_share",
        ("customers at fitting", "customers assigned now"),
        (int(fitted_total), int(now_total)),
        (None, None),
        population_stability_index([fitted[i] for i in ids], [now_counts.get(i, 0) for i in ids])
        if ids and fitted_total > 0 and now_total > 0
        else None,
        psi_threshold,
        min_rows,
    )


def build_feature_drift(
    snapshots: ArrowData,
    window_scores: ArrowData,
    segment_centroids: ArrowData,
    customer_segments: ArrowData,
    *,
    bins: int,
    psi_threshold: float,
    min_rows: int,
) -> pa.Table:
    """``feature_drift``: PSI of each propensity feature (its training snapshot vs the latest
    scoring snapshot), of the propensity score (served model on both windows), and of the
    segment shares (at fitting vs the customers assigned now)."""
    rows = _propensity_rows(
        as_table(snapshots), as_table(window_scores), bins, psi_threshold, min_rows
    )
    rows.append(
        _segment_share_row(
            as_table(segment_centroids), as_table(customer_segments), psi_threshold, min_rows
        )
    )
    return pa.Table.from_pylist(rows, schema=DRIFT_SCHEMA)
